"""The words faults are written in (conformance/reference/rewrite/edits.py): which request or answer an edit applies to."""

from __future__ import annotations

import pytest

from conformance.reference.fault import FaultContext, fault
from conformance.reference.rewrite.edits import (
    drop_output_config,
    each_item,
    header,
    inside,
    is_message,
    is_messages_call,
    refuse_field,
    refuse_if,
    request_body,
    turns,
)
from conformance.reference.rewrite.views import RequestView


def view(path: str = "/v1/messages", body: object = None, headers: tuple[tuple[str, str], ...] = ()) -> RequestView:
    return RequestView("POST", path, headers, body if body is not None else {"messages": [{"role": "user"}, "junk"], "top_k": 5})


def test_a_messages_call_is_the_messages_path_with_an_object_body():
    assert is_messages_call(view())
    assert is_messages_call(view("/v1/messages/"))
    assert not is_messages_call(view("/v1/messages/count_tokens"))
    assert not is_messages_call(view(body=[1, 2]))


def test_request_body_is_a_copy_and_takes_count_tokens_only_when_asked():
    original = view()
    body = request_body(original)
    assert body == original.body
    assert body is not original.body
    assert request_body(view("/v1/messages/count_tokens")) is None
    assert request_body(view("/v1/messages/count_tokens"), count_tokens=True) is not None
    assert request_body(view("/v1/models")) is None


def test_turns_keeps_the_object_turns():
    assert turns({"messages": [{"role": "user"}, "junk"]}) == [{"role": "user"}]
    assert turns({"messages": "not a list"}) == []


def test_header_is_the_first_value_or_none():
    assert header((("a", "1"), ("a", "2")), "a") == "1"
    assert header((), "a") is None


def test_inside_edits_the_object_under_a_key_when_there_is_one():
    def mark(target: dict) -> None:
        target["marked"] = True

    data: dict = {"delta": {}}
    inside("delta", mark)(data)
    assert data == {"delta": {"marked": True}}
    untouched: dict = {"delta": None}
    inside("delta", mark)(untouched)
    assert untouched == {"delta": None}


def test_is_message_is_a_successful_non_stream_message():
    assert is_message(200, {"type": "message"})
    assert not is_message(400, {"type": "message"})
    assert not is_message(200, {"type": "error"})


def test_each_item_keeps_drops_or_splits_every_item_of_a_list():
    body = {"tools": [1, 2, 3], "other": "x"}
    each_item("tools", lambda item: [] if item == 1 else [item, item] if item == 2 else [item])(body)
    assert body == {"tools": [2, 2, 3], "other": "x"}
    untouched = {"tools": "not a list"}
    each_item("tools", lambda item: [])(untouched)
    assert untouched == {"tools": "not a list"}


def test_refuse_if_refuses_with_the_fixed_message_only_what_the_test_holds_for():
    refuse = refuse_if(lambda v: v.path == "/v1/messages", "no")
    assert refuse(view()) == (400, "invalid_request_error", "no")
    assert refuse(view("/v1/models")) is None


def test_refuse_field_refuses_messages_calls_that_carry_the_field():
    assert refuse_field("top_k")(view()) == (400, "invalid_request_error", "top_k: Extra inputs are not permitted")
    assert refuse_field("top_p")(view()) is None
    assert refuse_field("top_k")(view("/v1/messages/count_tokens")) is None


def test_a_fault_takes_exactly_one_of_wrapper_and_keyed():
    def identity(app):
        return app

    plain = fault("x", ["b.a", "a.b"], "source", "description", identity)
    assert plain.breaks == ("a.b", "b.a")  # sorted, for stable diffs
    assert plain.wrap("app", FaultContext(api_key="k")) == "app"  # type: ignore[arg-type]
    keyed = fault("y", [], "source", "description", keyed=lambda context: lambda app: (app, context.api_key))
    assert keyed.wrap("app", FaultContext(api_key="k")) == ("app", "k")  # type: ignore[arg-type]
    for wrong in ({}, {"wrapper": identity, "keyed": lambda _c: identity}):
        with pytest.raises(TypeError, match="give exactly one of wrapper and keyed"):
            fault("z", [], "s", "d", **wrong)  # type: ignore[arg-type]


def test_drop_output_config_removes_the_key_and_an_emptied_config():
    body: dict = {"output_config": {"effort": "low", "format": {"type": "json_schema"}}}
    drop_output_config("effort")(body)
    assert body == {"output_config": {"format": {"type": "json_schema"}}}
    drop_output_config("format")(body)
    assert body == {}
    drop_output_config("format")(body)  # nothing to drop: nothing happens
    assert body == {}
