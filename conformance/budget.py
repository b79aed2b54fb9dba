"""What a run will cost before it starts, and the limits that refuse to start an expensive one.

Live requests cost users money. The estimate is made from the planned requests alone: the
upper bound counts every request's full ``max_tokens`` (what a target that ignored every stop
could bill), the likely figure what the suite's short prompts normally produce. Prices, when a
profile states them per model, turn tokens into an estimated cost.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .scenarios import Request

CHARS_PER_TOKEN = 3  # conservative (Anthropic's tokenizers average ~3.5 characters per token)
IMAGE_TOKENS = 1600  # the most one image can cost (vision docs: about (w×h)/750, capped by resizing)
DOCUMENT_TOKENS = 1600  # per PDF page: the page as an image (its text is counted as text)
LIKELY_OUTPUT = 64  # the suite's prompts ask for a few words
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
    """The planned cost of a run."""

    requests: int
    upper_tokens: int
    likely_tokens: int
    retry_requests: int = 0

    def describe(self) -> str:
        """One line for the terminal."""
        extra = f" (+ up to {self.retry_requests} behaviour retries)" if self.retry_requests else ""
        return f"planned: {self.requests} requests{extra}, at most {self.upper_tokens:,} tokens (likely about {self.likely_tokens:,})"


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


def _input_tokens(body: Any) -> int:
    if not isinstance(body, dict):
        return 0
    images = documents = 0

    def walk(node: Any) -> None:
        nonlocal images, documents
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "image":
                images += _image_tokens(node)
                return
            if kind == "document":
                documents += _document_pages(node)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body.get("messages"))
    stripped = {k: v for k, v in body.items() if k not in ("max_tokens", "stream", "model")}
    text = _BASE64_DATA.sub('"data":""', json.dumps(stripped, ensure_ascii=False))  # media bytes are costed above, not as text
    return math.ceil(len(text) / CHARS_PER_TOKEN) + images + documents * DOCUMENT_TOKENS


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


def estimate(requests: Iterable[Request], *, behaviour_scenarios: Iterable[Request] = (), behaviour_retries: int = 0) -> Estimate:
    """The planned requests and token bounds of a run (behaviour retries counted as possible extras)."""
    upper = likely = count = 0
    for request in requests:
        count += 1
        body = request.json_body()
        tokens_in = _input_tokens(body) if body is not None else math.ceil(len(request.body) / CHARS_PER_TOKEN)
        limit = body.get("max_tokens") if isinstance(body, dict) else None
        out = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else 0
        upper += tokens_in + _server_tool_tokens(body) + out
        likely += tokens_in + _server_tool_tokens(body, likely=True) + min(out, LIKELY_OUTPUT)
    retry = list(behaviour_scenarios)
    extra = 0
    for request in retry:
        body = request.json_body()
        limit = body.get("max_tokens") if isinstance(body, dict) else 0
        extra += behaviour_retries * (_input_tokens(body) + (limit if isinstance(limit, int) else 0))
    return Estimate(requests=count, upper_tokens=upper + extra, likely_tokens=likely, retry_requests=behaviour_retries * len(retry))


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
