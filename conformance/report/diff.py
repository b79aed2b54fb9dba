"""What changed between two runs of one target: the comparison behind ``--against``.

``run --against`` compares a results.json with an earlier one, ``compare --against`` each
target's column with an earlier comparison.json; both ask ``diff``. Reading the earlier
results.json lives here too, so a bad file is refused before any request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._types import JSONObject
from ..errors import ConfigError
from ..versions import split, versioned


def previous_results(path: str) -> tuple[list[dict[str, Any]], str | None]:
    """The result records of an earlier results.json (for --against), and the tier it ran (None when it does not say)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        results = document["results"]
        version = document["run"].get("api_version")
        tier = document["run"].get("tier")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"--against {path}: not a results.json of this suite ({exc})") from exc
    # Older documents lack a record's version: each was judged under its run's one version.
    return [{"api_version": version, **r} if isinstance(r, dict) and isinstance(version, str) else r for r in results], tier if isinstance(tier, str) else None


def _same_case(record: Mapping[str, Any], now: Mapping[str, str]) -> str:
    """An earlier record's id as this run names the case: a version-dependent case recorded before ids carried the version gets the one it was judged under."""
    case_id = str(record["id"])
    version = record.get("api_version")
    if case_id in now or not isinstance(version, str) or split(case_id)[1] is not None:
        return case_id
    pinned = versioned(case_id, version)
    return pinned if pinned in now else case_id


def diff(current: Iterable[Mapping[str, Any]], previous: Iterable[Mapping[str, Any]], *, tiers: tuple[str | None, str | None] | None = None) -> JSONObject:
    """What changed between two runs of one target: better, worse, new and gone cases.

    ``tiers`` is (now, before), the tiers the two runs selected. When they differ, a case that
    went to or from ``skip`` is listed under ``tier`` instead of better or worse: a check judged
    on what the run sent (a stream long enough to time, say) may have had nothing to judge in the
    smaller tier, which says nothing about the target.
    """
    rank = {"pass": 0, "warn": 1, "skip": 2, "error": 2, "fail": 3}
    now = {str(r["id"]): str(r["outcome"]) for r in current}
    before = {_same_case(r, now): str(r["outcome"]) for r in previous}
    retiered = tiers is not None and None not in tiers and tiers[0] != tiers[1]  # an older document names no tier: unknown, not different
    better: list[JSONObject] = []
    worse: list[JSONObject] = []
    by_tier: list[JSONObject] = []
    for case_id, outcome in now.items():
        old = before.get(case_id)
        if old is None or old == outcome:
            continue
        change = {"id": case_id, "before": old, "now": outcome}
        if retiered and "skip" in (old, outcome):
            by_tier.append(change)
            continue
        (better if rank[outcome] < rank[old] else worse).append(change)
    return {
        "better": sorted(better, key=lambda c: c["id"]),
        "worse": sorted(worse, key=lambda c: c["id"]),
        "new": sorted(case_id for case_id in now if case_id not in before),
        "gone": sorted(case_id for case_id in before if case_id not in now),
        "tier": sorted(by_tier, key=lambda c: c["id"]),
        **({"tiers": {"now": tiers[0], "before": tiers[1]}} if retiered and tiers is not None else {}),
    }
