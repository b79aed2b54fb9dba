"""conformance/media.py: the tiny files are well-formed, sniffed as what they are, and expanded from placeholders."""

from __future__ import annotations

import base64
import re
import struct
import zlib

import pytest

from conformance import media

IMAGES = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"]


@pytest.mark.parametrize("media_type", [*IMAGES, "application/pdf"])
def test_every_file_is_sniffed_as_its_own_type(media_type):
    assert media.sniff(media.make(media_type)) == media_type


def test_sniff_knows_nothing_else():
    assert media.sniff(b"") is None
    assert media.sniff(b"hello") is None
    assert media.sniff(b"RIFF\x00\x00\x00\x00WAVE") is None


def test_png_chunks_have_valid_crcs_and_white_pixels():
    data = media.png()
    offset, chunks = 8, {}
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        offset += 12 + length
    assert list(chunks) == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">II", chunks[b"IHDR"][:8]) == (media.SIDE, media.SIDE)
    assert zlib.decompress(chunks[b"IDAT"]) == (b"\x00" + b"\xff" * 3 * media.SIDE) * media.SIDE


def test_jpeg_segments_come_in_baseline_order():
    data = media.jpeg()
    assert data.startswith(b"\xff\xd8")
    assert data.endswith(b"\xff\xd9")
    markers, offset = [], 2
    while data[offset] == 0xFF and data[offset + 1] != 0xD9:
        marker = data[offset + 1]
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        markers.append(marker)
        offset += 2 + length
        if marker == 0xDA:
            break
    assert markers == [0xE0, 0xDB, 0xC0, 0xC4, 0xDA]
    assert struct.unpack(">HH", data.split(b"\xff\xc0", 1)[1][3:7]) == (media.SIDE, media.SIDE)
    blocks = ((media.SIDE + 7) // 8) ** 2
    assert data[offset:] == bytes(2 * blocks // 8) + b"\x3f\xff\xd9"  # two zero bits per block, padded with ones, end of image


def lzw_decode(data: bytes, min_size: int) -> bytes:
    """An independent GIF LZW decoder: codes least significant bit first, widening as the table grows."""
    clear, end = 1 << min_size, (1 << min_size) + 1
    value, count, position = int.from_bytes(data, "little"), 8 * len(data), 0
    table: list[bytes] = []
    width, previous, out = min_size + 1, None, bytearray()
    while position + width <= count:
        code = (value >> position) & ((1 << width) - 1)
        position += width
        if code == clear:
            table, width, previous = [bytes([i]) for i in range(clear)] + [b"", b""], min_size + 1, None
            continue
        if code == end:
            break
        entry = table[code] if code < len(table) else previous + previous[:1]
        if previous is not None:
            table.append(previous + entry[:1])
            if len(table) == 1 << width and width < 12:
                width += 1
        out += entry
        previous = entry
    return bytes(out)


def test_gif_lzw_data_decodes_to_every_pixel():
    data = media.gif()
    assert data[:6] == b"GIF89a"
    assert struct.unpack("<HH", data[6:10]) == (media.SIDE, media.SIDE)
    assert data.endswith(b"\x00;")
    offset, stream = data.index(b",") + 10, bytearray()
    assert data[offset] == 2  # LZW minimum code size
    offset += 1
    while data[offset]:
        stream += data[offset + 1 : offset + 1 + data[offset]]
        offset += 1 + data[offset]
    assert lzw_decode(bytes(stream), 2) == bytes(media.SIDE * media.SIDE)


def test_lzw_restarts_when_its_table_fills():
    seed, noise = 12345, bytearray()
    for _ in range(60_000):  # a linear congruential generator: random enough that phrases stay short and the table fills
        seed = (seed * 1103515245 + 12345) % 2**31
        noise.append(seed >> 29)
    pixels = bytes(noise)
    assert lzw_decode(media._lzw(pixels, 2), 2) == pixels


def test_webp_riff_sizes_add_up():
    data = media.webp()
    (riff_size,) = struct.unpack("<I", data[4:8])
    assert riff_size == len(data) - 8
    assert data[12:16] == b"VP8L"
    (chunk_size,) = struct.unpack("<I", data[16:20])
    assert data[20] == 0x2F  # VP8L signature
    header = int.from_bytes(data[21:25], "little")
    assert (header & 0x3FFF, (header >> 14) & 0x3FFF) == (media.SIDE - 1, media.SIDE - 1)
    assert len(data) == 20 + chunk_size + chunk_size % 2


def test_bmp_sizes_add_up():
    data = media.bmp()
    (size, offset) = struct.unpack("<I4xI", data[2:14])
    assert size == len(data)
    assert struct.unpack("<ii", data[18:26]) == (media.SIDE, media.SIDE)  # as large as the other images, so never refused as tiny
    assert struct.unpack("<H", data[28:30]) == (1,)  # one bit per pixel
    assert data[offset:] == bytes((media.SIDE + 31) // 32 * 4 * media.SIDE)


def test_pdf_xref_points_at_every_object():
    data = media.pdf()
    assert data.startswith(b"%PDF-1.4")
    assert data.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)", data).group(1))
    assert data[startxref:].startswith(b"xref\n0 6\n")
    offsets = [int(line[:10]) for line in data[startxref:].split(b"\n")[3:8]]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(f"{number} 0 obj".encode())
    assert b"/Count 1" in data
    assert b"(ok) Tj" in data


def test_make_names_the_known_types_when_asked_for_another():
    with pytest.raises(KeyError, match="image/tiff"):
        media.make("image/tiff")


def test_expand_replaces_placeholders_anywhere_and_nothing_else():
    body = {
        "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "{media:image/png}"}}]}],
        "note": "{media:image/png} is only a placeholder when it is the whole string",
        "n": 1,
    }
    expanded = media.expand(body)
    data = expanded["messages"][0]["content"][0]["source"]["data"]
    assert base64.b64decode(data) == media.png()
    assert expanded["note"] == body["note"]
    assert expanded["n"] == 1
    assert body["messages"][0]["content"][0]["source"]["data"] == "{media:image/png}"  # the input is not touched
