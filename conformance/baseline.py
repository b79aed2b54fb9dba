"""Known deviations a CI gate tolerates, and how a run's failures measure against them.

A baseline is a YAML file of expected MUST failures, per target and check (or case) id, each with
a reason and an optional expiry date. A failure the baseline lists does not fail the run; an
entry that now passes is *stale* (reported; fails the run under ``--strict-baseline``); an entry
past its expiry excuses nothing and fails the run, so baselines cannot rot silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ._types import JSONObject
from .errors import ConfigError
from .versions import split

FORMAT_NOTE = "# anthropic-conformance baseline: expected MUST failures, each with a reason and an optional expiry (YYYY-MM-DD).\n"
TODO = "TODO"  # how every reason --write-baseline writes begins: a placeholder, refused under --strict-baseline


@dataclass(frozen=True, slots=True)
class Entry:
    """One expected failure: a check id (every case of it) or a case id (``check:variation``, ``check:variation@version``).

    A case id without a version, written before a run judged both API versions, still names the
    case it named then: the one judged under the run's primary version.
    """

    id: str
    reason: str
    target: str | None = None
    expires: dt.date | None = None

    def covers(self, case_id: str, target_names: Iterable[str], *, api_version: str | None = None) -> bool:
        """True when this entry excuses ``case_id`` on a target known by any of ``target_names`` (a run whose primary version is ``api_version``)."""
        if self.target is not None and self.target not in set(target_names):
            return False
        if case_id == self.id or case_id.split(":", 1)[0] == self.id:
            return True
        unversioned, version = split(case_id)
        return version is not None and version == api_version and unversioned == self.id and split(self.id)[1] is None

    def expired(self, today: dt.date) -> bool:
        """Past its expiry date: it no longer excuses anything."""
        return self.expires is not None and today > self.expires


@dataclass
class Verdict:
    """How one run's results measure against a baseline."""

    excused: dict[str, Entry] = field(default_factory=dict)  # case id -> the entry that excuses it
    unexcused: list[str] = field(default_factory=list)  # MUST failures no live entry covers
    stale: list[Entry] = field(default_factory=list)  # entries whose cases ran and now pass
    expired: list[Entry] = field(default_factory=list)  # entries past their date that still match a failure

    def fails(self, *, strict: bool) -> bool:
        """Whether the run fails the gate."""
        return bool(self.unexcused or self.expired or (strict and self.stale))


def load(path: Path | str, *, strict: bool = False) -> list[Entry]:
    """Read and validate a baseline file; every problem is one ``ConfigError`` naming the entry.

    ``strict`` (``--strict-baseline``) also refuses a reason still reading TODO: a gate that
    tolerates a failure nobody explained is a gate nobody reviewed.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"baseline {path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"baseline {path}: invalid YAML ({str(exc).splitlines()[0]})") from exc
    raw = data.get("expected_failures", []) if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise ConfigError(f"baseline {path}: expected a mapping with an 'expected_failures' list")
    entries = []
    for index, item in enumerate(raw):
        where = f"baseline {path}: expected_failures[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("check"), str) or not item["check"]:
            raise ConfigError(f"{where}: needs a 'check' (a check id or check:case id)")
        if not isinstance(item.get("reason"), str) or not item["reason"].strip():
            raise ConfigError(f"{where} ({item['check']}): needs a 'reason' saying why the failure is tolerated")
        if strict and item["reason"].strip().upper().startswith(TODO):
            raise ConfigError(f"{where} ({item['check']}): the reason is still the TODO --write-baseline left; --strict-baseline needs why the failure is tolerated")
        expires = item.get("expires")
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError as exc:
                raise ConfigError(f"{where} ({item['check']}): expires must be YYYY-MM-DD, got {expires!r}") from exc
        if expires is not None and not isinstance(expires, dt.date):
            raise ConfigError(f"{where} ({item['check']}): expires must be YYYY-MM-DD")
        target = item.get("target")
        entries.append(Entry(id=item["check"], reason=item["reason"].strip(), target=str(target) if target is not None else None, expires=expires))
    return entries


def apply(
    results: Iterable[Mapping[str, object]], entries: list[Entry], *, targets: Iterable[str], today: dt.date | None = None, api_version: str | None = None
) -> Verdict:
    """Measure result records (``id``, ``outcome``, ``level``) of one target against the entries (``api_version``: the run's primary version)."""
    today = today or dt.date.today()
    names = list(targets)
    verdict = Verdict()
    relevant = [e for e in entries if e.target is None or e.target in names]
    matched: set[int] = set()
    passing_ids: dict[int, bool] = {}
    for record in results:
        case_id, outcome = str(record["id"]), record["outcome"]
        covering = [e for e in relevant if e.covers(case_id, names, api_version=api_version)]
        for entry in covering:
            key = id(entry)
            if outcome == "fail":
                matched.add(key)
            elif outcome == "pass":
                passing_ids.setdefault(key, True)
        if outcome != "fail":
            continue
        live = next((e for e in covering if not e.expired(today)), None)
        if live is not None:
            verdict.excused[case_id] = live
        else:
            verdict.unexcused.append(case_id)
            for entry in covering:
                if entry.expired(today) and entry not in verdict.expired:
                    verdict.expired.append(entry)
    verdict.stale = [e for e in relevant if id(e) not in matched and passing_ids.get(id(e))]
    return verdict


def write(path: Path | str, results: Iterable[Mapping[str, object]], *, target: str | None = None) -> int:
    """Write the run's MUST failures as a starting baseline; returns how many entries."""
    failures = [str(r["id"]) for r in results if r["outcome"] == "fail"]
    document: JSONObject = {
        "expected_failures": [
            {"check": case_id, **({"target": target} if target else {}), "reason": f"{TODO}: why this deviation is tolerated (link the vendor ticket)"}
            for case_id in failures
        ]
    }
    Path(path).write_text(FORMAT_NOTE + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return len(failures)


def written_note(path: Path | str) -> str:
    """What --write-baseline says it wrote: how many entries, and that their reasons are placeholders a strict gate refuses."""
    entries = len(load(path))
    return (
        f"wrote {entries} baseline entr{'y' if entries == 1 else 'ies'} to {path}, each with a {TODO} reason:"
        " replace it with why the deviation is tolerated (--strict-baseline refuses TODO reasons)"
    )
