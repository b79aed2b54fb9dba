"""Exchanges ↔ JSON Lines: the run's record, which replay re-judges offline.

One line per exchange. Bodies are stored as UTF-8 text when they decode, else base64, so a
person can read a cassette and the bytes still round-trip exactly (framing checks need them).
Everything written here was already redacted by the transport.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from ._types import JSONObject
from .errors import CassetteError
from .exchange import Attempt, Chunk, ConnectionKind, ConnectionUse, ErrorKind, Exchange, RecordedRequest

FORMAT = "anthropic-conformance/cassette/1"


_ESCAPED_BYTES = bytes(range(0x20))  # JSON writes most control characters as six (\u0000)


def _encode(data: bytes) -> JSONObject:
    # Text unless JSON escapes would make it bigger than base64 (a body of NULs grows sixfold).
    if 5 * (len(data) - len(data.translate(None, _ESCAPED_BYTES))) <= len(data) // 3:
        try:
            return {"text": data.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"base64": base64.b64encode(data).decode("ascii")}


def _decode(field: JSONObject) -> bytes:
    if "text" in field:
        return str(field["text"]).encode("utf-8")
    return base64.b64decode(field.get("base64", ""), validate=True)  # a damaged body must not read back as other bytes


def to_record(exchange: Exchange) -> JSONObject:
    """One exchange as a JSON-able record."""
    return {
        "format": FORMAT,
        "id": exchange.id,
        "started_at": exchange.started_at,
        "elapsed": exchange.elapsed,
        "attempts": exchange.attempts,
        "request": {
            "method": exchange.request.method,
            "url": exchange.request.url,
            "headers": [list(h) for h in exchange.request.headers],
            "body": _encode(exchange.request.body),
        },
        "response": None
        if exchange.status is None and not exchange.body
        else {
            "status": exchange.status,
            "headers": [list(h) for h in exchange.headers],
            "body": _encode(exchange.body),
            "chunks": [[c.offset, c.size, c.t] for c in exchange.chunks],
            "truncated": exchange.truncated,
        },
        "error": None if exchange.error is None else {"kind": exchange.error_kind, "message": exchange.error},
        "notes": list(exchange.notes),
        "connection": _connection_record(exchange.connection),
        **({"attempt": {"of": exchange.attempt.of, "number": exchange.attempt.number}} if exchange.attempt is not None else {}),
    }


def _connection_record(use: ConnectionUse | None) -> JSONObject | None:
    if use is None:
        return None
    return {"kind": use.kind.value, "after": list(use.after), "idle": use.idle, "dropped": use.dropped}


def _connection(record: JSONObject | None) -> ConnectionUse | None:
    if record is None:
        return None
    idle = record.get("idle")
    return ConnectionUse(
        kind=ConnectionKind(record["kind"]),
        after=tuple(str(a) for a in record.get("after", ())),
        idle=None if idle is None else float(idle),
        dropped=None if record.get("dropped") is None else str(record["dropped"]),
    )


def _attempt(record: JSONObject) -> Attempt | None:
    """Which behaviour retry a record is; a cassette written before the field existed says so only in the id (``<id>#attempt<n>``)."""
    given = record.get("attempt")
    if isinstance(given, dict):
        return Attempt(of=str(given["of"]), number=int(given["number"]))
    of, _, number = str(record["id"]).partition("#attempt")
    return Attempt(of=of, number=int(number)) if number else None


def from_record(record: JSONObject) -> Exchange:
    """The exchange a record describes."""
    try:
        req = record["request"]
        resp = record.get("response") or {}
        error = record.get("error") or {}
        return Exchange(
            id=str(record["id"]),
            request=RecordedRequest(
                method=req["method"],
                url=req["url"],
                headers=tuple((str(k), str(v)) for k, v in req["headers"]),
                body=_decode(req["body"]),
            ),
            status=resp.get("status"),
            headers=tuple((str(k), str(v)) for k, v in resp.get("headers", ())),
            body=_decode(resp.get("body", {"text": ""})),
            chunks=tuple(Chunk(offset=int(o), size=int(n), t=float(t)) for o, n, t in resp.get("chunks", ())),
            elapsed=float(record.get("elapsed", 0.0)),
            started_at=str(record.get("started_at", "")),
            error=error.get("message"),
            error_kind=None if error.get("kind") is None else ErrorKind(error["kind"]),
            truncated=bool(resp.get("truncated", False)),
            attempts=int(record.get("attempts", 1)),
            notes=tuple(record.get("notes", ())),
            connection=_connection(record.get("connection")),
            attempt=_attempt(record),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # AttributeError: a list or string where a mapping belongs
        raise CassetteError(f"malformed cassette record {record.get('id', '?')!r}: {exc}") from exc


def write(path: Path, exchanges: Iterable[Exchange]) -> None:
    """Write every exchange as one JSON line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for exchange in exchanges:
            json.dump(to_record(exchange), out, ensure_ascii=False)  # streamed: a 32 MiB body is not copied into one more string
            out.write("\n")


def read(path: Path) -> Iterator[Exchange]:
    """The exchanges of a cassette, in order."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 may sit inside a string
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read ({exc.strerror})") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise CassetteError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise CassetteError(f"{path}:{number}: not a record")
        yield from_record(record)
