"""conformance/media.py: image dimensions read from the headers, and the vision doc's token estimate."""

from __future__ import annotations

import struct

import pytest

from conformance import media


@pytest.mark.parametrize("media_type", ["image/png", "image/jpeg", "image/gif", "image/webp"])
def test_every_image_the_suite_sends_has_its_size_read(media_type):
    assert media.image_size(media.make(media_type)) == (media.SIDE, media.SIDE)


def test_other_webp_forms_are_read():
    vp8x = b"RIFF" + struct.pack("<I", 22) + b"WEBP" + b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4 + (639).to_bytes(3, "little") + (479).to_bytes(3, "little")
    assert media.image_size(vp8x) == (640, 480)
    vp8 = b"RIFF" + struct.pack("<I", 22) + b"WEBP" + b"VP8 " + struct.pack("<I", 10) + b"\x00" * 3 + b"\x9d\x01\x2a" + struct.pack("<HH", 320, 200)
    assert media.image_size(vp8) == (320, 200)


def test_what_is_no_readable_image_has_no_size():
    assert media.image_size(media.make("image/bmp")) is None  # not a type the API takes
    assert media.image_size(media.make("application/pdf")) is None
    assert media.image_size(b"\xff\xd8\xff\xe0") is None  # a JPEG cut before its frame header


@pytest.mark.parametrize(("size", "tokens"), [((200, 200), 54), ((1000, 1000), 1334), ((1092, 1092), 1590), ((4000, 3000), 1600), ((1, 1), 1)])
def test_image_tokens_follow_the_vision_estimate(size, tokens):
    # width x height / 750, after scaling a long edge over 1568 px down, capped at about 1,600 tokens (vision doc).
    assert media.image_tokens(*size) == tokens
