"""Cross-file consistency the meta-schemas cannot express: every name a rule, scenario or parameter uses is defined.

A rule's source is a key of ``sources`` or a URL; the scenarios it names exist; its conditions
name known model facts and profile knobs; base chains end; a follow-up follows a scenario that is
not itself one. The first broken reference is one ``SpecError`` naming file and pointer.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import SpecError
from .model import FACT_NAMES, Contract

_KNOWN_KNOBS = frozenset({"auth_schemes", "version_header_required", "translates"})


def check_references(contract: Contract, file_of: Mapping[str, Path]) -> None:
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
            unknown = (set(cond.model) - FACT_NAMES) | (set(cond.profile) - _KNOWN_KNOBS - {k for k in cond.profile if k.startswith("features.")})
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
