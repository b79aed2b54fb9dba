"""Legal variations of the stream's bytes that a faithful server may show.

Owns the `Variant` knobs and the named catalogue the FaultRouter serves under `/_variant/<name>/`.
Every variant must pass every check: each knob mirrors something real streams or the SSE spec allow
(captures INDEX.md Observations 1-4, 12; https://html.spec.whatwg.org/multipage/server-sent-events.html).
Latency is legal too: the API promises no response time, so a slow target must pass as well. So is a
model that ignores the suite's prompts (`model_reply`): a faithful gateway in front of a mock or weak
backend must never fail a check, and since the probes are forced by the protocol it leaves none unjudged
(a probe it could not force would only warn, "not forced"); behind a fault it fails the gate. So are
whitespace-only text blocks in an answer (`blank_text_before_thinking`), which real answers carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType


class LineEnding(Enum):
    """The three line terminators the SSE grammar accepts."""

    LF = "\n"
    CRLF = "\r\n"
    CR = "\r"


@dataclass(frozen=True, slots=True)
class Variant:
    """How the faithful stream is laid out on the wire; the events' meaning never changes."""

    line_ending: LineEnding = LineEnding.LF
    pings: int = 1
    comments: bool = False
    unknown_events: bool = False
    delta_chunk_tokens: int = 1
    padded_json: bool = False
    first_byte_delay_s: float = 0.0  # before any response starts, error or not
    event_delay_s: float = 0.0  # between consecutive events of a stream
    thinking_delay_s: float = 0.004  # before each thinking_delta: a model thinks at a pace, so a faithful stream spreads its thoughts over time
    model_reply: str | None = None  # the model answers this to every prompt (tool calls still follow tool_choice)
    blank_text_before_thinking: bool = False  # a whitespace-only text block before the thinking block (captures 17, 18)

    def __post_init__(self) -> None:
        if self.pings < 0 or self.delta_chunk_tokens < 1:
            raise ValueError("pings must be >= 0 and delta_chunk_tokens >= 1")
        if self.first_byte_delay_s < 0 or self.event_delay_s < 0 or self.thinking_delay_s < 0:
            raise ValueError("first_byte_delay_s, event_delay_s and thinking_delay_s must be >= 0")


DEFAULT = Variant()

VARIANTS: MappingProxyType[str, Variant] = MappingProxyType(
    {
        "crlf": Variant(line_ending=LineEnding.CRLF),
        "cr": Variant(line_ending=LineEnding.CR),
        "no-ping": Variant(pings=0),
        "many-pings": Variant(pings=5),
        "comments-and-unknown-events": Variant(comments=True, unknown_events=True),
        "one-token-deltas": Variant(delta_chunk_tokens=1),
        "three-token-deltas": Variant(delta_chunk_tokens=3),
        "padded-json": Variant(padded_json=True),
        # Anthropic answers with whitespace-only text blocks (captures INDEX.md Observation 12: "\n\n" before the thinking
        # block in capture 18) but refuses them in a request: a client sending the turn back drops them, so must the suite.
        "blank-text-before-thinking": Variant(blank_text_before_thinking=True),
        # A model's pace: the latency the benchmarks (bench/run.py) measure the engine against.
        "slow": Variant(first_byte_delay_s=1.0, event_delay_s=0.02),
        "everything": Variant(
            line_ending=LineEnding.CRLF,
            pings=3,
            comments=True,
            unknown_events=True,
            delta_chunk_tokens=2,
            padded_json=True,
        ),
    }
)

# Models that ignore the prompt, on the faithful wire: a canned mock behind a gateway. Short: one token,
# so only max_tokens 1 cuts it; long: runs past the short-answer probe's max_tokens of 32; greeting: the
# reply mock backends typically send. Each holds a letter the stop-sequence probe stops at ("i", "e"),
# as nearly any answer does. Served under /_variant/<name>/ like the wire variants; kept apart
# because their answers differ.
CANNED_MODELS: MappingProxyType[str, Variant] = MappingProxyType(
    {
        "canned-short-reply": Variant(model_reply="Hi."),
        "canned-long-reply": Variant(model_reply=" ".join(["This mock backend always sends the same long answer, whatever it is asked."] * 4)),
        "canned-greeting": Variant(model_reply="Hello! How can I help you today?"),
    }
)


def named(name: str) -> Variant | None:
    """A wire variant or a canned model by name."""
    return VARIANTS.get(name) or CANNED_MODELS.get(name)
