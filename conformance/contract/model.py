"""The contract as frozen values: rules, parameters, scenarios, model facts and the profile.

Built only by ``loader.py`` (through ``build.py`` and ``profiles.py``) from the spec files;
everything downstream reads these values and never the YAML. Nothing here does I/O.
"""

from __future__ import annotations

import enum
import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._types import JSON, JSONObject
from ..findings import Level


class Tier(enum.Enum):
    """How much of the suite a run covers; each tier includes the ones before it."""

    SMOKE = "smoke"
    CORE = "core"
    FULL = "full"

    @property
    def rank(self) -> int:
        """Order of the tiers, so ``--tier core`` can select smoke and core."""
        return list(Tier).index(self)


class RuleKind(enum.Enum):
    """How a rule is exercised."""

    EXPECTATION = "expectation"  # one scenario, judged by its status
    PROPERTY = "property"  # a pure function over every selected exchange
    GENERATED = "generated"  # one expectation case per parameter boundary or version


@dataclass(frozen=True, slots=True)
class Expect:
    """Acceptable statuses, as exact codes ("404") or classes ("2xx")."""

    status: tuple[str, ...]

    def matches(self, status: int) -> bool:
        """True when ``status`` is one of the acceptable ones."""
        code = str(status)
        return any(code == s or (s.endswith("xx") and code[0] == s[0]) for s in self.status)

    def describe(self) -> str:
        """The expectation as the report prints it."""
        return " or ".join(self.status)


@dataclass(frozen=True, slots=True)
class Condition:
    """A predicate over the model's facts, the profile's knobs and the API version."""

    model: Mapping[str, JSON] = field(default_factory=dict)
    profile: Mapping[str, JSON] = field(default_factory=dict)
    api_version: str | None = None


@dataclass(frozen=True, slots=True)
class Variant:
    """An expectation or level that replaces the rule's default when ``when`` holds."""

    when: Condition
    expect: Expect | None = None
    level: Level | None = None
    skip: str | None = None


class Need(enum.Enum):
    """What a check reads besides the answer's body; each way of judging offers some (see ``Rule.judgeable_from``).

    A planned run and its replay offer all of them; the proxy's traffic every one but the plan (and
    so the twin it plans); one saved answer (``validate``) none but the stream's start, when the file has it.
    """

    HEADERS = "headers"  # the response headers (a saved body has none)
    STREAM_START = "stream_start"  # the stream from its first event (a captured tail lacks it)
    TWIN = "twin"  # the same request sent the other way (streamed or not), or the messages request a count mirrors
    PLAN = "plan"  # a request the suite composed on purpose: never declared, derived (``Rule.needs_plan``)


EVERY_NEED = frozenset(Need)
_TWIN_PLANNED = "It compares a stream with the same request sent without streaming, a twin only the suite's plan sends."


@dataclass(frozen=True, slots=True)
class Selector:
    """Which exchanges of a run a property rule judges."""

    endpoint: str | None = "messages"  # None (spec: "any") picks exchanges of every endpoint
    stream: bool | None = None
    status: str = "ok"
    scenarios: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Generation:
    """How a generated rule gets its cases."""

    source: str  # "params" | "versions"
    cases: tuple[str, ...]
    expect: Expect


@dataclass(frozen=True, slots=True)
class Rule:
    """One check: its id, level, one-line text and source, and how it is exercised."""

    id: str
    area: str
    level: Level
    tier: Tier
    text: str
    source: str
    kind: RuleKind
    note: str = ""
    level_reason: str = ""  # why MUST (what breaks in which client) or SHOULD (where the documentation leaves room)
    scenario: str | None = None
    also: tuple[str, ...] = ()  # further scenarios the same expectation judges (a stream twin, another spelling)
    expect: Expect | None = None
    variants: tuple[Variant, ...] = ()
    requires: Condition | None = None
    needs: tuple[str, ...] = ()
    on: Selector | None = None
    generated: Generation | None = None
    behaviour: bool = False  # a model may vary on it: retried on failure (--behaviour-retries), a late pass warns
    reads: frozenset[Need] = frozenset()  # what the check reads besides the answer's body (spec: ``reads``)
    shows: str = ""  # the capability a profile declares that this rule's verdicts show working or not (compare: declared vs observed)
    overridden_by: str = ""  # the profile line that changed this rule, with its source
    skip: str | None = None  # a profile may declare the rule not applicable, with a reason

    @property
    def needs_plan(self) -> str | None:
        """Why only the suite's planned requests can put this rule to the test, or None when any exchange it selects can (the proxy's traffic).

        Derived from the rule itself, never from a list of ids: a status expectation judges a request
        the suite composed; a selector naming scenarios or tags picks requests by what the suite meant
        them to force; a rule that reads a twin compares with a request only the plan sends.
        """
        if self.kind is not RuleKind.PROPERTY or self.on is None:
            return "it judges the status of a request the suite composes on purpose"
        if self.on.scenarios:
            return f"it judges the suite's own scenarios ({', '.join(self.on.scenarios[:3])})"
        if self.on.tags:
            return f"it judges requests whose prompt forces a behaviour (the suite's {', '.join(self.on.tags)} probes)"
        return _TWIN_PLANNED if Need.TWIN in self.reads else None

    @property
    def wants(self) -> frozenset[Need]:
        """Everything the check needs: what the spec says it reads, and the plan when only the suite's own requests put it to the test."""
        return self.reads | {Need.PLAN} if self.needs_plan is not None else self.reads

    def judgeable_from(self, offered: frozenset[Need]) -> bool:
        """True when a way of judging that offers ``offered`` can put this rule to the test."""
        return self.wants <= offered


@dataclass(frozen=True, slots=True)
class CaseOverride:
    """A spec or profile adjustment of one generated case."""

    value: JSON = None
    has_value: bool = False
    expect: Expect | None = None
    level: Level | None = None
    skip: str | None = None
    note: str = ""
    source: str = ""
    stream_twin: bool = False  # the case also sends its request streamed and judges both the same way
    accept_probe: bool = False  # the case only asks whether the value is accepted: streamed, closed after message_start


@dataclass(frozen=True, slots=True)
class ModelBound:
    """A bound read from the model's facts instead of a constant."""

    fact: str


@dataclass(frozen=True, slots=True)
class Param:
    """One request parameter and the constraints the generator turns into cases."""

    name: str
    types: tuple[str, ...]
    source: str
    required: bool = False
    minimum: float | ModelBound | None = None
    maximum: float | ModelBound | None = None
    step: float | None = None
    enum: tuple[JSON, ...] = ()
    items_type: str | None = None
    removed: bool = False
    removed_value: JSON = None
    gated_by: tuple[str, str] | None = None  # (model fact, value) that makes accept cases lenient
    base: str = "plain"
    level: Level = Level.MUST
    note: str = ""
    cases: Mapping[str, CaseOverride] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """A request recipe as the spec states it (resolved into a request by ``scenarios.py``)."""

    id: str
    description: str = ""
    base: str | None = None
    endpoint: str = "messages"
    method: str | None = None
    path: str | None = None
    tags: tuple[str, ...] = ()
    body: JSONObject | None = None
    set: JSONObject = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    raw_body: str | None = None
    auth: str | None = None
    version: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: bool | None = None
    stream_twin: bool = False
    marker: str | None = None
    expect_text: str | None = None  # the exact text the prompt asks for: tells a model that ignored it from a target that lost text
    retry: bool = True
    follows: str | None = None  # sent after this scenario, continuing its conversation with its answer
    reply: str = ""  # the follow-up's user turn: each tool call's result, or plain text
    start_only: bool = False  # a probe of acceptance: streamed, and closed after its first event (what it costs is bounded)
    twin_of: str | None = None  # a stream twin: the scenario it sends again, streamed, and is compared with (``twin_id`` names it)


def twin_id(sid: str) -> str:
    """The id of the stream twin of scenario ``sid``: the one place that spells it."""
    return f"{sid}.stream"


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What rules may depend on per model; ``None`` means unknown, so rules accept every documented behaviour."""

    model: str
    max_output_tokens: int | None = None
    prefill: bool | None = None
    system_messages: bool | None = None
    sampling_params: str | None = None
    thinking: tuple[str, ...] | None = None  # thinking types accepted: enabled, adaptive
    source: str = ""
    cache_min_tokens: int | None = None  # the minimum cacheable prompt length (DOC-CACHE)
    effort: tuple[str, ...] | None = None  # the output_config.effort levels accepted; () for a model without effort

    def get(self, name: str) -> JSON:
        """A fact by its spec name (``None`` when unknown)."""
        return getattr(self, name, None)


@dataclass(frozen=True, slots=True)
class CountTolerance:
    """How far count_tokens may fall below and rise above usage: (tokens, fraction of usage) each side, the larger applies.

    ``translated`` is the wider band for a count made with another tokenizer than the one behind the
    usage (a gateway translating to a backend that is not Claude); None when the contract states none.
    """

    below: tuple[float, float]
    above: tuple[float, float]
    translated: CountTolerance | None = None

    def margins(self, used: int) -> tuple[int, int]:
        """How many tokens a count may fall below and rise above ``used`` tokens of usage (whole tokens, rounded down)."""
        return math.floor(max(self.below[0], self.below[1] * used)), math.floor(max(self.above[0], self.above[1] * used))


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """A pattern of model ids and the facts that hold for them."""

    match: str
    facts: Mapping[str, JSON]
    source: str


@dataclass(frozen=True, slots=True)
class DeclaredHeader:
    """A request header the provider documents: required (the run needs a value for it) or optional, maybe with a value to send."""

    name: str
    source: str
    required: bool = False
    value: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """A provider's documented deviations from Anthropic's API, each with its source."""

    name: str
    description: str
    auth_schemes: tuple[str, ...]
    api_versions: tuple[str, ...]
    version_header_required: bool = True
    auth_primary: str | None = None
    base_url: str = ""
    source: str = ""
    default_model: str | None = None
    features: Mapping[str, bool] = field(default_factory=dict)
    feature_sources: Mapping[str, str] = field(default_factory=dict)
    prices: Mapping[str, Any] = field(default_factory=dict)
    strictness: Mapping[str, Any] = field(default_factory=dict)
    deviations: tuple[str, ...] = ()  # one human line per documented deviation, with its source
    knob_sources: Mapping[str, str] = field(default_factory=dict)  # knob (auth_schemes, features.pdf...) -> source of its declared value
    request_headers: tuple[DeclaredHeader, ...] = ()  # headers the provider documents for every request (extra_headers.py sends them)

    def knob(self, name: str) -> JSON:
        """A profile knob as rule conditions see it."""
        if name == "auth_schemes":
            return list(self.auth_schemes)
        if name == "version_header_required":
            return self.version_header_required
        if name.startswith("features."):
            return self.features.get(name.split(".", 1)[1])
        return self.strictness.get(name)

    def grants(self, conditions: Mapping[str, JSON]) -> bool:
        """True when every knob has the wanted value (a list knob, such as auth_schemes, when it contains it)."""
        return not self.denies(conditions)

    def denies(self, conditions: Mapping[str, JSON]) -> dict[str, JSON]:
        """The conditions whose knob does not have the wanted value: what keeps a rule from applying."""
        denied: dict[str, JSON] = {}
        for name, want in conditions.items():
            have = self.knob(name)
            if (want not in have) if isinstance(have, list) else (have != want):
                denied[name] = want
        return denied


@dataclass(frozen=True)
class Contract:
    """The whole contract of one API version under one profile."""

    api_version: str
    title: str
    sources: Mapping[str, str]
    endpoints: Mapping[str, tuple[str, str]]
    known_versions: tuple[str, ...]
    unknown_version: str
    beta_probe: str
    wrong_key_prefix: str
    wrong_key_length: int
    wrong_key_suffix: str
    status_types: Mapping[int, tuple[str, ...]]
    stop_reasons: tuple[str, ...]
    max_event_bytes: int
    twin_tolerance: Mapping[str, tuple[float, float]]
    schemas: Mapping[str, JSONObject]  # name -> schema, refs resolvable through ``schema_registry``
    schema_refs: Mapping[str, str]  # logical name -> "file.json#/pointer"
    params: Mapping[str, Param]
    scenarios: Mapping[str, ScenarioSpec]
    rules: Mapping[str, Rule]
    models: tuple[ModelEntry, ...]
    profile: Profile
    spec_dir: str = ""
    schema_registry: Any = None  # referencing.Registry; typed loosely to keep jsonschema out of this module
    max_stream_silence: float | None = None  # seconds without any event after message_start (stream.max_silence_s)
    count_tokens_tolerance: CountTolerance | None = None  # how far count_tokens may fall below / rise above usage

    def url(self, source: str) -> str:
        """A rule's source as a URL (keys of ``sources`` are expanded)."""
        return self.sources.get(source, source)

    def model_facts(self, model: str) -> ModelFacts:
        """The facts of ``model``: the first matching entry, else every fact unknown."""
        tail = model.rsplit("/", 1)[-1]  # gateways prefix ids: anthropic/claude-…
        candidates = (model, tail, tail.replace(".", "-"))  # ...and some spell versions with dots: claude-haiku-4.5
        for entry in self.models:
            if any(fnmatch.fnmatchcase(candidate, entry.match) for candidate in candidates):
                known: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.facts.items() if k in FACT_NAMES}
                return ModelFacts(model=model, source=entry.source, **known)
        return ModelFacts(model=model)


FACT_NAMES = frozenset({"max_output_tokens", "prefill", "system_messages", "sampling_params", "thinking", "cache_min_tokens", "effort"})
