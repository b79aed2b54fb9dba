"""What a run will cost before it starts, and the limits that refuse to start an expensive one.

Live requests cost users money. The estimate is made from the planned requests alone. The upper
bound counts what each request can cost: the prompt the model reads (its text at three characters
a token, images and PDF pages at their documented most, the system prompt Anthropic adds to any
request with tools) and its full ``max_tokens``, what a model that never stops early could bill. A
probe of acceptance (``start_only``: streamed and closed after message_start) can cost its prompt
and what the model writes before the suite hangs up: ``PROBE_OUTPUT``, the plain answer's own
max_tokens (the probe asks for that answer, and a target that stops generating when the client
leaves stops sooner). Part of the bound is billed only by a target that accepts what the contract
refuses (Anthropic bills no 400): the plan names it. The likely figure is what the suite's short
prompts normally produce. Prices, when a profile states them per model, turn tokens into a cost.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .scenarios import Request

CHARS_PER_TOKEN = 3  # conservative (Anthropic's tokenizers average ~3.5 characters per token)
IMAGE_TOKENS = 1600  # the most one image can cost (vision docs: about (w×h)/750, capped by resizing)
DOCUMENT_TOKENS = 1600  # per PDF page: the page as an image (its text is counted as text)
LIKELY_OUTPUT = 64  # the suite's prompts ask for a few words
PROBE_OUTPUT = 32  # a probe of acceptance asks for the plain answer, whose max_tokens is 32, and is closed after message_start
TOOL_PROMPT = 530  # the tool-use system prompt Anthropic adds to a request with tools: at most 530 tokens (Claude 3 Opus, auto)
MESSAGE_TOKENS = 8  # a turn's role markers and separators
BLOCK_TOKENS = 4  # a content block's framing
PROMPT_CACHE_TAG = "prompt_cache"  # the prompt-caching probes (scenarios/caching.yaml): priced apart in the plan
# A server tool's results join the input the API bills (captures INDEX.md observation 17): about 7,700 to 15,000 tokens a
# web search (captures 10, 12, 17), 6,300 a web fetch of a page (16), 2,400 a code execution (22), plus the tool's own
# instructions (about 2,000). Per allowed use (max_uses; one when unset), a bound no request body shows; the likely
# figure is what one use usually adds.
SERVER_TOOL_TOKENS = {"web_search_": 16_000, "web_fetch_": 10_000, "code_execution_": 5_000}
SERVER_TOOL_LIKELY = {"web_search_": 8_000, "web_fetch_": 6_000, "code_execution_": 2_500}
SERVER_TOOL_PROMPT = 2_000
_BASE64_DATA = re.compile(r'"data":\s*"[A-Za-z0-9+/=]{64,}"')


class BudgetExceeded(ConfigError):
    """The planned run would exceed a limit the user set; nothing was sent."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """The planned cost of a run: requests, tokens (the bound, the part of it only a lax target bills, the likely figure), and time."""

    requests: int
    upper_tokens: int
    likely_tokens: int
    retry_requests: int = 0
    refusable_tokens: int = 0  # the part of the bound billed only if the target accepts requests the contract refuses
    worst_seconds: float | None = None  # the run's worst-case wall time (its clock stops it there)
    concurrency: int | None = None
    cache_requests: int = 0  # the prompt-caching probes among ``requests``
    cache_tokens: int = 0  # their input tokens, most of them a prefix written to the cache once and read back

    def describe(self) -> str:
        """One line for the terminal; the prompt-caching probes are priced apart (a cache write costs more than plain input)."""
        extra = f" (+ up to {self.retry_requests} behaviour retries)" if self.retry_requests else ""
        strict = f"{self.upper_tokens - self.refusable_tokens:,} if the target refuses what the contract refuses, " if self.refusable_tokens else ""
        line = f"planned: {self.requests} requests{extra}, at most {self.upper_tokens:,} tokens ({strict}likely about {self.likely_tokens:,})"
        if self.cache_requests:
            line += (
                f"; of them {self.cache_requests} prompt-caching requests (tier full) send about {self.cache_tokens:,} input tokens: "
                "a prefix written to the cache once (1.25x the input price for 5 minutes, 2x for 1 hour) and read back (0.1x)"
            )
        if self.worst_seconds is not None:
            line += f"; worst case {duration(self.worst_seconds)}" + (f" at {self.concurrency} at a time" if self.concurrency else "")
        return line


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``1 h 5 min``: a wall time as a person reads it."""
    whole = math.ceil(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height read from a PNG, GIF, JPEG or WebP header, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 ":
            return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + length
    return None


def _image_tokens(block: Mapping[str, Any]) -> int:
    """The vision docs' estimate, about width × height / 750, capped at the largest image's cost."""
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64" and isinstance(source.get("data"), str):
        try:
            size = image_size(base64.b64decode(source["data"][:8192] + "=" * (-len(source["data"][:8192]) % 4), validate=False))
        except (ValueError, TypeError):
            size = None
        if size is not None:
            return max(1, min(IMAGE_TOKENS, math.ceil(size[0] * size[1] / 750)))
    return IMAGE_TOKENS


def _document_pages(block: Mapping[str, Any]) -> int:
    """Pages of a base64 PDF (each costs about a page image plus its text); text documents count as text."""
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64" or not isinstance(source.get("data"), str):
        return 0
    try:
        pdf = base64.b64decode(source["data"], validate=False)
    except (ValueError, TypeError):
        return 1
    return max(1, len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)))


def _text(value: Any) -> int:
    """Tokens of a string (three characters a token), or of any other JSON as its text."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return math.ceil(len(_BASE64_DATA.sub('"data":""', text)) / CHARS_PER_TOKEN)  # media bytes are costed as media, not as text


def _block(block: Any) -> int:
    """What one content block costs: its text, or a media block's documented most, plus its framing."""
    if isinstance(block, str):
        return _text(block)
    if not isinstance(block, dict):
        return _text(block) + BLOCK_TOKENS
    kind = block.get("type")
    if kind == "image":
        return _image_tokens(block) + BLOCK_TOKENS
    if kind == "document":
        pages = _document_pages(block)
        rest = {k: v for k, v in block.items() if k != "source"} if pages else block
        return pages * DOCUMENT_TOKENS + _text(rest) + BLOCK_TOKENS
    if kind == "text" and isinstance(block.get("text"), str):
        return _text(block["text"]) + BLOCK_TOKENS
    if kind == "tool_result" and isinstance(block.get("content"), list):
        rest = {k: v for k, v in block.items() if k != "content"}
        return _text(rest) + sum(_block(b) for b in block["content"]) + BLOCK_TOKENS
    return _text(block) + BLOCK_TOKENS


def _content(content: Any) -> int:
    return sum(_block(b) for b in content) if isinstance(content, list) else _block(content)


def _input_tokens(body: Any) -> int:
    """The prompt the model reads: system, turns, tools (with the tool-use system prompt); parameters are not prompt. A malformed body counts as text."""
    if not isinstance(body, dict):
        return 0
    messages = body.get("messages")
    if not isinstance(messages, list):
        return _text({k: v for k, v in body.items() if k not in ("max_tokens", "stream", "model")})
    total = MESSAGE_TOKENS + (_content(body["system"]) if body.get("system") is not None else 0)
    for message in messages:
        total += MESSAGE_TOKENS + (_content(message.get("content")) if isinstance(message, dict) else _text(message))
    tools = body.get("tools")
    if tools:
        total += TOOL_PROMPT + _text(tools)
    return total


def _server_tool_tokens(body: Any, *, likely: bool = False) -> int:
    """What a request's server tools can add to its input (``likely``: usually add): their instructions, and each allowed use's results."""
    tools = body.get("tools") if isinstance(body, dict) else None
    table = SERVER_TOOL_LIKELY if likely else SERVER_TOOL_TOKENS
    total = 0
    for tool in tools if isinstance(tools, list) else []:
        kind = tool.get("type") if isinstance(tool, dict) else None
        per_use = next((tokens for prefix, tokens in table.items() if isinstance(kind, str) and kind.startswith(prefix)), None)
        if per_use is None:
            continue
        uses = tool.get("max_uses")
        content = tool.get("max_content_tokens")
        if isinstance(content, int) and not isinstance(content, bool) and 0 < content < per_use:
            per_use = content + SERVER_TOOL_PROMPT
        total += SERVER_TOOL_PROMPT + per_use * (uses if isinstance(uses, int) and not isinstance(uses, bool) and uses > 0 else 1)
    return total


@dataclass(frozen=True, slots=True)
class _Cost:
    """What one request can cost: its prompt, what its server tools can add (at most, and usually), its output at most."""

    prompt: int
    server_most: int
    server_likely: int
    output: int


def _cost(request: Request) -> _Cost:
    body = request.json_body()
    prompt = _input_tokens(body) if body is not None else math.ceil(len(request.body) / CHARS_PER_TOKEN)
    limit = body.get("max_tokens") if isinstance(body, dict) else None
    out = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else 0
    output = min(out, PROBE_OUTPUT) if request.start_only else out  # a probe of acceptance: what it reads
    return _Cost(prompt, _server_tool_tokens(body), _server_tool_tokens(body, likely=True), output)


def request_tokens(request: Request) -> tuple[int, int]:
    """(input, output) tokens ``request`` can cost at most: its prompt with what its server tools can add, and its max_tokens (a probe of acceptance: what it reads)."""
    cost = _cost(request)
    return cost.prompt + cost.server_most, cost.output


def estimate(
    requests: Iterable[Request], *, behaviour_scenarios: Iterable[Request] = (), behaviour_retries: int = 0, refusals: Collection[str] = ()
) -> Estimate:
    """The planned requests and token bounds of a run (behaviour retries counted as possible extras; ``refusals`` the probes the contract refuses)."""
    upper = likely = count = refusable = cache_requests = cache_tokens = 0
    for request in requests:
        count += 1
        cost = _cost(request)
        most = cost.prompt + cost.server_most + cost.output
        if PROMPT_CACHE_TAG in request.tags:
            cache_requests += 1
            cache_tokens += cost.prompt + cost.server_most
        upper += most
        if request.scenario in refusals:
            refusable += most
        else:  # what a conforming target likely bills: refusals cost nothing, answers a few words, server tools their usual results
            likely += cost.prompt + cost.server_likely + min(cost.output, LIKELY_OUTPUT)
    retry = list(behaviour_scenarios)
    extra = behaviour_retries * sum(sum(request_tokens(request)) for request in retry)
    return Estimate(
        requests=count, upper_tokens=upper + extra, likely_tokens=likely, retry_requests=behaviour_retries * len(retry), refusable_tokens=refusable,
        cache_requests=cache_requests, cache_tokens=cache_tokens,
    )


def enforce(plan: Estimate, *, max_requests: int | None, max_tokens_total: int | None) -> None:
    """Refuse to start when the plan exceeds a limit."""
    worst_requests = plan.requests + plan.retry_requests
    if max_requests is not None and worst_requests > max_requests:
        raise BudgetExceeded(f"the run needs up to {worst_requests} requests, more than --max-requests {max_requests}; narrow it with --tier, -k or -m")
    if max_tokens_total is not None and plan.upper_tokens > max_tokens_total:
        raise BudgetExceeded(
            f"the run could use up to {plan.upper_tokens:,} tokens (likely about {plan.likely_tokens:,}), more than --max-tokens-total {max_tokens_total:,}; "
            "narrow it with --tier, -k or -m, or raise the limit"
        )


def cost(prices: Mapping[str, Any], model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Estimated cost in USD from a profile's per-model prices (per million tokens), or None if unknown."""
    entry = prices.get(model) or prices.get(model.rsplit("/", 1)[-1])
    if not isinstance(entry, dict):
        return None
    try:
        return round(input_tokens * float(entry["input_per_mtok"]) / 1e6 + output_tokens * float(entry["output_per_mtok"]) / 1e6, 6)
    except (KeyError, TypeError, ValueError):
        return None
