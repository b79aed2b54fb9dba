"""The toy model counts an image by its pixels (the vision doc's estimate), in a user turn or inside a tool_result."""

from __future__ import annotations

import copy
import json

from conformance import media
from conformance.reference import toy_model

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": media.base64_of("image/png")}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [{"type": "text", "text": "18 °C and sunny"}]}


def count(*content: dict) -> int:
    return toy_model.input_tokens(system=None, messages=[{"role": "user", "content": list(content)}])


def test_an_image_costs_its_pixels_not_its_base64_text():
    text = {"type": "text", "text": "What is in this image?"}
    assert count(text, IMAGE) - count(text) == media.image_tokens(media.SIDE, media.SIDE) + toy_model.count_text('{"type": "image"}')


def test_an_image_in_a_tool_result_is_counted_too():
    with_image = copy.deepcopy(RESULT)
    with_image["content"].append(IMAGE)
    assert count(with_image) - count(RESULT) >= media.image_tokens(media.SIDE, media.SIDE)


def test_an_image_of_unknown_size_is_counted_as_its_json():
    odd = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}
    assert count(odd) == toy_model.count_text(json.dumps(odd, ensure_ascii=False, sort_keys=True)) + toy_model.PER_MESSAGE_OVERHEAD
