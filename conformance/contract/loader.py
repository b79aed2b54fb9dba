"""Spec files → a validated ``Contract``.

Owns: finding the spec folder, YAML parsing, ``extends`` merging, validation against
``specs/_schema/*.schema.json``, cross-reference checks and applying a profile. A broken file
becomes one ``SpecError`` naming the file and the JSON pointer inside it; nothing else here
raises. Must not know about HTTP, pytest or checks.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from .._types import JSON, JSONObject
from ..errors import ConfigError, SpecError
from ..findings import Level
from .model import (
    CaseOverride,
    Condition,
    Contract,
    CountTolerance,
    DeclaredHeader,
    Expect,
    Generation,
    ModelBound,
    ModelEntry,
    Param,
    Profile,
    Rule,
    RuleKind,
    ScenarioSpec,
    Selector,
    Tier,
    Variant,
)

SPEC_FILES = ("contract", "params", "scenarios", "rules", "models")
_KNOWN_FACTS = frozenset({"max_output_tokens", "prefill", "system_messages", "sampling_params", "thinking", "cache_min_tokens", "effort"})
_KNOWN_KNOBS = frozenset({"auth_schemes", "version_header_required", "translates"})
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses the spec ~10x faster; same documents


def default_spec_dir() -> Path:
    """The specs shipped with the package (wheel) or, in a source checkout, the repo's ``specs/``."""
    packaged = resources.files("conformance").joinpath("_specs")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "specs"


def available_versions(spec_dir: Path | None = None) -> list[str]:
    """API versions that have a contract folder."""
    root = (spec_dir or default_spec_dir()) / "messages"
    return sorted(p.name for p in root.iterdir() if (p / "contract.yaml").is_file()) if root.is_dir() else []


def available_profiles(spec_dir: Path | None = None) -> list[str]:
    """Names of the shipped profiles."""
    root = (spec_dir or default_spec_dir()) / "profiles"
    return sorted(p.stem for p in root.glob("*.yaml")) if root.is_dir() else []


def rule_areas(spec_dir: Path | None = None) -> list[str]:
    """Every rule area of every version, read without building a contract (pytest registers them as markers at start-up, cheaply)."""
    root = (spec_dir or default_spec_dir()) / "messages"
    areas: set[str] = set()
    for version in available_versions(spec_dir):
        for path in [root / version / "rules.yaml", *sorted((root / version / "rules").glob("*.yaml"))]:
            rules = read_yaml(path).get("rules") if path.is_file() else None
            for rule in rules.values() if isinstance(rules, dict) else ():
                if isinstance(rule, dict) and isinstance(rule.get("area"), str):
                    areas.add(rule["area"])
    return sorted(areas)


def unknown_profile(name: str, spec_dir: Path | None = None) -> ConfigError:
    """A mistyped profile name: the closest shipped names, then every shipped one (a typo deserves a suggestion, not a file path)."""
    shipped = available_profiles(spec_dir)
    close = difflib.get_close_matches(name, shipped, n=2, cutoff=0.6)
    guess = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
    return ConfigError(f"unknown profile {name!r}{guess} Shipped profiles: {', '.join(shipped) or 'none'} (or give the path of a profile .yaml file)")


def load_contract(
    api_version: str = "2023-06-01",
    profile: str = "anthropic",
    *,
    spec_dir: Path | str | None = None,
) -> Contract:
    """Load, validate and merge the contract of ``api_version`` under ``profile`` (cached while the files are unchanged)."""
    root = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    if not root.is_dir():
        raise SpecError("spec folder not found", file=str(root))
    profile_path = Path(profile)
    stamp = _stamp(root, *([profile_path] if profile_path.suffix in (".yaml", ".yml") else []))
    return _cached(api_version, profile, str(root.resolve()), stamp)


def _stamp(root: Path, *extra: Path) -> tuple[tuple[str, int, int], ...]:
    """Every spec file's path, size and mtime: a changed file means a fresh load."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
    return tuple((str(p), st.st_size, st.st_mtime_ns) for p in (*files, *(e for e in extra if e.is_file())) for st in (p.stat(),))


@functools.lru_cache(maxsize=32)
def _cached(api_version: str, profile: str, root_text: str, stamp: tuple[tuple[str, int, int], ...]) -> Contract:
    root = Path(root_text)
    version_dir = root / "messages" / api_version
    if not (version_dir / "contract.yaml").is_file():
        known = ", ".join(available_versions(root)) or "none"
        raise SpecError(f"no contract for API version {api_version!r} (known: {known})", file=str(version_dir))
    validators = _MetaSchemas(root / "_schema")
    chain = _extends_chain(version_dir)
    docs: dict[str, JSONObject] = {}
    for kind in SPEC_FILES:
        merged, origins = _merge_chain(chain, kind)
        validators.validate(kind, merged, origins)
        docs[kind] = merged
    profile_doc, profile_file = _load_profile(root, profile, validators)
    return _build(root, chain, docs, profile_doc, profile_file)


# ----------------------------------------------------------------------------------- files


def _parse_yaml(text: str) -> Any:
    """libyaml's safe loader when installed; on a syntax error the pure-Python one, whose wording SpecError reports."""
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def read_yaml(path: Path) -> JSONObject:
    """One YAML mapping; syntax errors name the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    try:
        data = _parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"invalid YAML ({problem})", file=str(path), pointer=where) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError("top level must be a mapping", file=str(path))
    return data


def _extends_chain(version_dir: Path) -> list[Path]:
    """The version folder and the folders it extends, base first."""
    chain: list[Path] = []
    current: Path | None = version_dir
    while current is not None:
        if current in chain:
            raise SpecError("extends forms a cycle", file=str(current / "contract.yaml"), pointer="/extends")
        chain.append(current)
        doc = read_yaml(current / "contract.yaml")
        parent = doc.get("extends")
        if parent is None:
            current = None
        elif not isinstance(parent, str) or not (current / parent / "contract.yaml").is_file():
            raise SpecError(f"extends {parent!r} is not a contract folder", file=str(current / "contract.yaml"), pointer="/extends")
        else:
            current = (current / parent).resolve()
    return list(reversed(chain))


def deep_merge(base: JSON, overlay: JSON) -> JSON:
    """Mappings merge key by key, anything else is replaced; a null in the overlay deletes the key."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return copy.deepcopy(overlay)
    merged = dict(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif key in merged:
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _kind_files(folder: Path, kind: str) -> list[Path]:
    """``<kind>.yaml`` and, for large kinds, the per-area fragments in ``<kind>/*.yaml``."""
    files = [folder / f"{kind}.yaml"] if (folder / f"{kind}.yaml").is_file() else []
    if (folder / kind).is_dir():
        files += sorted((folder / kind).glob("*.yaml"))
    return files


def _merge_chain(chain: list[Path], kind: str) -> tuple[JSONObject, list[tuple[Path, JSONObject]]]:
    merged: JSONObject = {}
    origins: list[tuple[Path, JSONObject]] = []
    for folder in chain:
        seen: dict[str, Path] = {}
        for path in _kind_files(folder, kind):
            doc = read_yaml(path)
            if kind == "contract":
                doc.pop("extends", None)
            for section, entries in doc.items():  # fragments of one folder may not define the same key twice
                if isinstance(entries, dict) and kind != "contract":
                    for key in entries:
                        if f"{section}/{key}" in seen:
                            raise SpecError(f"{key!r} is also defined in {seen[section + '/' + key]}", file=str(path), pointer=f"/{section}/{key}")
                        seen[f"{section}/{key}"] = path
            origins.append((path, doc))
            merged = deep_merge(merged, doc)
    if not origins:
        raise SpecError(f"missing {kind}.yaml", file=str(chain[-1]))
    return merged, origins


class _MetaSchemas:
    """The schemas spec files must satisfy, with errors attributed to the file that caused them."""

    def __init__(self, folder: Path) -> None:
        resources_: list[tuple[str, Resource[Any]]] = []
        self._schemas: dict[str, JSONObject] = {}
        for path in sorted(folder.glob("*.schema.json")):
            try:
                schema = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SpecError(f"unreadable schema ({exc})", file=str(path)) from exc
            self._schemas[path.name.removesuffix(".schema.json")] = schema
            resources_.append((schema.get("$id", path.name), Resource.from_contents(schema)))
        self._registry: Registry[Any] = Registry().with_resources(resources_)

    def validate(self, kind: str, doc: JSONObject, origins: list[tuple[Path, JSONObject]]) -> None:
        schema = self._schemas.get(kind)
        if schema is None:
            raise SpecError(f"no schema for {kind} files", file=f"_schema/{kind}.schema.json")
        validator = Draft202012Validator(schema, registry=self._registry)
        error = best_match(validator.iter_errors(doc))
        if error is None:
            return
        path = list(error.absolute_path)
        pointer = "/" + "/".join(str(p) for p in path)
        blamed = _blame(path, origins)
        raise SpecError(error.message, file=str(blamed), pointer=pointer)


def _blame(path: list[Any], origins: list[tuple[Path, JSONObject]]) -> Path:
    """The last file in the chain that contains the longest prefix of ``path``."""
    best, depth = origins[-1][0], -1
    for file, doc in origins:
        node: Any = doc
        reached = 0
        for key in path:
            if (isinstance(node, dict) and key in node) or (isinstance(node, list) and isinstance(key, int) and key < len(node)):
                node, reached = node[key], reached + 1
            else:
                break
        if reached >= depth:
            best, depth = file, reached
    return best


def _load_profile(root: Path, name: str, validators: _MetaSchemas) -> tuple[JSONObject, Path]:
    candidate = Path(name)
    path = candidate if candidate.suffix in (".yaml", ".yml") and candidate.is_file() else root / "profiles" / f"{name}.yaml"
    if not path.is_file():
        raise unknown_profile(name, root)
    doc = read_yaml(path)
    parent = doc.get("extends")
    if isinstance(parent, str):
        base, _ = _load_profile(root, parent, validators)
        base.pop("name", None)
        doc = deep_merge(base, {k: v for k, v in doc.items() if k != "extends"})
    validators.validate("profile", doc, [(path, doc)])
    return doc, path


# ---------------------------------------------------------------------------------- build


def _expect(raw: JSONObject | None) -> Expect | None:
    return None if raw is None else Expect(status=tuple(str(s) for s in raw["status"]))


def _condition(raw: JSONObject | None) -> Condition | None:
    if raw is None:
        return None
    return Condition(model=dict(raw.get("model", {})), profile=dict(raw.get("profile", {})), api_version=raw.get("api_version"))


def _variant(raw: JSONObject) -> Variant:
    return Variant(
        when=_condition(raw["when"]) or Condition(),
        expect=_expect(raw.get("expect")),
        level=Level(raw["level"]) if "level" in raw else None,
        skip=raw.get("skip"),
    )


def _rule(rule_id: str, raw: JSONObject) -> Rule:
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
        planned_only=raw.get("planned_only", ""),
        scenario=raw.get("scenario"),
        also=tuple(raw.get("also", ())),
        expect=_expect(raw.get("expect")),
        variants=tuple(_variant(v) for v in raw.get("variants", ())),
        requires=_condition(raw.get("requires")),
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
        else Generation(source=gen["from"], cases=tuple(gen.get("cases", ())), expect=_expect(gen["expect"]) or Expect(("2xx",))),
    )


def _tolerance(raw: JSONObject | None) -> CountTolerance | None:
    if raw is None:
        return None
    below, above = raw["below"], raw["above"]
    return CountTolerance(
        below=(float(below["absolute"]), float(below["relative"])),
        above=(float(above["absolute"]), float(above["relative"])),
        translated=_tolerance(raw.get("translated")),
    )


def _bound(raw: JSON) -> float | ModelBound | None:
    if isinstance(raw, dict):
        return ModelBound(fact=raw["model_fact"])
    return None if raw is None else float(raw)


def _param(name: str, raw: JSONObject) -> Param:
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
                expect=_expect(o.get("expect")),
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


def _scenario(sid: str, raw: JSONObject) -> ScenarioSpec:
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


def _profile(doc: JSONObject) -> Profile:
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
        for path in _kind_files(root / "messages" / version, "rules"):
            ids.update(read_yaml(path).get("rules", {}))
    return ids


def _apply_rule_overrides(rules: dict[str, Rule], overrides: Mapping[str, JSONObject], file: Path, profile_name: str = "", root: Path | None = None) -> None:
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
            expect = _expect(override["expect"])
            if rule.kind is RuleKind.GENERATED and rule.generated is not None:
                changes["generated"] = replace(rule.generated, expect=expect or rule.generated.expect)
            else:
                changes["expect"] = expect
                changes["variants"] = ()
        if "variants" in override:  # replace the rule's own variants (checked like the spec's by _check_references)
            changes["variants"] = tuple(_variant(v) for v in override["variants"])
        rules[rule_id] = replace(rule, **changes)


def _mark_knob_changes(rules: dict[str, Rule], profile: Profile) -> None:
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


def _check_references(contract: Contract, file_of: Mapping[str, Path]) -> None:
    """Cross-file consistency the schemas cannot express."""
    scenario_ids = set(contract.scenarios)
    for rule in contract.rules.values():
        where = f"/rules/{rule.id}"
        if rule.source not in contract.sources and not rule.source.startswith(("http://", "https://")):
            raise SpecError(f"source {rule.source!r} is neither a key of sources nor a URL", file=str(file_of["rules"]), pointer=where + "/source")
        for sid in (*rule.needs, *((rule.scenario,) if rule.scenario else ()), *rule.also):
            if sid not in scenario_ids:
                raise SpecError(f"unknown scenario {sid!r}", file=str(file_of["rules"]), pointer=where)
        for cond in (*(v.when for v in rule.variants), *((rule.requires,) if rule.requires else ())):
            unknown = (set(cond.model) - _KNOWN_FACTS) | (set(cond.profile) - _KNOWN_KNOBS - {k for k in cond.profile if k.startswith("features.")})
            if unknown:
                raise SpecError(f"unknown condition key(s) {sorted(unknown)}", file=str(file_of["rules"]), pointer=where)
    for spec in contract.scenarios.values():
        if spec.base is not None and spec.base not in scenario_ids:
            raise SpecError(f"unknown base scenario {spec.base!r}", file=str(file_of["scenarios"]), pointer=f"/scenarios/{spec.id}/base")
        if spec.follows is not None and (spec.follows not in scenario_ids or contract.scenarios[spec.follows].follows is not None):
            raise SpecError(f"follows {spec.follows!r}: not a scenario, or itself a follow-up", file=str(file_of["scenarios"]), pointer=f"/scenarios/{spec.id}/follows")
    for spec in contract.scenarios.values():  # every base exists now; a cycle would only surface at plan time
        seen, base = {spec.id}, spec.base
        while base is not None:
            if base in seen:
                raise SpecError(f"base chain of {spec.id!r} forms a cycle", file=str(file_of["scenarios"]), pointer=f"/scenarios/{spec.id}/base")
            seen.add(base)
            base = contract.scenarios[base].base
    for param in contract.params.values():
        if param.source not in contract.sources and not param.source.startswith(("http://", "https://")):
            raise SpecError(f"source {param.source!r} is neither a key of sources nor a URL", file=str(file_of["params"]), pointer=f"/params/{param.name}/source")
        if param.base not in scenario_ids:
            raise SpecError(f"unknown base scenario {param.base!r}", file=str(file_of["params"]), pointer=f"/params/{param.name}/base")


def _load_schemas(chain: list[Path], refs: Mapping[str, str], contract_file: Path) -> tuple[dict[str, JSONObject], Registry[Any]]:
    files: dict[str, Path] = {}
    for folder in chain:
        schema_dir = folder / "schemas"
        if schema_dir.is_dir():
            for path in sorted(schema_dir.glob("*.json")):
                files[path.name] = path
    missing = [ref for ref in refs.values() if ref.split("#", 1)[0] not in files]
    if missing:
        raise SpecError(f"schema file(s) not found: {missing}", file=str(contract_file), pointer="/schemas")
    schemas: dict[str, JSONObject] = {}
    resources_: list[tuple[str, Resource[Any]]] = []
    for name, path in files.items():
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
        except ValueError as exc:
            raise SpecError(f"not a valid JSON Schema ({str(exc).splitlines()[0]})", file=str(path)) from exc
        except Exception as exc:  # jsonschema.SchemaError carries the pointer
            pointer = "/" + "/".join(str(p) for p in getattr(exc, "absolute_path", ()))
            raise SpecError(f"not a valid JSON Schema ({getattr(exc, 'message', exc)})", file=str(path), pointer=pointer) from exc
        schemas[name] = schema
        resources_.append((schema.get("$id", name), Resource.from_contents(schema)))
    registry: Registry[Any] = Registry().with_resources(resources_)
    for name, schema in schemas.items():
        base = schema.get("$id", name)
        for pointer, ref in _refs(schema, ""):
            try:
                registry.resolver(base_uri=base).lookup(ref)
            except Exception as exc:  # referencing raises several unrelated types; all mean "broken ref"
                raise SpecError(f"$ref {ref!r} does not resolve ({type(exc).__name__})", file=str(files[name]), pointer=pointer) from exc
    return schemas, registry


def _refs(node: JSON, pointer: str) -> list[tuple[str, str]]:
    """Every ($ref location, $ref value) inside a schema."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append((pointer + "/$ref", value))
            else:
                found += _refs(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _refs(value, f"{pointer}/{index}")
    return found


def _param_overlay(contract_params: JSONObject, overrides: JSONObject) -> JSONObject:
    """A profile's parameter changes; an entry that only adjusts cases keeps the parameter's own source (each case names its own)."""
    overlay: JSONObject = {}
    for name, raw in overrides.items():
        if name in contract_params and set(raw) <= {"source", "note", "cases"}:
            overlay[name] = {"cases": {case: {"source": raw["source"], **change} for case, change in raw.get("cases", {}).items()}}
        else:
            overlay[name] = raw
    return overlay


def _profile_facts(profile_doc: JSONObject, contract_entries: list[JSONObject]) -> list[JSONObject]:
    """A profile's model facts; an entry with the same match as a spec entry changes only the facts it names."""
    by_match = {entry["match"]: entry for entry in contract_entries}
    return [{**by_match.get(entry["match"], {}), **entry} for entry in profile_doc.get("models", {}).get("facts", ())]


def _build(root: Path, chain: list[Path], docs: Mapping[str, JSONObject], profile_doc: JSONObject, profile_file: Path) -> Contract:
    c = docs["contract"]
    file_of = {kind: chain[-1] / f"{kind}.yaml" for kind in SPEC_FILES}
    for kind in SPEC_FILES:
        for folder in reversed(chain):
            files = _kind_files(folder, kind)
            if files:
                file_of[kind] = files[0]
                break
    param_docs = deep_merge(docs["params"]["params"], _param_overlay(docs["params"]["params"], profile_doc.get("params", {})))
    params = {name: _param(name, raw) for name, raw in param_docs.items()}
    rules = {rid: _rule(rid, raw) for rid, raw in docs["rules"]["rules"].items()}
    _apply_rule_overrides(rules, profile_doc.get("rules", {}), profile_file, profile_doc["name"], root)
    scenarios: dict[str, ScenarioSpec] = {}
    for sid, raw in docs["scenarios"]["scenarios"].items():
        spec = _scenario(sid, raw)
        scenarios[sid] = spec
        if spec.stream_twin:
            scenarios[f"{sid}.stream"] = replace(spec, id=f"{sid}.stream", base=sid, body=None, stream=True, stream_twin=False)
    profile = _profile(profile_doc)
    _mark_knob_changes(rules, profile)
    model_entries = [*_profile_facts(profile_doc, docs["models"]["models"]), *docs["models"]["models"]]
    refs = dict(c["schemas"])
    schemas, registry = _load_schemas(chain, refs, file_of["contract"])
    contract = Contract(
        api_version=c["api_version"],
        title=c["title"],
        sources=dict(c["sources"]),
        endpoints={k: (v["method"], v["path"]) for k, v in c["endpoints"].items()},
        known_versions=tuple(c["headers"]["known_versions"]),
        unknown_version=c["headers"]["unknown_version"],
        beta_probe=profile_doc.get("headers", {}).get("beta_probe") or c["headers"]["beta_probe"],
        wrong_key_prefix=c["headers"]["wrong_key_prefix"],
        wrong_key_length=int(c["headers"]["wrong_key_length"]),
        wrong_key_suffix=c["headers"]["wrong_key_suffix"],
        status_types={int(k): tuple(v) for k, v in c["errors"]["status_types"].items()},
        stop_reasons=tuple(c["stop_reasons"]),
        delta_blocks={k: frozenset(v) for k, v in c["stream"]["delta_blocks"].items()},
        max_event_bytes=int(c["stream"].get("max_event_bytes", 8 * 1024 * 1024)),
        twin_tolerance={k: (float(v["absolute"]), float(v["relative"])) for k, v in c["usage"]["twin_tolerance"].items()},
        schemas=schemas,
        schema_refs=refs,
        params=params,
        scenarios=scenarios,
        rules=rules,
        models=tuple(ModelEntry(match=e["match"], facts={k: v for k, v in e.items() if k not in ("match", "source", "note")}, source=e["source"]) for e in model_entries),
        profile=profile,
        spec_dir=str(root),
        schema_registry=registry,
        max_stream_silence=float(c["stream"]["max_silence_s"]) if "max_silence_s" in c["stream"] else None,
        count_tokens_tolerance=_tolerance(c["usage"].get("count_tokens_tolerance")),
    )
    _check_references(contract, file_of)
    return contract
