"""The words faults are written in: which request or answer an edit applies to, and where inside it.

Every catalogue module builds its faults from these, so one name means one thing everywhere: a
*request body* is the JSON of a Messages call, a *Message* a successful non-stream answer, an
*event* one parsed stream event, and an edit changes a copy in place. The plumbing under them
lives in request.py, response.py and stream.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import replace

from conformance._types import JSON, RawHeaders
from conformance.reference.rewrite.request import MESSAGES_PATH, compose, rewrite_request
from conformance.reference.rewrite.response import rewrite_json_response
from conformance.reference.rewrite.stream import event, rewrite_events
from conformance.reference.rewrite.views import ContentEdit, Edit, EventOut, Refusal, RequestView, Wrapper

PEERS = "peers.md §4.6"
"""The table of real deviations in the project's research notes; a fault cites its row as ``f"{PEERS} #N"``."""


def header(headers: RawHeaders, name: str) -> str | None:
    """The first value of a (lower-case) header, None when it is absent."""
    return next((v for k, v in headers if k == name), None)


def is_messages_call(view: RequestView) -> bool:
    """A request to /v1/messages itself (not count_tokens) with a JSON object body."""
    return view.path.rstrip("/") == MESSAGES_PATH and isinstance(view.body, dict)


def request_body(view: RequestView, *, count_tokens: bool = False) -> dict[str, JSON] | None:
    """A copy of the body of a Messages call (and of count_tokens when asked), None for any other request."""
    path = view.path.rstrip("/")
    wanted = path.startswith(MESSAGES_PATH) if count_tokens else path == MESSAGES_PATH
    return copy.deepcopy(view.body) if wanted and isinstance(view.body, dict) else None


def turns(body: dict[str, JSON]) -> list[dict[str, JSON]]:
    """The turns of a request body that are JSON objects (the rest is the app's to refuse)."""
    messages = body.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def edit_header(name: str, fn: Callable[[str], str | None]) -> Wrapper:
    """Rewrite every value of request header ``name`` (None drops it) before the app reads it."""

    def rewrite(view: RequestView) -> RequestView:
        headers = [(k, fn(v) if k == name else v) for k, v in view.headers]
        return replace(view, headers=tuple((k, v) for k, v in headers if v is not None))

    return rewrite_request(rewrite)


def refuse_field(name: str) -> Callable[[RequestView], Refusal]:
    """Refuse a Messages call whose body has the top-level field ``name``, as a validator that forbids extra inputs does."""

    def refuse(view: RequestView) -> Refusal:
        body = view.body if is_messages_call(view) else None
        return (400, "invalid_request_error", f"{name}: Extra inputs are not permitted") if isinstance(body, dict) and name in body else None

    return refuse


def refuse_if(test: Callable[[RequestView], bool], message: str) -> Callable[[RequestView], Refusal]:
    """Refuse every request ``test`` holds for with 400 invalid_request_error and the validator's fixed ``message``."""

    def refuse(view: RequestView) -> Refusal:
        return (400, "invalid_request_error", message) if test(view) else None

    return refuse


def is_message(status: int, body: JSON) -> bool:
    """A successful non-stream Message (not an error, not another endpoint's answer)."""
    return status == 200 and isinstance(body, dict) and body.get("type") == "message"


def drop_output_config(key: str) -> Edit:
    """Remove ``output_config[key]`` (and output_config itself when nothing else is left), as a gateway that never learned the field does."""

    def drop(body: dict[str, JSON]) -> None:
        config = body.get("output_config")
        if isinstance(config, dict) and key in config:
            rest = {k: v for k, v in config.items() if k != key}
            if rest:
                body["output_config"] = rest
            else:
                del body["output_config"]

    return drop


def each_item(key: str, expand: Callable[[JSON], list[JSON]]) -> Edit:
    """Replace every item of the body's list ``key`` by the items ``expand`` makes of it (itself, another, or several: a split)."""

    def apply(body: dict[str, JSON]) -> None:
        items = body.get(key)
        if isinstance(items, list):
            body[key] = [made for item in items for made in expand(item)]

    return apply


def inside(key: str, edit: Edit) -> Edit:
    """Apply ``edit`` to the object under ``key`` (message_start's message, message_delta's delta), when there is one."""

    def apply(data: dict[str, JSON]) -> None:
        inner = data.get(key)
        if isinstance(inner, dict):
            edit(inner)

    return apply


def edit_message(edit: Edit) -> Wrapper:
    """Edit a copy of every successful non-stream Message."""

    def rewrite(status: int, body: JSON) -> JSON:
        if is_message(status, body) and isinstance(body, dict):
            body = copy.deepcopy(body)
            edit(body)
        return body

    return rewrite_json_response(rewrite)


def edit_content(edit: ContentEdit) -> Wrapper:
    """Replace the content list of every successful non-stream Message by ``edit`` of a copy of it."""

    def rewrite(status: int, body: JSON) -> JSON:
        if is_message(status, body) and isinstance(body, dict) and isinstance(body.get("content"), list):
            body = {**body, "content": edit(copy.deepcopy(body["content"]))}
        return body

    return rewrite_json_response(rewrite)


def edit_event(kind: str, edit: Edit) -> Wrapper:
    """Edit a copy of every stream event of type ``kind``."""

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if isinstance(data, dict) and data.get("type") == kind:
            data = copy.deepcopy(data)
            edit(data)
        return [event(name, data)]

    return rewrite_events(rewrite)


def edit_answer(edit: Edit, *, event_kind: str, key: str) -> Wrapper:
    """The same edit on every non-stream Message and on the stream event that carries the field (under ``key``)."""
    return compose(edit_message(edit), edit_event(event_kind, inside(key, edit)))
