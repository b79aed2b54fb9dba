"""Profiles: a provider's documented deviations, loaded (with ``extends``) and applied to the rules of one contract.

A profile changes a rule's level, expectation or variants with a source; a knob it declares with a
source (auth schemes, features, strictness) marks every rule it gates or re-levels, so the report
names the line of the profile that changed a verdict.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .._types import JSON, JSONObject
from ..errors import ConfigError, SpecError
from ..findings import Level
from .build import expect_of, variant_of
from .files import available_profiles, available_versions, deep_merge, kind_files, read_yaml
from .model import DeclaredHeader, Profile, Rule, RuleKind
from .schemas import MetaSchemas


def unknown_profile(name: str, spec_dir: Path | None = None) -> ConfigError:
    """A mistyped profile name: the closest shipped names, then every shipped one (a typo deserves a suggestion, not a file path)."""
    shipped = available_profiles(spec_dir)
    close = difflib.get_close_matches(name, shipped, n=2, cutoff=0.6)
    guess = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
    return ConfigError(f"unknown profile {name!r}{guess} Shipped profiles: {', '.join(shipped) or 'none'} (or give the path of a profile .yaml file)")


def load_profile(root: Path, name: str, validators: MetaSchemas) -> tuple[JSONObject, Path]:
    candidate = Path(name)
    path = candidate if candidate.suffix in (".yaml", ".yml") and candidate.is_file() else root / "profiles" / f"{name}.yaml"
    if not path.is_file():
        raise unknown_profile(name, root)
    doc = read_yaml(path)
    parent = doc.get("extends")
    if isinstance(parent, str):
        base, _ = load_profile(root, parent, validators)
        base.pop("name", None)
        doc = deep_merge(base, {k: v for k, v in doc.items() if k != "extends"})
    validators.validate("profile", doc, [(path, doc)])
    return doc, path


def profile_of(doc: JSONObject) -> Profile:
    features: dict[str, bool] = {}
    feature_sources: dict[str, str] = {}
    for name, value in doc.get("features", {}).items():
        if isinstance(value, dict):
            features[name] = bool(value["offered"])
            feature_sources[name] = value["source"]
        else:
            features[name] = bool(value)
    knob_sources = _knob_sources(doc, feature_sources)
    deviations = [f"rules.{rid}: {o.get('note') or 'overridden'} ({o['source']})" for rid, o in doc.get("rules", {}).items()]
    deviations += [f"params.{p}: {o.get('note') or 'overridden'} ({o['source']})" for p, o in doc.get("params", {}).items()]
    deviations += _knob_deviations(doc, features, knob_sources)
    return Profile(
        name=doc["name"],
        description=doc["description"],
        auth_schemes=tuple(doc["auth"]["schemes"]),
        auth_primary=doc["auth"].get("primary"),
        api_versions=tuple(doc["api_versions"]),
        version_header_required=bool(doc.get("version_header_required", True)),
        base_url=doc.get("base_url", ""),
        source=doc.get("source", ""),
        default_model=doc.get("models", {}).get("default"),
        features=features,
        feature_sources=feature_sources,
        prices=dict(doc.get("prices", {})),
        strictness=dict(doc.get("strictness", {})),
        deviations=tuple(deviations),
        knob_sources=knob_sources,
        request_headers=tuple(
            DeclaredHeader(name=name, source=h["source"], required=bool(h.get("required", False)), value=h.get("value"), note=h.get("note", ""))
            for name, h in doc.get("request_headers", {}).items()
        ),
    )


def _knob_sources(doc: JSONObject, feature_sources: Mapping[str, str]) -> dict[str, str]:
    """The source of each knob a profile declares with one, keyed as rule conditions name the knob."""
    sources = {f"features.{name}": source for name, source in feature_sources.items()}
    strictness = doc.get("strictness", {})
    for knob, source in (
        ("auth_schemes", doc["auth"].get("source")),
        ("api_versions", doc.get("api_versions_source")),
        ("version_header_required", doc.get("version_header_source")),
        ("tolerate_missing", strictness.get("tolerate_missing_source")),
        ("translates", strictness.get("translates_source")),
    ):
        if source:
            sources[knob] = source
    return sources


def _knob_deviations(doc: JSONObject, features: Mapping[str, bool], sources: Mapping[str, str]) -> list[str]:
    """One line per knob, model fact and probe a profile declares with a source (what list-checks prints)."""
    lines = []
    if "auth_schemes" in sources:
        lines.append(f"auth.schemes: {', '.join(doc['auth']['schemes'])} ({sources['auth_schemes']})")
    if "api_versions" in sources:
        lines.append(f"api_versions: {', '.join(doc['api_versions'])} ({sources['api_versions']})")
    if "version_header_required" in sources:
        lines.append(f"version_header_required: {str(doc.get('version_header_required', True)).lower()} ({sources['version_header_required']})")
    for knob, source in sources.items():
        if knob.startswith("features."):
            name = knob.split(".", 1)[1]
            lines.append(f"{knob}: {'offered' if features[name] else 'not offered'} ({source})")
    if "tolerate_missing" in sources:
        lines.append(f"strictness.tolerate_missing: {', '.join(doc['strictness'].get('tolerate_missing', ()))} ({sources['tolerate_missing']})")
    if "translates" in sources:
        lines.append(f"strictness.translates: {str(doc['strictness']['translates']).lower()} ({sources['translates']})")
    models = doc.get("models", {})
    if models.get("source") and models.get("default"):
        lines.append(f"models.default: {models['default']} ({models['source']})")
    for entry in models.get("facts", ()):
        facts = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("match", "source", "note"))
        lines.append(f"models.facts[{entry['match']}]: {facts} ({entry['source']})")
    for name, declared in doc.get("request_headers", {}).items():
        how = "required" if declared.get("required") else "optional"
        sent = f", sent as {declared['value']!r}" if declared.get("value") is not None else ""
        note = f": {declared['note']}" if declared.get("note") else ""
        lines.append(f"request_headers.{name}: {how}{sent}{note} ({declared['source']})")
    headers = doc.get("headers")
    if headers and headers.get("beta_probe"):
        lines.append(f"headers.beta_probe: {headers['beta_probe']} ({headers['source']})")
    return lines


def _rules_of_every_version(root: Path) -> set[str]:
    """Rule ids any API version defines: a profile may adjust a rule that only some versions have."""
    ids: set[str] = set()
    for version in available_versions(root):
        for path in kind_files(root / "messages" / version, "rules"):
            ids.update(read_yaml(path).get("rules", {}))
    return ids


def apply_rule_overrides(rules: dict[str, Rule], overrides: Mapping[str, JSONObject], file: Path, profile_name: str = "", root: Path | None = None) -> None:
    elsewhere: set[str] | None = None
    for rule_id, override in overrides.items():
        if rule_id not in rules:
            if elsewhere is None:
                elsewhere = _rules_of_every_version(root) if root is not None else set()
            if rule_id in elsewhere:  # defined by another API version only: nothing to change under this one
                continue
            raise SpecError(f"profile overrides unknown rule {rule_id!r}", file=str(file), pointer=f"/rules/{rule_id}")
        rule = rules[rule_id]
        line = f"{override.get('note') or 'changed by profile'} ({override['source']})"
        changes: dict[str, Any] = {"overridden_by": line}
        if "level" in override:  # the profile schema requires its reason with it
            changes["level"] = Level(override["level"])
            changes["level_reason"] = f"profile {profile_name!r}: {override['level_reason']}" if profile_name else override["level_reason"]
        if "skip" in override:
            changes["skip"] = f"profile {profile_name!r}: {override['skip']}" if profile_name else override["skip"]
        if "expect" in override:
            expect = expect_of(override["expect"])
            if rule.kind is RuleKind.GENERATED and rule.generated is not None:
                changes["generated"] = replace(rule.generated, expect=expect or rule.generated.expect)
            else:
                changes["expect"] = expect
                changes["variants"] = ()
        if "variants" in override:  # replace the rule's own variants (checked like the spec's by check_references)
            changes["variants"] = tuple(variant_of(v) for v in override["variants"])
        rules[rule_id] = replace(rule, **changes)


def mark_knob_changes(rules: dict[str, Rule], profile: Profile) -> None:
    """Record on each rule what a sourced profile knob changes: a rule it gates off, or a variant it selects.

    A knob declared without a source (Anthropic's own values) marks nothing; an explicit rule override wins.
    """
    for rule_id, rule in rules.items():
        if rule.overridden_by:
            continue
        prefix = ""
        conditions: Mapping[str, JSON] | None = None
        if rule.requires is not None and rule.requires.profile and not profile.grants(rule.requires.profile):
            prefix, conditions = "not applicable: ", profile.denies(rule.requires.profile)
        else:
            chosen = next((v for v in rule.variants if v.when.profile and not v.when.model and profile.grants(v.when.profile)), None)
            conditions = chosen.when.profile if chosen is not None else None
        if conditions and all(name in profile.knob_sources for name in conditions):
            rules[rule_id] = replace(rule, overridden_by=prefix + _knob_line(profile, conditions))


def _knob_line(profile: Profile, conditions: Mapping[str, JSON]) -> str:
    return "; ".join(f"profile {profile.name!r} declares {name}={profile.knob(name)!r} ({profile.knob_sources.get(name, 'no source')})" for name in conditions)


def param_overlay(contract_params: JSONObject, overrides: JSONObject) -> JSONObject:
    """A profile's parameter changes; an entry that only adjusts cases keeps the parameter's own source (each case names its own)."""
    overlay: JSONObject = {}
    for name, raw in overrides.items():
        if name in contract_params and set(raw) <= {"source", "note", "cases"}:
            overlay[name] = {"cases": {case: {"source": raw["source"], **change} for case, change in raw.get("cases", {}).items()}}
        else:
            overlay[name] = raw
    return overlay


def profile_facts(profile_doc: JSONObject, contract_entries: list[JSONObject]) -> list[JSONObject]:
    """A profile's model facts; an entry with the same match as a spec entry changes only the facts it names."""
    by_match = {entry["match"]: entry for entry in contract_entries}
    return [{**by_match.get(entry["match"], {}), **entry} for entry in profile_doc.get("models", {}).get("facts", ())]
