"""conformance/checks/usage.py, usage.tool_result_image_counted: an image in a tool_result shows in input usage."""

from __future__ import annotations

import copy
import json

import pytest

from conformance import media
from conformance.checks.registry import registered
from conformance.findings import Judgement, NotApplicable

from ._build import message, request_json

WEATHER = {"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TEXT = {"type": "text", "text": "18 °C and sunny"}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": media.base64_of("image/png")}}


def round_trip(*result: dict) -> dict:
    return request_json(
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01Try", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01Try", "content": list(result)}, {"type": "text", "text": "Reply with exactly this text and nothing else: Sunny in Paris"}]},
        ],
    )


def answer(input_tokens: int) -> dict:
    return message("Sunny in Paris", usage={"input_tokens": input_tokens, "output_tokens": 4, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})


def subject(build, with_image: int, without: int, *, request: dict | None = None, base_status: int = 200):
    base = build.exchange(status=base_status, body=answer(without), request=round_trip(TEXT), scenario="tools.round_trip")
    own = build.exchange(body=answer(with_image), request=request or round_trip(TEXT, IMAGE), scenario="tools.round_trip_image")
    return build.subject(own, peers=[base])


def judge(s) -> Judgement:
    result = registered()["usage.tool_result_image_counted"](s)
    assert isinstance(result, Judgement)
    return result


def test_image_counted_passes_when_usage_grows_by_the_image(build):
    result = judge(subject(build, 167, 111))
    assert (result.judged, result.violations) == (("input usage 167 with a 200x200 image in a tool_result, 111 without it (tools.round_trip)",), ())


def test_image_counted_flags_an_image_dropped_on_the_way(build):
    # CLIProxyAPI#5707: the image in a tool result silently dropped; the usage is the text-only one.
    [violation] = judge(subject(build, 112, 111)).violations
    assert violation.message == (
        "Received: 112 input tokens (cache counters included) with a 200x200 image in a tool_result, 111 for the same request without it (tools.round_trip)\n"
        "Expected: at least 138: the image costs about 54 tokens (width x height / 750, vision doc), and input usage counts it"
    )
    assert violation.at == "/usage/input_tokens"


def test_image_counted_only_compares_the_same_request_plus_an_image(build):
    other = round_trip(TEXT, IMAGE)
    other["max_tokens"] = 64
    with pytest.raises(NotApplicable, match=r"is not tools\.round_trip's body plus images"):
        judge(subject(build, 167, 111, request=other))
    with pytest.raises(NotApplicable, match=r"no image in a tool_result"):
        judge(subject(build, 167, 111, request=round_trip(TEXT)))
    with pytest.raises(NotApplicable, match=r"no successful tools\.round_trip answer"):
        judge(subject(build, 167, 111, base_status=400))
    unreadable = copy.deepcopy(IMAGE)
    unreadable["source"]["data"] = "bm90IGFuIGltYWdl"
    with pytest.raises(NotApplicable, match="size cannot be read"):
        judge(subject(build, 167, 111, request=round_trip(TEXT, unreadable)))


def test_image_counted_reads_the_scenario_as_shipped():
    # The spec's tools.round_trip_image is tools.round_trip plus one image: the check's comparison holds for the real pair.
    from conformance.checks.usage import _tool_result_images
    from conformance.contract.loader import load_contract
    from conformance.scenarios import build_request, scenario_specs

    contract = load_contract("2023-06-01", "anthropic")
    specs = scenario_specs(contract, "claude-haiku-4-5")
    plain = json.loads(build_request(contract, specs, "tools.round_trip", model="claude-haiku-4-5").body)
    with_image = json.loads(build_request(contract, specs, "tools.round_trip_image", model="claude-haiku-4-5").body)
    stripped, images = _tool_result_images(with_image)
    assert stripped == plain
    assert len(images) == 1
