"""Contract → the cases a run judges and the requests it sends. Pure: no I/O, no secrets.

A *case* is one verdict (one pytest item): a rule, optionally one generated variation of it.
A *request* is one exchange with the target; many cases share one request. Generated rules
turn every parameter boundary in params.yaml (``variations.py`` names them and their values)
and every API version a profile lists into a case and a request, so a new parameter in the spec
is a new set of tests with no code change. A stream twin is found by its ``twin_of``, never by its id.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

from . import cacheable, media
from ._types import JSON, JSONObject
from .auth import Auth
from .contract.model import (
    Condition,
    Contract,
    Expect,
    ModelFacts,
    Profile,
    Rule,
    RuleKind,
    ScenarioSpec,
    twin_id,
)
from .findings import Level
from .variations import Missing, Skip, param_variations, variation_kind, variation_value

USER_AGENT = "anthropic-conformance/0.1"


@dataclass(frozen=True, slots=True)
class Request:
    """One request the transport sends; ``auth`` names the credential mode, never the key."""

    scenario: str
    endpoint: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    auth: Auth
    body: bytes
    stream: bool
    tags: frozenset[str]
    retry: bool = True
    marker: str | None = None
    twin: str | None = None  # the non-stream scenario this stream mirrors
    follows: str | None = None  # sent only after this scenario's answer, which it continues (see ``follow_up``)
    reply: str = ""
    expect_text: str | None = None  # what the prompt asks the model to answer, exactly (stream twins carry their plain twin's)
    start_only: bool = False  # a probe of acceptance: streamed, read up to its first event, closed (the transport stops there)

    def json_body(self) -> JSON:
        """The body as JSON (``None`` for raw, deliberately malformed bodies)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Case:
    """One verdict to reach: a rule (and a generated variation), its scenarios and expectation."""

    id: str
    rule: Rule
    variation: str
    scenarios: tuple[str, ...]
    level: Level
    expect: Expect | None = None
    skip: str | None = None
    note: str = ""
    source: str = ""
    api_version: str | None = None  # a version-dependent case: the version whose contract judges it (its id carries it, see versions.py)

    @property
    def check_id(self) -> str:
        """The rule id this case belongs to."""
        return self.rule.id


# ------------------------------------------------------------------------------ conditions


def holds(cond: Condition, facts: ModelFacts, profile: Profile, api_version: str) -> bool:
    """True when every part of ``cond`` holds; an unknown model fact never satisfies a condition."""
    if cond.api_version is not None and cond.api_version != api_version:
        return False
    for name, want in cond.model.items():
        have = facts.get(name)
        if have is None:
            return False
        if isinstance(have, list | tuple):  # a list fact (thinking types) holds when it contains the wanted value
            if want not in have:
                return False
        elif have != want:
            return False
    return profile.grants(cond.profile)


def explain(cond: Condition, facts: ModelFacts, profile: Profile) -> str:
    """Why ``cond`` does not hold, for a skip reason."""
    parts = []
    for name, want in profile.denies(cond.profile).items():
        source = profile.knob_sources.get(name)
        parts.append(f"profile {profile.name!r} declares {name}={profile.knob(name)!r}, the rule needs {want!r}" + (f" ({source})" if source else ""))
    for name, want in cond.model.items():
        parts.append(f"model {facts.model!r} has {name}={facts.get(name)!r}, the rule needs {want!r}")
    if cond.api_version:
        parts.append(f"the rule applies to API version {cond.api_version}")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------ cases


def build_cases(contract: Contract, model: str) -> list[Case]:
    """Every case of the contract for a run with ``model``; ids do not depend on the model."""
    facts = contract.model_facts(model)
    cases: list[Case] = []
    for rule in contract.rules.values():
        if rule.kind is RuleKind.GENERATED and rule.generated is not None:
            if rule.generated.source == "params":
                cases.extend(_param_cases(contract, rule, facts))
            else:
                cases.extend(_version_cases(contract, rule))
            continue
        expect, level, skip = _resolve(contract, rule, facts)
        scenarios = (rule.scenario, *rule.also) if rule.scenario else rule.needs
        cases.append(Case(id=rule.id, rule=rule, variation="", scenarios=tuple(scenarios), level=level, expect=expect, skip=skip, note=rule.note, source=contract.url(rule.source)))
    return cases


def _resolve(contract: Contract, rule: Rule, facts: ModelFacts) -> tuple[Expect | None, Level, str | None]:
    expect, level, skip = rule.expect, rule.level, rule.skip
    if skip is None and rule.requires is not None and not holds(rule.requires, facts, contract.profile, contract.api_version):
        skip = "not applicable: " + explain(rule.requires, facts, contract.profile)
    for variant in rule.variants:
        if holds(variant.when, facts, contract.profile, contract.api_version):
            expect = variant.expect or expect
            level = variant.level or level
            skip = skip or variant.skip
            break
    return expect, level, skip


def _version_cases(contract: Contract, rule: Rule) -> list[Case]:
    assert rule.generated is not None
    cases = []
    for version in contract.profile.api_versions:
        scenario = "plain" if version == contract.api_version else f"version.{version}"
        cases.append(
            Case(
                id=f"{rule.id}:{version}",
                rule=rule,
                variation=version,
                scenarios=(scenario,),
                level=rule.level,
                expect=rule.generated.expect,
                skip=rule.skip,
                source=contract.url(rule.source),
            )
        )
    return cases




def _param_cases(contract: Contract, rule: Rule, facts: ModelFacts) -> list[Case]:
    assert rule.generated is not None
    wanted = set(rule.generated.cases)
    cases: list[Case] = []
    for param in contract.params.values():
        for variation in param_variations(param):
            if variation_kind(variation) not in wanted:
                continue
            override = param.cases.get(variation)
            expect = rule.generated.expect
            level = param.level if param.level is not Level.MUST else rule.level
            skip = rule.skip
            note = param.note
            source = contract.url(param.source)
            value = variation_value(param, variation, facts)
            if isinstance(value, Skip):
                skip = skip or value.reason
            if param.gated_by is not None and (variation in ("at_min", "at_max") or variation.startswith("enum_")):
                fact, gated_value = param.gated_by
                have = facts.get(fact)
                if have is None:
                    expect = Expect(("2xx", "400"))
                    note = f"model {facts.model!r}: {fact} unknown, so a refusal is also accepted"
                elif have == gated_value:
                    expect = Expect(("2xx", "400"))
                    note = f"model {facts.model!r} accepts {param.name} only at its default ({fact}={have})"
            if override is not None:
                expect = override.expect or expect
                level = override.level or level
                skip = skip or override.skip
                note = override.note or note
                source = contract.url(override.source) if override.source else source
            sid = f"param.{param.name}.{variation}"
            cases.append(
                Case(
                    id=f"{rule.id}:{param.name}.{variation}",
                    rule=rule,
                    variation=f"{param.name}.{variation}",
                    scenarios=(sid, twin_id(sid)) if override is not None and override.stream_twin and not override.accept_probe else (sid,),
                    level=level,
                    expect=expect,
                    skip=skip,
                    note=note,
                    source=source,
                )
            )
    return cases




# --------------------------------------------------------------------------------- requests


def scenario_specs(contract: Contract, model: str) -> dict[str, ScenarioSpec]:
    """The spec's scenarios plus the generated ones (parameter boundaries, API versions)."""
    specs = dict(contract.scenarios)
    facts = contract.model_facts(model)
    for param in contract.params.values():
        for variation in param_variations(param):
            value = variation_value(param, variation, facts)
            sid = f"param.{param.name}.{variation}"
            if isinstance(value, Skip):
                continue
            override = param.cases.get(variation)
            probe = override is not None and override.accept_probe  # streamed and closed after message_start: costs what it reads
            if isinstance(value, Missing):
                specs[sid] = ScenarioSpec(id=sid, base=param.base, unset=(param.name,), stream=True if probe else None, start_only=probe)
            else:
                specs[sid] = ScenarioSpec(id=sid, base=param.base, set={param.name: value}, stream=True if probe else None, start_only=probe)
            if override is not None and override.stream_twin and not probe:
                specs[twin_id(sid)] = ScenarioSpec(id=twin_id(sid), base=sid, stream=True, twin_of=sid)
    for version in contract.profile.api_versions:
        sid = f"version.{version}"
        specs[sid] = ScenarioSpec(id=sid, base="plain", version=version)
    return specs


def _chain(specs: Mapping[str, ScenarioSpec], sid: str) -> list[ScenarioSpec]:
    chain: list[ScenarioSpec] = []
    current: str | None = sid
    while current is not None:
        spec = specs[current]
        if spec in chain:
            raise ValueError(f"scenario {sid!r}: base chain forms a cycle")
        chain.append(spec)
        current = spec.base
    return list(reversed(chain))


def build_request(contract: Contract, specs: Mapping[str, ScenarioSpec], sid: str, *, model: str, nonce: str = "") -> Request:
    """Resolve one scenario (following ``base``) into the request to send; ``nonce`` opens a cacheable prefix (cacheable.py)."""
    chain = _chain(specs, sid)
    body: JSONObject | None = None
    raw: str | None = None
    auth = version = None
    stream: bool | None = None
    endpoint = "messages"
    method = path = None
    headers: dict[str, str] = {}
    retry = True
    marker = None
    start_only = False
    for spec in chain:
        if spec.body is not None:
            body = copy.deepcopy(spec.body)
        if body is not None:
            for key, value in spec.set.items():
                body[key] = copy.deepcopy(value)
            for key in spec.unset:
                body.pop(key, None)
        raw = spec.raw_body if spec.raw_body is not None else raw
        auth = spec.auth or auth
        version = spec.version or version
        stream = spec.stream if spec.stream is not None else stream
        endpoint = spec.endpoint if spec.endpoint != "messages" else endpoint
        method, path = spec.method or method, spec.path or path
        headers.update(spec.headers)
        retry = retry and spec.retry
        marker = spec.marker or marker
        start_only = start_only or spec.start_only
    own = specs[sid]
    default_method, default_path = contract.endpoints[endpoint]
    payload: bytes = b""
    if raw is not None:
        payload = raw.replace("{model}", model).encode()
    elif body is not None:
        if "model" not in body and "model" not in _unset_anywhere(chain):
            body = {"model": model, **body}
        if stream or start_only:
            body["stream"] = True
        if cacheable.mentions(body):
            body = cacheable.expand(body, cacheable.prefix_text(_cache_minimum(contract, model), nonce))
        payload = json.dumps(media.expand(body), ensure_ascii=False).encode()  # "{media:image/png}" → base64
    wire: list[tuple[str, str]] = [("user-agent", USER_AGENT)]
    if payload:
        wire.append(("content-type", "application/json"))
    resolved_version = _version_value(contract, version)
    if resolved_version is not None:
        wire.append(("anthropic-version", resolved_version))
    for name, value in headers.items():  # a scenario's header replaces the default of the same name
        wire = [(k, v) for k, v in wire if k != name.lower()]
        wire.append((name.lower(), value.replace("{beta_probe}", contract.beta_probe)))
    primary = primary_scheme(contract)
    auth_mode = {None: primary, "primary": primary, "wrong": f"wrong-{primary}"}.get(auth, auth) or primary
    twin = own.twin_of
    tags = frozenset(own.tags if not twin else specs[twin].tags)
    if twin is None and endpoint == "count_tokens":  # a count is compared with the answer to the messages request it mirrors
        twin = next((spec.id for spec in reversed(chain[:-1]) if spec.endpoint == "messages"), None)
    return Request(
        scenario=sid,
        endpoint=endpoint,
        method=method or default_method,
        path=(path or default_path).replace("{model}", quote(model, safe="/")),
        headers=tuple(wire),
        auth=Auth(auth_mode),
        body=payload,
        stream=bool(stream) or start_only,
        tags=tags,
        retry=retry,
        marker=marker,
        twin=twin,
        follows=own.follows,
        reply=own.reply,
        expect_text=specs[twin].expect_text if twin and endpoint == "messages" and twin in specs else own.expect_text,
        start_only=start_only,
    )


def _cache_minimum(contract: Contract, model: str) -> int:
    """The model's minimum cacheable length, else the largest any known model documents (an unknown model's prefix must still be cacheable)."""
    known = contract.model_facts(model).cache_min_tokens
    if known is not None:
        return known
    documented = [value for entry in contract.models if isinstance(value := entry.facts.get("cache_min_tokens"), int)]
    return max(documented, default=cacheable.LARGEST_DOCUMENTED_MINIMUM)


def _version_value(contract: Contract, version: str | None) -> str | None:
    """The anthropic-version a scenario sends: the run's, none, the contract's unknown one, the run's twice in one value, or a literal."""
    if version in (None, "default"):
        return contract.api_version
    if version == "duplicated":
        return f"{contract.api_version}, {contract.api_version}"
    return {"none": None, "unknown": contract.unknown_version}.get(version, version)


def primary_scheme(contract: Contract) -> str:
    """The auth scheme ordinary requests use: the profile's choice, else what the SDK of that API version sends."""
    profile = contract.profile
    if profile.auth_primary:
        return profile.auth_primary
    if contract.api_version >= "2026-10-21" and "bearer" in profile.auth_schemes:
        return "bearer"  # SDK >= 2.0 sends Authorization: Bearer with 2026-10-21
    return profile.auth_schemes[0]


def _unset_anywhere(chain: Sequence[ScenarioSpec]) -> set[str]:
    return {key for spec in chain for key in spec.unset}


def plan_requests(contract: Contract, cases: Iterable[Case], *, model: str, nonce: str = "") -> dict[str, Request]:
    """The requests the selected cases need (skipped cases need none), in a stable order; ``nonce`` is the run's (build_request)."""
    specs = scenario_specs(contract, model)
    needed: list[str] = []
    for case in cases:
        if case.skip:
            continue
        for sid in case.scenarios:
            if sid not in needed:
                needed.append(sid)
    for sid in list(needed):  # a stream needs its non-stream twin to be compared with
        base = specs[sid].twin_of if sid in specs else None
        if base and base not in needed:
            needed.append(base)
    for sid in list(needed):  # a follow-up needs the answer it continues
        followed = specs[sid].follows if sid in specs else None
        if followed and followed not in needed:
            needed.append(followed)
    requests = {sid: build_request(contract, specs, sid, model=model, nonce=nonce) for sid in needed if sid in specs}
    for request in list(requests.values()):  # a count needs the messages answer it is compared with
        if request.twin and request.twin not in requests:
            requests[request.twin] = build_request(contract, specs, request.twin, model=model, nonce=nonce)
    return requests


def _blank_text(block: JSON) -> bool:
    """A text block with no visible text: Anthropic sends them (captures 17, 18) but refuses them in requests."""
    return isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str) and not block["text"].strip()


def follow_up(request: Request, answer: JSON) -> Request | None:
    """The follow-up as sent: the conversation so far, ``answer`` as the assistant turn, then the reply turn.

    The answer goes back as a client sends it: every block verbatim (thinking blocks and their
    signatures untouched) except empty or whitespace-only text blocks, which the API returns but
    refuses in a request ("text content blocks must contain non-whitespace text"). Every tool call
    of the answer gets a tool_result carrying ``request.reply``; an answer without tool calls gets
    the reply as plain text. None when ``answer`` is not a Message to continue (or nothing of it is left).
    """
    body = request.json_body()
    content = answer.get("content") if isinstance(answer, dict) and answer.get("type") == "message" else None
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not isinstance(content, list):
        return None
    content = [block for block in content if not _blank_text(block)]
    if not content:
        return None
    calls = [b["id"] for b in content if isinstance(b, dict) and b.get("type") == "tool_use" and isinstance(b.get("id"), str)]
    reply = request.reply or "Continue."
    turn: JSON = [{"type": "tool_result", "tool_use_id": call, "content": reply} for call in calls] if calls else reply
    body["messages"] = [*body["messages"], {"role": "assistant", "content": content}, {"role": "user", "content": turn}]
    return replace(request, body=json.dumps(body, ensure_ascii=False).encode())
