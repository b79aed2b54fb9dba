"""Small valid media files made by code: plain images (PNG, JPEG, GIF, WebP, BMP) and a one-page PDF.

Owns the bytes of the files the suite attaches to requests, the ``{media:<type>}`` placeholders
scenarios use to name them, and sniffing a file's real type from its first bytes (what the API
does before it answers "the image appears to be a image/png image"). Standard library only;
knows nothing about HTTP, requests or checks.

Images are SIDE x SIDE pixels of one colour: Anthropic refuses very small images with 400 "Could
not process image" (16x14 px observed; the floor is undocumented:
https://github.com/vellum-ai/vellum-assistant/pull/37802), and 200x200 costs about 53 image
tokens (width x height / 750, vision doc). The BMP has the same size, so the media-type probe cannot
be refused for being tiny.

Formats: PNG (RFC 2083), JPEG baseline (ITU T.81; every 8x8 block DC only), GIF89a (LZW),
WebP lossless (RFC 9649, VP8L), BMP (BITMAPINFOHEADER), PDF 1.4 (ISO 32000-1).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from collections.abc import Callable, Mapping
from functools import cache
from types import MappingProxyType

from ._types import JSON

_PLACEHOLDER = re.compile(r"^\{media:([a-z]+/[a-z0-9.+-]+)\}$")
SIDE = 200


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    """A white truecolour PNG."""
    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)  # width, height, depth 8, RGB, deflate, no filter/interlace
    pixels = zlib.compress((b"\x00" + b"\xff" * 3 * SIDE) * SIDE)  # each row: filter byte 0, then RGB pixels
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg() -> bytes:
    """A mid-grey baseline JPEG: one component, every block's only coefficient a DC difference of 0."""
    jfif = b"JFIF\x00" + struct.pack(">BBBHHBB", 1, 1, 0, 1, 1, 0, 0)
    quant = b"\x00" + b"\x01" * 64  # table 0, 8-bit precision, all ones
    frame = struct.pack(">BHHB", 8, SIDE, SIDE, 1) + b"\x01\x11\x00"  # 8-bit, one component: id 1, 1x1 sampling, table 0
    # Two one-symbol Huffman tables: DC category 0 and AC end-of-block, each coded as the single bit 0.
    huffman = b"\x00" + bytes([1] + [0] * 15) + b"\x00" + b"\x10" + bytes([1] + [0] * 15) + b"\x00"
    scan = b"\x01" + b"\x01\x00" + b"\x00\x3f\x00"  # one component, DC/AC table 0, spectral 0..63
    zero_bits = 2 * ((SIDE + 7) // 8) ** 2  # per block: DC '0', then EOB '0'
    entropy = bytes(zero_bits // 8) + (bytes([0xFF >> zero_bits % 8]) if zero_bits % 8 else b"")  # last byte padded with ones
    return (
        b"\xff\xd8"
        + _segment(0xE0, jfif)
        + _segment(0xDB, quant)
        + _segment(0xC0, frame)
        + _segment(0xC4, huffman)
        + _segment(0xDA, scan)
        + entropy
        + b"\xff\xd9"
    )


class _Bits:
    """Packs values least-significant bit first, as GIF's LZW and WebP's VP8L streams do."""

    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def write(self, value: int, width: int) -> None:
        self.value |= value << self.count
        self.count += width

    def bytes(self) -> bytes:
        return self.value.to_bytes((self.count + 7) // 8, "little")


def _lzw(indices: bytes, min_size: int) -> bytes:
    """GIF's variable-width LZW: codes grow from min_size + 1 bits, with a clear code when the table fills."""
    clear, end = 1 << min_size, (1 << min_size) + 1
    bits = _Bits()

    def reset() -> tuple[dict[bytes, int], int, int]:
        return {bytes([i]): i for i in range(clear)}, end + 1, min_size + 1

    table, next_code, width = reset()
    bits.write(clear, width)
    prefix = b""
    for index in indices:
        candidate = prefix + bytes([index])
        if candidate in table:
            prefix = candidate
            continue
        bits.write(table[prefix], width)
        if next_code == 4096:
            bits.write(clear, width)
            table, next_code, width = reset()
        else:
            table[candidate] = next_code
            next_code += 1
            if next_code > 1 << width:  # the decoder, one code behind, widens before reading the next one
                width += 1
        prefix = bytes([index])
    bits.write(table[prefix], width)
    bits.write(end, width)
    return bits.bytes()


def gif() -> bytes:
    """A white GIF89a with a two-colour palette."""
    screen = struct.pack("<HHBBB", SIDE, SIDE, 0x80, 0, 0)  # global colour table of 2 entries
    palette = b"\xff\xff\xff\x00\x00\x00"
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, SIDE, SIDE, 0)
    data = _lzw(bytes(SIDE * SIDE), 2)  # every pixel palette index 0
    blocks = b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255))
    return b"GIF89a" + screen + palette + descriptor + b"\x02" + blocks + b"\x00;"


def webp() -> bytes:
    """A white lossless WebP: every prefix code has one symbol, so the pixels take no bits at all."""
    bits = _Bits()
    bits.write(0x2F, 8)  # VP8L signature
    bits.write(SIDE - 1, 14)  # width - 1
    bits.write(SIDE - 1, 14)  # height - 1
    bits.write(0, 1)  # alpha_is_used
    bits.write(0, 3)  # version
    bits.write(0, 1)  # no transform
    bits.write(0, 1)  # no colour cache
    bits.write(0, 1)  # no meta prefix codes
    for symbol in (255, 255, 255, 255):  # green, red, blue, alpha: simple code, one 8-bit symbol
        bits.write(1, 1)
        bits.write(0, 1)
        bits.write(1, 1)
        bits.write(symbol, 8)
    bits.write(1, 1)  # distance: simple code, one 1-bit symbol 0
    bits.write(0, 1)
    bits.write(0, 1)
    bits.write(0, 1)
    payload = bits.bytes()
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def bmp() -> bytes:
    """A white 1-bit BMP with a two-colour palette: a real image in a format the API does not accept.

    Full size like the other images, so a target that refuses tiny images still has to refuse it for its media type.
    """
    stride = (SIDE + 31) // 32 * 4  # one bit per pixel, rows padded to 4 bytes
    pixels = bytes(stride * SIDE)  # every pixel is palette entry 0
    palette = b"\xff\xff\xff\x00" + b"\x00\x00\x00\x00"  # white, black (BGR0)
    info = struct.pack("<IiiHHIIiiII", 40, SIDE, SIDE, 1, 1, 0, len(pixels), 2835, 2835, 2, 0)
    offset = 14 + len(info) + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    return header + info + palette + pixels


def pdf() -> bytes:
    """A one-page PDF, one inch square, that says "ok"; small pages keep the page image cheap."""
    text = b"BT /F1 24 Tf 14 28 Td (ok) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(text)).encode() + b" >>\nstream\n" + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


MAKERS: Mapping[str, Callable[[], bytes]] = MappingProxyType(
    {
        "image/png": png,
        "image/jpeg": jpeg,
        "image/gif": gif,
        "image/webp": webp,
        "image/bmp": bmp,
        "application/pdf": pdf,
    }
)


@cache
def make(media_type: str) -> bytes:
    """The bytes of the tiny file of ``media_type``; KeyError names the known types."""
    if media_type not in MAKERS:
        raise KeyError(f"no tiny file of type {media_type!r}; known: {', '.join(MAKERS)}")
    return MAKERS[media_type]()


def base64_of(media_type: str) -> str:
    """The tiny file of ``media_type`` as the base64 text a request carries."""
    return base64.b64encode(make(media_type)).decode("ascii")


def sniff(data: bytes) -> str | None:
    """The media type a file's signature shows, or None when it is none the API knows."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"BM"):
        return "image/bmp"
    return None


def expand(value: JSON) -> JSON:
    """``value`` with every ``"{media:<type>}"`` string replaced by that file's base64 text."""
    if isinstance(value, str):
        found = _PLACEHOLDER.match(value)
        return base64_of(found.group(1)) if found else value
    if isinstance(value, list):
        return [expand(item) for item in value]
    if isinstance(value, dict):
        return {key: expand(item) for key, item in value.items()}
    return value


# The vision doc's cost of an image: about width x height / 750 tokens, after an image whose long edge is over
# 1568 px, or that would cost over about 1,600 tokens, has been scaled down (https://platform.claude.com/docs/en/build-with-claude/vision).
PIXELS_PER_TOKEN = 750
LONG_EDGE = 1568
MAX_IMAGE_TOKENS = 1600
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0..SOF15; C4, C8, CC are other markers


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 <= len(data) and data[at] == 0xFF:
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if kind == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels of a PNG, JPEG, GIF or WebP file, read from its header; None for anything else."""
    kind = sniff(data)
    if kind == "image/png" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if kind == "image/gif" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if kind == "image/jpeg":
        return _jpeg_size(data)
    if kind == "image/webp":
        return _webp_size(data)
    return None


def block_image_size(block: Mapping[str, JSON]) -> tuple[int, int] | None:
    """(width, height) of an image content block's base64 data; None for a URL or file source, or bytes that are not an image."""
    source = block.get("source")
    data = source.get("data") if isinstance(source, dict) and source.get("type") == "base64" else None
    try:
        return image_size(base64.b64decode(data, validate=True)) if isinstance(data, str) else None
    except (binascii.Error, ValueError):
        return None


def image_tokens(width: int, height: int) -> int:
    """What an image of this size costs in input tokens by the vision doc's estimate (a large one is scaled down first)."""
    scale = min(1.0, LONG_EDGE / max(width, height, 1))
    return max(1, min(MAX_IMAGE_TOKENS, -(-round(width * scale) * round(height * scale) // PIXELS_PER_TOKEN)))
