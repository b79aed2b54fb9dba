"""The toy OpenAI backend's automatic prompt caching, as OpenAI documents it: no markers, reads reported, writes not.

OpenAI caches every prompt of 1024 tokens or more by itself and reports a later request's reuse of an
exact prefix as usage.prompt_tokens_details.cached_tokens (Responses: input_tokens_details), in steps of
128 tokens past the first 1024 (https://platform.openai.com/docs/guides/prompt-caching; the step size is
the guide's, not re-measured here [U]). A write is never reported and cache_control does not exist in its
format. Without this, a LiteLLM finding "no cache read on the repeat" could be the backend's doing, not
LiteLLM's. One process-wide table (the backend serves one run at a time); bounded, oldest out first.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from conformance.reference import toy_model

MINIMUM = 1024
STEP = 128
CAPACITY = 20_000

_seen: OrderedDict[str, None] = OrderedDict()
_lock = threading.Lock()


def _boundaries(model: str, tools: list[Any], messages: list[Any]) -> list[tuple[int, str]]:
    """(prefix length, identity) at every cacheable boundary of the prompt, shortest first."""
    tokens = toy_model.tokenize(json.dumps([model, tools, messages], ensure_ascii=False, sort_keys=True))
    out = []
    digest = hashlib.sha256()
    done = 0
    for end in range(MINIMUM, len(tokens) + 1, STEP):
        digest.update("".join(tokens[done:end]).encode())
        done = end
        out.append((end, digest.copy().hexdigest()))
    return out


def cached_tokens(model: str, tools: list[Any], messages: list[Any], *, prompt_tokens: int) -> int:
    """The prefix an earlier prompt left in the cache (0 on a miss), then remember this prompt's prefixes."""
    marks = _boundaries(model, tools, messages)
    with _lock:
        hit = max((end for end, key in marks if key in _seen), default=0)
        for _, key in marks:
            _seen[key] = None
            _seen.move_to_end(key)
        while len(_seen) > CAPACITY:
            _seen.popitem(last=False)
    return min(hit, prompt_tokens)
