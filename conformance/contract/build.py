"""Spec documents → the frozen values of ``model.py``: one function per kind of entry (rule, parameter, scenario ...).

Each reads a mapping its meta-schema already accepted, so it reads keys without checking them. A
scenario with ``stream_twin`` gets its twin here: a second scenario, sent streamed, that names the
one it mirrors in ``twin_of``, so nothing downstream parses an id to find a twin.
"""

from __future__ import annotations

from dataclasses import replace

from .._types import JSON, JSONObject
from ..findings import Level
from .model import (
    CaseOverride,
    Condition,
    CountTolerance,
    Expect,
    Generation,
    ModelBound,
    Need,
    Param,
    Rule,
    RuleKind,
    ScenarioSpec,
    Selector,
    Tier,
    Variant,
    twin_id,
)


def expect_of(raw: JSONObject | None) -> Expect | None:
    return None if raw is None else Expect(status=tuple(str(s) for s in raw["status"]))


def condition_of(raw: JSONObject | None) -> Condition | None:
    if raw is None:
        return None
    return Condition(model=dict(raw.get("model", {})), profile=dict(raw.get("profile", {})), api_version=raw.get("api_version"))


def variant_of(raw: JSONObject) -> Variant:
    return Variant(
        when=condition_of(raw["when"]) or Condition(),
        expect=expect_of(raw.get("expect")),
        level=Level(raw["level"]) if "level" in raw else None,
        skip=raw.get("skip"),
    )


def rule_of(rule_id: str, raw: JSONObject) -> Rule:
    if "generated" in raw:
        kind = RuleKind.GENERATED
    elif "scenario" in raw:
        kind = RuleKind.EXPECTATION
    else:
        kind = RuleKind.PROPERTY
    gen = raw.get("generated")
    on = raw.get("select")
    return Rule(
        id=rule_id,
        area=raw["area"],
        level=Level(raw["level"]),
        tier=Tier(raw["tier"]),
        text=raw["rule"],
        source=raw["source"],
        kind=kind,
        note=raw.get("note", ""),
        level_reason=raw.get("level_reason", ""),
        behaviour=bool(raw.get("behaviour", False)),
        reads=frozenset(Need(need) for need in raw.get("reads", ())),
        shows=raw.get("shows", ""),
        scenario=raw.get("scenario"),
        also=tuple(raw.get("also", ())),
        expect=expect_of(raw.get("expect")),
        variants=tuple(variant_of(v) for v in raw.get("variants", ())),
        requires=condition_of(raw.get("requires")),
        needs=tuple(raw.get("needs", ())),
        on=None
        if on is None
        else Selector(
            endpoint=None if on.get("endpoint") == "any" else on.get("endpoint", "messages"),
            stream=on.get("stream"),
            status=on.get("status", "ok"),
            scenarios=tuple(on.get("scenarios", ())),
            tags=tuple(on.get("tags", ())),
        ),
        generated=None
        if gen is None
        else Generation(source=gen["from"], cases=tuple(gen.get("cases", ())), expect=expect_of(gen["expect"]) or Expect(("2xx",))),
    )


def tolerance_of(raw: JSONObject | None) -> CountTolerance | None:
    if raw is None:
        return None
    below, above = raw["below"], raw["above"]
    return CountTolerance(
        below=(float(below["absolute"]), float(below["relative"])),
        above=(float(above["absolute"]), float(above["relative"])),
        translated=tolerance_of(raw.get("translated")),
    )


def _bound(raw: JSON) -> float | ModelBound | None:
    if isinstance(raw, dict):
        return ModelBound(fact=raw["model_fact"])
    return None if raw is None else float(raw)


def param_of(name: str, raw: JSONObject) -> Param:
    types = raw.get("type", ())
    gated = raw.get("gated_by")
    return Param(
        name=name,
        types=(types,) if isinstance(types, str) else tuple(types),
        source=raw["source"],
        required=bool(raw.get("required", False)),
        minimum=_bound(raw.get("minimum")),
        maximum=_bound(raw.get("maximum")),
        step=raw.get("step"),
        enum=tuple(raw.get("enum", ())),
        items_type=(raw.get("items") or {}).get("type"),
        removed=bool(raw.get("removed", False)),
        removed_value=raw.get("removed_value"),
        gated_by=None if gated is None else (gated["model_fact"], gated["value"]),
        base=raw.get("base", "plain"),
        level=Level(raw.get("level", "MUST")),
        note=raw.get("note", ""),
        cases={
            case: CaseOverride(
                value=o.get("value"),
                has_value="value" in o,
                expect=expect_of(o.get("expect")),
                level=Level(o["level"]) if "level" in o else None,
                skip=o.get("skip"),
                note=o.get("note", ""),
                source=o.get("source", ""),
                stream_twin=bool(o.get("stream_twin", False)),
                accept_probe=bool(o.get("accept_probe", False)),
            )
            for case, o in raw.get("cases", {}).items()
        },
    )


def scenario_of(sid: str, raw: JSONObject) -> ScenarioSpec:
    return ScenarioSpec(
        id=sid,
        description=raw.get("description", ""),
        base=raw.get("base"),
        endpoint=raw.get("endpoint", "messages"),
        method=raw.get("method"),
        path=raw.get("path"),
        tags=tuple(raw.get("tags", ())),
        body=raw.get("body"),
        set=dict(raw.get("set", {})),
        unset=tuple(raw.get("unset", ())),
        raw_body=raw.get("raw_body"),
        auth=raw.get("auth"),
        version=raw.get("version"),
        headers=dict(raw.get("headers", {})),
        stream=raw.get("stream"),
        stream_twin=bool(raw.get("stream_twin", False)),
        marker=raw.get("marker"),
        expect_text=raw.get("expect_text"),
        retry=bool(raw.get("retry", True)),
        follows=raw.get("follows"),
        reply=raw.get("reply", ""),
        start_only=bool(raw.get("start_only", False)),
    )


def scenarios_of(raw: JSONObject) -> dict[str, ScenarioSpec]:
    """Every scenario of the spec, each stream twin right after the scenario it mirrors."""
    scenarios: dict[str, ScenarioSpec] = {}
    for sid, entry in raw.items():
        spec = scenario_of(sid, entry)
        scenarios[sid] = spec
        if spec.stream_twin:
            scenarios[twin_id(sid)] = replace(spec, id=twin_id(sid), base=sid, body=None, stream=True, stream_twin=False, twin_of=sid)
    return scenarios
