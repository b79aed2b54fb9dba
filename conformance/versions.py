"""Both live API versions in one run: which cases depend on the version, and the ids they carry.

A run has a *primary* version (``--api-version``). A case is *version-dependent* when the live
versions' contracts disagree about it: it exists under some of them only (a parameter 2026-10-21
removed, a rule it added), or its rule, expectation, level or skip differ, or the requests it
needs differ (each scenario compared as the spec states it, through its whole ``base`` chain and
the answer it ``follows``), or, for a property rule, the contract facts its check reads (schemas,
status map, stop reasons, tolerances...). Such a case runs under every live version that has it,
judged against that version's contract, and its id carries the version as a suffix of its
variation: ``params.removed_rejected:temperature.present@2026-10-21``,
``content.user_citations_rejected:@2026-10-21`` (the grammar stays ``check[:case]``). Every other
case runs once, under the primary version, with its id unchanged.

Not a difference: the anthropic-version header a request carries by default; sending it is what
"running under a version" means (every version's requests use the run's auth scheme, shares.py). The rules about the version header itself name the value they send (none, an
unknown one, each live version, the run's own one twice), so they come out version-independent
and run once. Pure apart from loading the contracts; knows nothing of requests on the wire
(shares.py) or of judging.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from .contract.loader import available_versions, load_contract
from .contract.model import Contract, Profile, RuleKind, ScenarioSpec
from .scenarios import Case, build_cases, scenario_specs

MARK = "@"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# What build_request reads from a contract besides the scenarios: a difference changes every request.
_BUILD_INPUTS = ("endpoints", "beta_probe", "unknown_version", "wrong_key_prefix", "wrong_key_length", "wrong_key_suffix", "profile")
# What property checks read from a contract (checks/subject.py and the checks): a difference changes every property verdict.
_CHECK_FACTS = (
    "schemas", "schema_refs", "status_types", "stop_reasons", "max_event_bytes", "twin_tolerance",
    "max_stream_silence", "count_tokens_tolerance", "models", "known_versions", "unknown_version", "profile",
)  # fmt: skip


def versioned(case_id: str, version: str) -> str:
    """The id of ``case_id`` judged under ``version``: the version suffixes the variation (an empty one too)."""
    return f"{case_id}{MARK}{version}" if ":" in case_id else f"{case_id}:{MARK}{version}"


def split(case_id: str) -> tuple[str, str | None]:
    """A case id without its version, and the version (None for a version-independent id)."""
    head, mark, version = case_id.rpartition(MARK)
    if not mark or not _DATE.fullmatch(version):
        return case_id, None
    return head.removesuffix(":"), version


def load_contracts(primary: str, profile: str, *, spec_dir: Path | str | None = None) -> dict[str, Contract]:
    """The primary version's contract first, then every other live version it lists that has a spec folder."""
    main = load_contract(primary, profile, spec_dir=spec_dir)
    folders = set(available_versions(Path(spec_dir) if spec_dir is not None else None))
    others = sorted(v for v in main.known_versions if v != primary and v in folders)
    return {primary: main, **{v: load_contract(v, profile, spec_dir=spec_dir) for v in others}}


def _differing(a: Contract, b: Contract, names: Iterable[str]) -> list[str]:
    return [name for name in names if getattr(a, name) != getattr(b, name)]


def _closure(specs: Mapping[str, ScenarioSpec], sids: Iterable[str]) -> dict[str, ScenarioSpec | None]:
    """Every scenario spec a request of ``sids`` is built from: its base chain and the scenario it continues."""
    out: dict[str, ScenarioSpec | None] = {}
    todo = list(sids)
    while todo:
        sid = todo.pop()
        if sid in out:
            continue
        spec = out[sid] = specs.get(sid)
        if spec is not None:
            todo += [s for s in (spec.base, spec.follows) if s]
    return out


def _case_difference(a: Case, b: Case, specs_a: Mapping[str, ScenarioSpec], specs_b: Mapping[str, ScenarioSpec], facts: Sequence[str]) -> str | None:
    """Why one case is judged differently under two contracts, or None when it is not."""
    if a.rule != b.rule:
        return "its rule differs"
    if a.expect != b.expect or a.level != b.level or a.skip != b.skip:
        return "its expectation differs"
    if a.note != b.note or a.source != b.source:
        return "its note or source differs"
    pins_version = a.rule.generated is not None and a.rule.generated.source == "versions"  # each case names the version it sends
    if not pins_version and (a.scenarios != b.scenarios or _closure(specs_a, a.scenarios) != _closure(specs_b, b.scenarios)):
        return "its requests differ"
    if a.rule.kind is RuleKind.PROPERTY and facts:
        return f"the contract facts its check reads differ ({', '.join(facts)})"
    return None


def dependence(contracts: Mapping[str, Contract], model: str, *, built: Mapping[str, Sequence[Case]] | None = None) -> dict[str, str]:
    """Case id → why it depends on the API version, for every case the contracts of ``contracts`` disagree about."""
    built = built or {v: build_cases(c, model) for v, c in contracts.items()}
    by_id = {v: {c.id: c for c in cases} for v, cases in built.items()}
    versions = list(contracts)
    primary = versions[0]
    out: dict[str, str] = {}
    every = {cid for cases in by_id.values() for cid in cases}
    for version in versions[1:]:
        a, b = contracts[primary], contracts[version]
        if _differing(a, b, _BUILD_INPUTS):
            return dict.fromkeys(every, f"the contracts build requests differently ({', '.join(_differing(a, b, _BUILD_INPUTS))})")
        facts = _differing(a, b, _CHECK_FACTS)
        specs_a, specs_b = scenario_specs(a, model), scenario_specs(b, model)
        for cid in sorted(every):
            having = [v for v in versions if cid in by_id[v]]
            if len(having) < len(versions):
                out.setdefault(cid, f"defined under {', '.join(having)} only")
                continue
            why = _case_difference(by_id[primary][cid], by_id[version][cid], specs_a, specs_b, facts)
            if why is not None:
                out.setdefault(cid, why)
    return out


def _merged_order(built: Mapping[str, Sequence[Case]]) -> list[str]:
    """Case ids of every version in one order: the primary's, with each other version's own cases placed after the case they follow there."""
    lists = [[c.id for c in cases] for cases in built.values()]
    order = list(lists[0])
    placed = set(order)
    for ids in lists[1:]:
        for i, cid in enumerate(ids):
            if cid in placed:
                continue
            before = next((ids[j] for j in range(i - 1, -1, -1) if ids[j] in placed), None)
            order.insert(order.index(before) + 1 if before is not None else 0, cid)
            placed.add(cid)
    return order


def _pinned(case: Case, version: str, profile: Profile, *, primary: bool) -> Case:
    """``case`` judged under ``version``; skipped when the profile does not list that version (the primary one is the user's choice)."""
    skip = case.skip
    if skip is None and not primary and version not in profile.api_versions:
        source = profile.knob_sources.get("api_versions")
        skip = f"not applicable: profile {profile.name!r} declares api_versions={list(profile.api_versions)!r}, the case needs {version!r}" + (f" ({source})" if source else "")
    return replace(case, id=versioned(case.id, version), variation=f"{case.variation}{MARK}{version}", skip=skip, api_version=version)


def run_cases(contracts: Mapping[str, Contract], model: str) -> list[Case]:
    """Every case of a run: the version-independent ones of the primary (first) contract, and each version-dependent one under every version that has it."""
    built = {v: build_cases(c, model) for v, c in contracts.items()}
    primary = next(iter(contracts))
    depends = dependence(contracts, model, built=built)
    by_id = {v: {c.id: c for c in cases} for v, cases in built.items()}
    out: list[Case] = []
    for cid in _merged_order(built):
        if cid not in depends:
            out.append(by_id[primary][cid])
            continue
        out += [_pinned(by_id[v][cid], v, contracts[v].profile, primary=v == primary) for v in sorted(contracts) if cid in by_id[v]]
    return out
