"""Faults in how a non-streamed Message is written: text that lenient parsers read and strict clients reject.

Python's json module reads a byte order mark, UTF-16 and NaN; Node's JSON.parse, Go's encoding/json
and browsers do not (RFC 8259 §8.1, §6). These faults rewrite only the 200 Message body, so the
suite must read answers as strictly as those clients do to see them.
"""

from __future__ import annotations

import json

from conformance._types import JSON
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import rewrite_json_response

RFC = "https://www.rfc-editor.org/rfc/rfc8259"


def _message(status: int, body: JSON) -> bool:
    return status == 200 and isinstance(body, dict) and body.get("type") == "message"


def _with_bom(status: int, body: JSON) -> JSON | bytes:
    return b"\xef\xbb\xbf" + json.dumps(body, ensure_ascii=False).encode() if _message(status, body) else body


def _utf16(status: int, body: JSON) -> JSON | bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-16-le") if _message(status, body) else body


def _nan(status: int, body: JSON) -> JSON | bytes:
    if not _message(status, body):
        return body
    return json.dumps({**body, "latency_score": float("nan")}).encode()  # Python writes a bare NaN


FAULTS: tuple[Fault, ...] = (
    _fault("json-byte-order-mark", ["shape.message_schema"], f"{RFC} §8.1 (implementations must not add a byte order mark)",
           "Messages start with a UTF-8 byte order mark, which JSON.parse and Go's decoder reject.", rewrite_json_response(_with_bom)),
    _fault("json-utf16", ["shape.message_schema"], f"{RFC} §8.1 (JSON exchanged between systems is UTF-8)",
           "Messages are encoded as UTF-16LE, which only a sniffing parser reads.", rewrite_json_response(_utf16)),
    _fault("json-nan", ["shape.message_schema"], f"{RFC} §6 (NaN and Infinity are not permitted)",
           "A metric field of the Message is a bare NaN, which Python writes and JSON.parse rejects.", rewrite_json_response(_nan)),
)
