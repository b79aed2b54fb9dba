"""The reference server's model catalogue: which ids exist and which per-model rules apply.

Owns the facts (ids, aliases, limits, capabilities) and lookup by any accepted name.
Knows nothing about HTTP, validation messages or generation.

Sources:
* ids, aliases, display names, max output: https://platform.claude.com/docs/en/about-claude/models/overview.md
  and the per-model pages, e.g. https://platform.claude.com/docs/en/models/opus-4-8/overview.md
  ("Model ID: claude-opus-4-8 ... Max output: 128K tokens"); the overview's "Claude API ID" is the dated id
  (claude-haiku-4-5-20251001) and "Claude API alias" the undated one (claude-haiku-4-5).
* prefill: https://platform.claude.com/docs/en/api/errors ("Prefill not supported": Opus 4.8/4.7/4.6, Sonnet 4.6).
* role "system" inside messages: https://platform.claude.com/docs/en/about-claude/models/whats-new-claude-4-8
  (mid-conversation system messages, Opus 4.8 only).
* sampling parameters: Opus 4.7 and later answer non-default temperature/top_p/top_k with 400
  "`temperature` is deprecated for this model." (https://github.com/danielmiessler/Fabric/issues/2109).
* release dates (created_at): the per-model overview pages ("Released February 5, 2026", ...).
* thinking types: the models overview's "Extended thinking" and "Adaptive thinking" rows; Opus 4.7 and 4.8 answer
  `thinking.type.enabled` with 400 ("\"thinking.type.enabled\" is not supported for this model. ...",
  https://github.com/anomalyco/opencode/issues/22863); a model without adaptive thinking answers it with 400
  ("adaptive thinking is not supported on this model", quoted in https://github.com/anthropics/claude-code/issues/51212).
* minimum cacheable prompt length: https://platform.claude.com/docs/en/build-with-claude/prompt-caching (4096 for Haiku 4.5 and
  Opus 4.5-4.7, 1024 for Sonnet 4.5 and Opus 4.8); Sonnet 4.6 takes 2048, the length caching was observed to need
  (https://github.com/anthropics/anthropic-sdk-python/issues/1194). specs/messages/*/models.yaml carries the same numbers.
* effort levels: https://platform.claude.com/docs/en/build-with-claude/effort; Opus 4.6's list is its own 400's
  ("Supported levels: high, low, max, medium.", capture 56); Haiku 4.5 and Sonnet 4.5 take no effort
  ("This model does not support the effort parameter.", https://github.com/oratis/LISA/pull/218).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SamplingPolicy(Enum):
    """How a model treats temperature, top_p and top_k under API version 2023-06-01."""

    ACCEPTED = "accepted"
    DEFAULT_ONLY = "default_only"


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """One catalogue entry; the rules the validator and the models endpoints need."""

    id: str
    aliases: tuple[str, ...]
    display_name: str
    created_at: str
    max_output_tokens: int
    prefill: bool
    system_messages: bool
    sampling: SamplingPolicy
    thinking: tuple[str, ...] = ()  # the thinking types accepted: "enabled" (budget_tokens), "adaptive"
    cache_min_tokens: int = 4096  # a cache_control breakpoint on a shorter prefix is not cached
    effort: tuple[str, ...] = ()  # the output_config.effort levels accepted; () refuses the parameter

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a request may use for this model."""
        return (self.id, *self.aliases)


_EVERY_EFFORT = ("low", "medium", "high", "xhigh", "max")
_ACCEPTED, _DEFAULT_ONLY = SamplingPolicy.ACCEPTED, SamplingPolicy.DEFAULT_ONLY

# Most recent first: the order GET /v1/models pages through. One row a model, so the table reads down its columns.
CATALOGUE: tuple[ModelFacts, ...] = (
    ModelFacts(id="claude-opus-4-8", aliases=(), display_name="Claude Opus 4.8", created_at="2026-05-28T00:00:00Z", max_output_tokens=128_000,
               prefill=False, system_messages=True, sampling=_DEFAULT_ONLY, thinking=("adaptive",), cache_min_tokens=1024, effort=_EVERY_EFFORT),
    ModelFacts(id="claude-opus-4-7", aliases=(), display_name="Claude Opus 4.7", created_at="2026-04-16T00:00:00Z", max_output_tokens=128_000,
               prefill=False, system_messages=False, sampling=_DEFAULT_ONLY, thinking=("adaptive",), cache_min_tokens=4096, effort=_EVERY_EFFORT),
    ModelFacts(id="claude-sonnet-4-6", aliases=(), display_name="Claude Sonnet 4.6", created_at="2026-02-17T00:00:00Z", max_output_tokens=128_000,
               prefill=False, system_messages=False, sampling=_ACCEPTED, thinking=("enabled", "adaptive"), cache_min_tokens=2048, effort=("low", "medium", "high")),
    ModelFacts(id="claude-opus-4-6", aliases=(), display_name="Claude Opus 4.6", created_at="2026-02-05T00:00:00Z", max_output_tokens=128_000,
               prefill=False, system_messages=False, sampling=_ACCEPTED, thinking=("enabled", "adaptive"), cache_min_tokens=4096, effort=("low", "medium", "high", "max")),
    ModelFacts(id="claude-haiku-4-5-20251001", aliases=("claude-haiku-4-5",), display_name="Claude Haiku 4.5", created_at="2025-10-15T00:00:00Z", max_output_tokens=64_000,
               prefill=True, system_messages=False, sampling=_ACCEPTED, thinking=("enabled",), cache_min_tokens=4096, effort=()),
    ModelFacts(id="claude-sonnet-4-5-20250929", aliases=("claude-sonnet-4-5",), display_name="Claude Sonnet 4.5", created_at="2025-09-29T00:00:00Z", max_output_tokens=64_000,
               prefill=True, system_messages=False, sampling=_ACCEPTED, thinking=("enabled",), cache_min_tokens=1024, effort=()),
)

_BY_NAME: dict[str, ModelFacts] = {name: facts for facts in CATALOGUE for name in facts.names}


def lookup(name: str) -> ModelFacts | None:
    """Resolve an id or alias; None lets the caller answer 404 in its own words."""
    return _BY_NAME.get(name)
