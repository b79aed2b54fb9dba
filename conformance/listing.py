"""``list-checks``: every check of the live versions' contracts under a profile, as a table, JSON or Markdown.

A check whose cases depend on the API version (versions.py) lists the versions it is judged
under; a check only one version defines (a rule 2026-10-21 added) is listed too. Pure text
building: cli.py prints it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from .contract.model import Rule
from .versions import load_contracts, run_cases, split


def list_checks(
    api_version: str, profile: str, *, spec_dir: Path | str | None = None, areas: Sequence[str] = (), form: str = "table", verbose: bool = False
) -> str:
    """The listing of every check, the primary version's rules first; ``verbose`` adds why each rule has its level."""
    contracts = load_contracts(api_version, profile, spec_dir=spec_dir)
    contract = contracts[api_version]
    model = contract.profile.default_model or "unknown-model"
    counts: dict[str, int] = {}
    versions: dict[str, set[str]] = {}
    for case in run_cases(contracts, model):
        counts[case.check_id] = counts.get(case.check_id, 0) + 1
        version = split(case.id)[1]
        if version is not None:
            versions.setdefault(case.check_id, set()).add(version)
    rules: dict[str, tuple[Rule, str]] = {}
    for each in contracts.values():
        for rule in each.rules.values():
            rules.setdefault(rule.id, (rule, each.url(rule.source)))
    rows = []
    for rule, source in rules.values():
        if areas and rule.area not in areas:
            continue
        change = rule.overridden_by or (f"skipped: {rule.skip}" if rule.skip else "")
        rows.append({
            "id": rule.id, "area": rule.area, "level": rule.level.value, "tier": rule.tier.value, "kind": rule.kind.value,
            "cases": counts.get(rule.id, 0), "api_versions": sorted(versions.get(rule.id, ())), "rule": rule.text, "source": source, "profile_change": change,
            "level_reason": rule.level_reason,
        })  # fmt: skip
    if form == "json":
        return json.dumps({"api_version": contract.api_version, "api_versions": list(contracts), "profile": contract.profile.name, "deviations": list(contract.profile.deviations), "checks": rows}, indent=2)
    if form == "markdown":
        lines = ["| id | level | tier | rule | source |" + (" why this level |" if verbose else ""), "|---|---|---|---|---|" + ("---|" if verbose else "")]
        for row in rows:
            text = str(row["rule"]).replace("|", "\\|") + _versions_note(row, markdown=True) + (f" *(profile: {row['profile_change']})*" if row["profile_change"] else "")
            reason = " " + str(row["level_reason"]).replace("|", "\\|") + " |" if verbose else ""
            lines.append(f"| `{row['id']}` | {row['level']} | {row['tier']} | {text} | {row['source']} |{reason}")
        return "\n".join(lines)
    also = f" (and {', '.join(list(contracts)[1:])} where the rules differ)" if len(contracts) > 1 else ""
    lines = [f"{len(rows)} checks, {sum(int(str(r['cases'])) for r in rows)} cases · API {contract.api_version}{also} · profile {contract.profile.name}"]
    for declared in contract.profile.request_headers:  # what --header or a targets file's headers may need to give
        sent = f", sent as {declared.value!r} unless given" if declared.value is not None else ""
        lines.append(f"  request header {declared.name}: {'required' if declared.required else 'optional'}{sent} ({declared.source})")
    for row in rows:
        cases = f" ({row['cases']} cases)" if row["kind"] == "generated" else ""
        lines.append(f"\n{row['id']}{cases}  [{row['level']}, {row['tier']}]\n  {row['rule']}{_versions_note(row)}\n  {row['source']}")
        if verbose and row["level_reason"]:
            lines.append(f"  {row['level']}: {row['level_reason']}")
        if row["profile_change"]:
            lines.append(f"  profile {contract.profile.name}: {row['profile_change']}")
    return "\n".join(lines)


def _versions_note(row: Mapping[str, object], *, markdown: bool = False) -> str:
    versions = row["api_versions"]
    if not isinstance(versions, list) or not versions:
        return ""
    text = f"judged under API {' and '.join(versions)} (version-dependent)"
    return f" *({text})*" if markdown else f"\n  {text}"
