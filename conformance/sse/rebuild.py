"""The final Message a client would hold after a stream, accumulated the way the official SDK does it.

Owns only accumulation: it never judges and never raises on garbage (malformed events are
skipped), so shape and usage checks can run on streamed answers exactly as on plain ones.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import cast

from .. import jsontext
from .._types import JSON, JSONObject

_JOIN_EVERY = 256  # text pieces kept apart before a run of them is joined (linear time, memory close to the text's own size)


class _Text:
    """One text field's pieces: runs of ``_JOIN_EVERY`` pieces are joined as they fill, the whole once at the end."""

    __slots__ = ("done", "parts")

    def __init__(self, first: str) -> None:
        self.parts = [first]
        self.done = 1  # leading entries that are already joined runs

    def add(self, piece: str) -> None:
        parts = self.parts
        parts.append(piece)
        if len(parts) - self.done >= _JOIN_EVERY:  # an object per piece would cost more than the text
            parts[self.done :] = ["".join(parts[self.done :])]
            self.done += 1

    def value(self) -> str:
        return "".join(self.parts)


# Deltas whose piece joins a string field of the block: delta type -> (block field, delta field).
_TEXT_FIELDS = {"text_delta": ("text", "text"), "thinking_delta": ("thinking", "thinking")}


class _Accumulator:
    """Mutable scratch for one rebuild; lives only inside ``Rebuild``.

    Text pieces are kept as lists and joined once at the end: appending to a growing string per
    delta costs time quadratic in the answer's length (100,000 deltas took seconds). The field the
    last text piece went to is remembered (``hot``), since deltas come in runs to one block.
    """

    __slots__ = ("blocks", "hot", "hot_at", "inputs", "message", "texts")

    def __init__(self, message: JSONObject) -> None:
        self.message = message
        content = message.get("content")
        self.blocks: dict[int, JSONObject] = {}
        if isinstance(content, list):
            self.blocks = {i: block for i, block in enumerate(content) if isinstance(block, dict)}
        self.inputs: dict[int, list[str]] = {}
        self.texts: dict[int, dict[str, _Text]] = {}  # block index -> field -> its pieces; keyed by index so a block start touches only its own
        self.hot: _Text | None = None
        self.hot_at: tuple[int, str] = (-1, "")

    def on_block_start(self, event: Mapping[str, object]) -> None:
        index, block = _index(event.get("index")), event.get("content_block")
        if index is not None and isinstance(block, Mapping):
            self.join_texts(index)
            self.blocks[index] = _copy(dict(block))

    def append_text(self, index: int, block: JSONObject, key: str, piece: JSON) -> None:
        """A text piece joins the field when both are strings (the SDK's ``+=``); anything else is left alone."""
        if not isinstance(piece, str):
            return
        if self.hot_at == (index, key) and self.hot is not None:
            self.hot.add(piece)
            return
        fields = self.texts.get(index)
        if fields is None:
            fields = self.texts[index] = {}
        text = fields.get(key)
        if text is None:
            current = block.get(key, "")
            if not isinstance(current, str):
                return
            text = fields[key] = _Text(current)
        text.add(piece)
        self.hot, self.hot_at = text, (index, key)

    def join_texts(self, index: int | None = None) -> None:
        """Write the joined pieces back into their blocks (of one index, or all)."""
        self.hot, self.hot_at = None, (-1, "")
        for at in list(self.texts) if index is None else [index] if index in self.texts else []:
            block = self.blocks.get(at)
            fields = self.texts.pop(at)
            if block is not None:
                for key, text in fields.items():
                    block[key] = text.value()

    def on_block_delta(self, event: Mapping[str, object]) -> None:
        index, delta = event.get("index"), event.get("delta")
        if index.__class__ is not int or (delta.__class__ is not dict and not isinstance(delta, Mapping)):  # JSON makes exact ints; bool is not one
            return
        delta = cast(Mapping[str, JSON], delta)
        name = delta.get("type")
        text = _TEXT_FIELDS.get(name) if name.__class__ is str else None
        hot = self.hot
        if text is not None and hot is not None and index == self.hot_at[0] and text[0] == self.hot_at[1]:  # the common case: one more piece of the same text
            piece = delta.get(text[1])
            if isinstance(piece, str):
                hot.add(piece)
            return
        block = self.blocks.get(index)
        if block is None:
            return
        apply = _ON_DELTA.get(name) if isinstance(name, str) else None
        if apply is not None:
            apply(self, index, block, delta)

    def on_block_stop(self, event: Mapping[str, object]) -> None:
        index = _index(event.get("index"))
        if index is not None:
            self.finish_input(index)

    def on_message_delta(self, event: Mapping[str, object]) -> None:
        delta, usage = event.get("delta"), event.get("usage")
        if isinstance(delta, Mapping):
            for key, value in delta.items():
                self.message[key] = _copy(value)
        if isinstance(usage, Mapping):
            if not isinstance(self.message.get("usage"), dict):
                self.message["usage"] = {}
            into = self.message["usage"]
            for key, value in usage.items():
                if value is not None or key not in into:
                    into[key] = _copy(value)
        for key, value in event.items():
            if key not in ("type", "delta", "usage"):
                self.message[key] = _copy(value)

    def finish_input(self, index: int) -> None:
        """Tool input arrives as JSON text in pieces and only means something once whole."""
        parts = self.inputs.pop(index, None)
        block = self.blocks.get(index)
        if parts is None or block is None:
            return
        text = "".join(parts)
        try:
            block["input"] = jsontext.loads(text) if text else {}
        except ValueError:
            block["input"] = text

    def result(self) -> JSONObject:
        self.join_texts()
        for index in list(self.inputs):
            self.finish_input(index)
        self.message["content"] = [self.blocks[i] for i in sorted(self.blocks)]
        return self.message


def _copy(value: JSON) -> JSON:
    """Keep the events untouched; absurdly deep JSON is shared rather than crash the reading."""
    try:
        return _clone(value)
    except RecursionError:
        return value


def _clone(value: JSON) -> JSON:
    """A deep copy of decoded JSON (acyclic, plain types), several times faster than ``copy.deepcopy``."""
    kind = value.__class__
    if kind is dict:
        return {key: _clone(item) for key, item in value.items()}
    if kind is list:
        return [_clone(item) for item in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)


def _index(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(acc: _Accumulator, index: int, block: JSONObject, delta: Mapping[str, JSON]) -> None:
    acc.append_text(index, block, "text", delta.get("text"))


def _thinking(acc: _Accumulator, index: int, block: JSONObject, delta: Mapping[str, JSON]) -> None:
    acc.append_text(index, block, "thinking", delta.get("thinking"))


def _signature(acc: _Accumulator, index: int, block: JSONObject, delta: Mapping[str, JSON]) -> None:
    if "signature" in delta:
        block["signature"] = delta["signature"]


def _citation(acc: _Accumulator, index: int, block: JSONObject, delta: Mapping[str, JSON]) -> None:
    if "citation" not in delta:
        return
    if not isinstance(block.get("citations"), list):
        block["citations"] = []
    block["citations"].append(_copy(delta["citation"]))


def _input_json(acc: _Accumulator, index: int, block: JSONObject, delta: Mapping[str, JSON]) -> None:
    piece = delta.get("partial_json")
    if isinstance(piece, str):
        acc.inputs.setdefault(index, []).append(piece)


def _compaction(acc: _Accumulator, index: int, block: JSONObject, delta: Mapping[str, JSON]) -> None:
    # The SDK replaces rather than appends: each compaction_delta carries the whole summary.
    for key in ("content", "encrypted_content"):
        if key in delta:
            block[key] = _copy(delta[key])


_ON_DELTA: dict[str, Callable[[_Accumulator, int, JSONObject, Mapping[str, JSON]], None]] = {
    "text_delta": _text,
    "citations_delta": _citation,
    "input_json_delta": _input_json,
    "thinking_delta": _thinking,
    "signature_delta": _signature,
    "compaction_delta": _compaction,
}

_ON_EVENT: dict[str, Callable[[_Accumulator, Mapping[str, object]], None]] = {
    "content_block_start": _Accumulator.on_block_start,
    "content_block_delta": _Accumulator.on_block_delta,
    "content_block_stop": _Accumulator.on_block_stop,
    "message_delta": _Accumulator.on_message_delta,
}


class Rebuild:
    """The rebuild fed one event at a time, so a reading that never holds every event can still rebuild."""

    __slots__ = ("_acc",)

    def __init__(self) -> None:
        self._acc: _Accumulator | None = None

    def feed(self, event: Mapping[str, object]) -> None:
        """Apply one decoded event; anything before the first message_start is ignored, as the SDK does."""
        if event.__class__ is not dict and not isinstance(event, Mapping):
            return
        kind = event.get("type")
        if self._acc is None:
            start = event.get("message") if kind == "message_start" else None
            if isinstance(start, Mapping):
                self._acc = _Accumulator(_copy(dict(start)))
            return
        if kind == "content_block_delta":  # most events: skip the table's lookup
            self._acc.on_block_delta(event)
            return
        handle = _ON_EVENT.get(kind) if isinstance(kind, str) else None
        if handle is not None:
            handle(self._acc, event)

    def result(self) -> JSONObject | None:
        """The Message a client ends up with, or None when there was no message_start to build on; call once."""
        return self._acc.result() if self._acc is not None else None


def rebuild(events: Iterable[Mapping[str, object]]) -> JSONObject | None:
    """The Message a client ends up with, or None when there was no message_start to build on."""
    acc = Rebuild()
    for event in events:
        acc.feed(event)
    return acc.result()
