"""A deterministic stand-in for a language model: tokenizer, input counting and generation.

Owns the reply rules and the token arithmetic (input_tokens, output_tokens, stop reasons), as pure
functions over already-validated request values; an image costs its pixels by the vision doc's estimate
wherever it sits (a tool_result carries images too). Knows nothing about HTTP, SSE or validation.

The suite's prompts are phrased so that real models obey them too; this model obeys them exactly:
"Reply with exactly this text and nothing else: X" answers X, "Count from A to B" counts. It reads
only the user's own words: ``<system-reminder>`` sections an agent harness adds to a user turn
(Claude Code adds its environment, its agents and its skills there) are context, never the request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from conformance import media
from conformance._types import JSONObject
from conformance.reference.server_tools import ServerCall
from conformance.reference.thoughts import Thought
from conformance.reference.tool_calls import ToolCall

_TOKEN = re.compile(r"\s*\S+|\s+")
_ECHO = re.compile(r"(?is)reply with exactly this text and nothing else:\s*(.+)")
_COUNT = re.compile(r"(?i)count from (\d+) to (\d+)")
_REMINDER = re.compile(r"(?s)<system-reminder>.*?(?:</system-reminder>|\Z)")
_COUNT_LIMIT = 100_000
DEFAULT_REPLY = "Hello! I am the reference model."
PER_MESSAGE_OVERHEAD = 3


class StopReason(Enum):
    """The stop reasons this model can produce (a subset of the API's enum)."""

    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    PAUSE_TURN = "pause_turn"
    REFUSAL = "refusal"


@dataclass(frozen=True, slots=True)
class Generation:
    """What one request produced; `pieces` concatenate to `text` and become the stream's deltas.

    A turn that thinks starts with `thought`; a turn that ends in tool calls carries them in `calls`
    and has no text block (see turns.py, which composes both). Server tool calls (`server_calls`) come
    before the text, their results adding `context_tokens` to the input the final usage reports; a
    refusal carries its `stop_details`.
    """

    text: str
    output_tokens: int
    stop_reason: StopReason
    stop_sequence: str | None
    pieces: tuple[str, ...]
    thought: Thought | None = None
    calls: tuple[ToolCall, ...] = ()
    server_calls: tuple[ServerCall, ...] = ()
    context_tokens: int = 0
    stop_details: JSONObject | None = None


def tokenize(text: str) -> list[str]:
    """Split into tokens of optional leading whitespace plus a run of non-space, so joins are lossless."""
    return _TOKEN.findall(text)


def count_text(text: str) -> int:
    """Token count of a string."""
    return len(tokenize(text))


def _count_json(value: object) -> int:
    return count_text(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _image_cost(block: JSONObject) -> int | None:
    """An image block's tokens by the vision doc's estimate (its pixels, not its base64 text), None when its size is unknown."""
    size = media.block_image_size(block)
    return media.image_tokens(*size) if size is not None else None


def _count_images(value: object) -> tuple[object, int]:
    """``value`` with every image of known size replaced by its bare type, and what those images cost (a tool_result may carry images too)."""
    if isinstance(value, list):
        items = [_count_images(item) for item in value]
        return [p for p, _ in items], sum(c for _, c in items)
    if not isinstance(value, dict):
        return value, 0
    cost = _image_cost(value) if value.get("type") == "image" else None
    if cost is not None:
        return {"type": "image"}, cost
    fields = {key: _count_images(item) for key, item in value.items()}
    return {key: p for key, (p, _) in fields.items()}, sum(c for _, c in fields.values())


def block_tokens(block: object) -> int:
    """One content block's tokens: a text block its text, any other block its JSON (an image its pixels)."""
    if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
        return count_text(block["text"])
    rest, images = _count_images(block)
    return _count_json(rest) + images


def tool_tokens(tool: object) -> int:
    """One tool definition's tokens (its JSON)."""
    return _count_json(tool)


def _count_content(content: object) -> int:
    if isinstance(content, str):
        return count_text(content)
    return sum(block_tokens(block) for block in content) if isinstance(content, list) else 0


def input_tokens(*, system: object, messages: Sequence[JSONObject], tools: Sequence[object] = ()) -> int:
    """Count a request's input; count_tokens and usage.input_tokens must agree on the same request."""
    total = _count_content(system) if system is not None else 0
    total += sum(tool_tokens(tool) for tool in tools)
    for message in messages:
        total += _count_content(message.get("content")) + PER_MESSAGE_OVERHEAD
    return max(total, 1)


def message_text(message: JSONObject) -> str:
    """The plain text of a message: string content or its text blocks joined by newlines."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return "\n".join(t for t in texts if isinstance(t, str))


def without_reminders(text: str) -> str:
    """``text`` without the ``<system-reminder>`` sections an agent harness adds to user turns and tool results."""
    return _REMINDER.sub("", text).strip()


def user_words(message: JSONObject) -> str:
    """What the user wrote in a turn: its text without the ``<system-reminder>`` sections a harness adds."""
    return without_reminders(message_text(message))


def rule_reply(prompt: str) -> str | None:
    """The reply a reply rule gives ``prompt`` (echo, count), or None when no rule applies."""
    echo = _ECHO.search(prompt)
    if echo:
        return echo.group(1).strip()
    count = _COUNT.search(prompt)
    if count:
        start, end = int(count.group(1)), int(count.group(2))
        if start <= end and end - start < _COUNT_LIMIT:
            return " ".join(str(n) for n in range(start, end + 1))
    return None


def reply_to(prompt: str) -> str:
    """Apply the reply rules to the last user message's text."""
    found = rule_reply(prompt)
    return DEFAULT_REPLY if found is None else found


def _continuation(messages: Sequence[JSONObject]) -> str:
    prompt = next((user_words(m) for m in reversed(messages) if m.get("role") == "user"), "")
    reply = reply_to(prompt)
    if messages and messages[-1].get("role") == "assistant":
        prefill = message_text(messages[-1])
        if prefill and reply.startswith(prefill):
            return reply[len(prefill) :]
        if prefill:  # a prefill that is not the reply's start ("Answer:"): the reply follows it, as a real model writes it
            return " " + reply
    return reply


def _first_stop(text: str, stop_sequences: Sequence[str]) -> tuple[int, str] | None:
    found = [(text.find(s), i, s) for i, s in enumerate(stop_sequences) if s and s in text]
    if not found:
        return None
    position, _, sequence = min(found)
    return position, sequence


def generate(
    messages: Sequence[JSONObject], *, max_tokens: int, stop_sequences: Sequence[str] = (), reply: str | None = None
) -> Generation:
    """Emit the reply (``reply``, or what the prompt asks for) token by token, stopping at a stop sequence or at max_tokens like a sampler does."""
    emitted: list[str] = []
    text = ""
    for token in tokenize(_continuation(messages) if reply is None else reply):
        emitted.append(token)
        text += token
        stop = _first_stop(text, stop_sequences)
        if stop is not None:
            return _finish(emitted, stop[0], StopReason.STOP_SEQUENCE, stop[1])
        if len(emitted) >= max_tokens:
            return _finish(emitted, len(text), StopReason.MAX_TOKENS, None)
    return _finish(emitted, len(text), StopReason.END_TURN, None)


def _finish(emitted: list[str], cut: int, reason: StopReason, sequence: str | None) -> Generation:
    pieces: list[str] = []
    remaining = cut
    for token in emitted:
        if remaining <= 0:
            break
        pieces.append(token[:remaining])
        remaining -= len(token)
    # An end-of-turn token is still a sampled token, so even an empty reply costs one.
    return Generation(
        text="".join(pieces),
        output_tokens=max(len(emitted), 1),
        stop_reason=reason,
        stop_sequence=sequence,
        pieces=tuple(p for p in pieces if p),
    )
