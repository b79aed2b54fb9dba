"""Several targets side by side: a targets file, concurrent runs, and the comparison document.

The comparison document (``comparison.json``) is the exchange format of the side-by-side view:
checks × targets, each cell an outcome with a link to its evidence, and per target what its
profile declares beside what was observed, and a score per area. ``compare`` builds it from live
runs; ``merge`` from results.json files made elsewhere (a CI matrix with one job per provider).
Nothing here renders; report/matrix.py does.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import extra_headers
from ._types import JSONObject
from ._version import __version__
from .errors import ConfigError, ConformanceError, TargetError
from .findings import REFUSED_CLEANLY
from .interrupts import Interruption
from .options import Options
from .report.diff import diff
from .runstate import RunHooks, RunState

FORMAT = "anthropic-conformance/comparison/1"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TARGET_KEYS = frozenset({"name", "base_url", "api_key", "model", "profile", "api_version", "concurrency", "tier", "headers"})

# The capabilities a profile declares, in the order the comparison shows them. Which rules show
# each one is the spec's business (a rule's ``shows``), never a list of ids here.
FEATURES = ("auth x-api-key", "auth bearer", "streaming", "tools", "thinking", "vision", "pdf", "count_tokens", "models", "prompt_caching", "effort", "context_management", "server_tools", "code_execution", "structured_outputs", "streaming_refusals")
# Where a profile declares one of these without a source of its own, the declaration is Anthropic's documentation of it.
FEATURE_DOCS: dict[str, str] = {
    "prompt_caching": "https://platform.claude.com/docs/en/build-with-claude/prompt-caching",
    "effort": "https://platform.claude.com/docs/en/build-with-claude/effort",
    "context_management": "https://platform.claude.com/docs/en/build-with-claude/context-editing",
    "server_tools": "https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool",
    "code_execution": "https://platform.claude.com/docs/en/agents-and-tools/tool-use/code-execution-tool",
    "structured_outputs": "https://platform.claude.com/docs/en/build-with-claude/structured-outputs",
    "streaming_refusals": "https://platform.claude.com/docs/en/test-and-evaluate/strengthen-guardrails/handle-streaming-refusals",
}


@dataclass(frozen=True)
class TargetSpec:
    """One target of a comparison; the key is resolved from the environment and never printed."""

    name: str
    base_url: str | None
    api_key: str | None = field(default=None, repr=False)
    model: str | None = None
    profile: str | None = None
    api_version: str = "2023-06-01"
    concurrency: int | None = None
    tier: str | None = None
    headers: tuple[extra_headers.HeaderSpec, ...] = field(default=(), repr=False)  # ${VAR} read when the run starts


def _expand(value: str, where: str, environ: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ or environ[name] == "":
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return environ[name]

    return _VAR.sub(one, value)


def _int(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ConfigError(f"{where}: must be a positive integer, got {value!r}")


def load_targets(path: Path | str, *, environ: Mapping[str, str] = os.environ) -> list[TargetSpec]:
    """Parse a targets TOML file: ``[defaults]`` and ``[[target]]`` tables, ``${VAR}`` expanded."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
    defaults = data.get("defaults", {})
    raw_targets = data.get("target", [])
    if not isinstance(raw_targets, list) or not raw_targets:
        raise ConfigError(f"{path}: needs at least one [[target]] table")
    specs: list[TargetSpec] = []
    for index, raw in enumerate(raw_targets):
        merged = {**defaults, **raw}
        where = f"{path}: target #{index + 1} ({merged.get('name', '?')})"
        unknown = set(merged) - TARGET_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)} (known: {sorted(TARGET_KEYS)})")
        name = merged.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}: needs a 'name' made of letters, digits, '.', '_' or '-'")
        values = {k: _expand(v, f"{where}, {k}", environ) if isinstance(v, str) else v for k, v in merged.items()}
        # [defaults] headers and the target's merge by name (the target's win); ${VAR} stays unread in the
        # spec, so the run knows the value is secret, but a missing variable is reported now.
        headers = extra_headers.merge(*(extra_headers.table(layer["headers"], where) for layer in (defaults, raw) if "headers" in layer))
        extra_headers.resolve(headers, environ)
        if values.get("base_url") and not values.get("api_key"):
            raise ConfigError(f"{where}: needs 'api_key', e.g. api_key = \"${{{name.upper().replace('-', '_')}_KEY}}\"")
        specs.append(
            TargetSpec(
                name=name,
                base_url=values.get("base_url") or None,
                api_key=values.get("api_key"),
                model=values.get("model"),
                profile=values.get("profile"),
                api_version=str(values.get("api_version", "2023-06-01")),
                concurrency=_int(values.get("concurrency"), f"{where}, concurrency"),
                tier=values.get("tier"),
                headers=headers,
            )
        )
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: target names must be unique (repeated: {', '.join(duplicates)})")
    return specs


@dataclass
class TargetRun:
    """The outcome of one target's run: its results document, or why it could not run."""

    spec: TargetSpec
    run_dir: Path
    document: JSONObject | None = None
    error: str | None = None


def run_targets(
    specs: Iterable[TargetSpec],
    out_dir: Path,
    *,
    template: Options | None = None,
    interruption: Interruption | None = None,
    progress: Callable[[str], Callable[[int, int], None]] | None = None,
) -> list[TargetRun]:
    """Run every target concurrently (each within its own concurrency); a dead target never stops the others.

    ``template`` holds the options every target shares (a target's own tier wins over its tier);
    ``interruption`` stops them all; ``progress`` gives each target (by name) its progress callback.
    """
    shared = template or Options()
    runs = [TargetRun(spec=s, run_dir=out_dir / s.name) for s in specs]

    def work(item: TargetRun) -> None:
        spec = item.spec
        chosen = replace(
            shared, base_url=spec.base_url, api_key=spec.api_key, model=spec.model, profile=spec.profile, api_version=spec.api_version,
            concurrency=spec.concurrency, tier=spec.tier or shared.tier, report_dir=str(out_dir), run_id=spec.name, target_name=spec.name, headers=spec.headers,
        )
        hooks = RunHooks(progress=progress(spec.name) if progress is not None else None, interruption=interruption or Interruption())
        with RunState(chosen, hooks=hooks) as state:
            try:
                item.document = state.execute(None).document
            except TargetError as exc:
                item.error = f"unusable: {exc}"
            except ConformanceError as exc:
                item.error = f"not run: {exc}"

    threads = [threading.Thread(target=work, args=(item,), name=f"compare-{item.spec.name}") for item in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs


def _declared(document: JSONObject, profiles: Mapping[str, Any]) -> dict[str, bool | None]:
    profile = profiles.get(document["run"]["profile"])
    if profile is None:
        return {}
    declared: dict[str, bool | None] = {"auth x-api-key": "x-api-key" in profile.auth_schemes, "auth bearer": "bearer" in profile.auth_schemes}
    for feature in FEATURES:
        if feature in profile.features:
            declared[feature] = profile.features[feature]
    return declared


def _declared_sources(document: JSONObject, profiles: Mapping[str, Any]) -> dict[str, str]:
    """The source behind each declared feature: the profile's own, else (for issue 13's features) Anthropic's documentation."""
    profile = profiles.get(document["run"]["profile"])
    if profile is None:
        return {}
    sources = {name: str(source) for name, source in getattr(profile, "feature_sources", {}).items() if name in FEATURES}
    for name, doc in FEATURE_DOCS.items():
        if name in profile.features and name not in sources:
            sources[name] = f"{doc} (Anthropic's documentation)"
    return sources


def _refused(records: list[JSONObject]) -> bool:
    """Every judged item of the records is a clean refusal: the target said no (legal), it did not do the feature."""
    items = [str(item) for r in records for item in r.get("judged") or ()]
    return bool(items) and all(REFUSED_CLEANLY in item for item in items)


def shown_by() -> dict[str, str]:
    """Rule id → the capability its verdicts show (the spec's ``shows``), over every API version of the packaged spec."""
    from .contract.loader import available_versions, load_contract

    return {rule.id: rule.shows for version in available_versions() for rule in load_contract(version).rules.values() if rule.shows}


def _observed(results: list[JSONObject], shows: Mapping[str, str] | None = None) -> dict[str, str]:
    observed: dict[str, str] = {}
    shows = shown_by() if shows is None else shows
    for feature in FEATURES:
        records = [r for r in results if shows.get(str(r.get("check") or r["id"].split(":", 1)[0])) == feature and r["outcome"] != "skip"]
        outcomes = [r["outcome"] for r in records]
        if not outcomes:
            observed[feature] = "not judged"
        elif "fail" in outcomes:
            observed[feature] = f"fails {outcomes.count('fail')} of {len(outcomes)}"
        elif "error" in outcomes:
            observed[feature] = "errors"
        elif _refused(records):
            observed[feature] = "refused"
        else:
            observed[feature] = "works"
    return observed


def comparison(entries: Iterable[tuple[str, JSONObject | None, str | None, str | None]], *, profiles: Mapping[str, Any] | None = None) -> JSONObject:
    """The comparison document from (name, results document or None, error, relative report path) per target."""
    targets: list[JSONObject] = []
    rows: dict[str, JSONObject] = {}
    shows = shown_by()
    for name, document, error, report in entries:
        column: JSONObject = {"name": name, "status": "ok" if document is not None else "unusable", "error": error, "report": report}
        if document is not None:
            run = document["run"]
            results = document["results"]
            column.update(
                base_url=run["target"], profile=run["profile"], model=run["model"], api_version=run["api_version"], counts=document["counts"],
                must_failures=document["must_failures"], gate_failed=document.get("gate", {}).get("failed"), spend=document["spend"], complete=document.get("complete", True), tier=run.get("tier"),
                declared=_declared(document, profiles or {}), observed=_observed(results, shows), scores=_scores(results),
                declared_sources=_declared_sources(document, profiles or {}),
            )
            for record in results:
                row = rows.setdefault(record["id"], {k: record[k] for k in ("id", "check", "case", "area", "level", "rule", "source")} | {"cells": {}})
                first = record["message"].splitlines()[0] if record["message"] else ""
                link = f"{report}#{record['id']}" if report else None
                row["cells"][name] = {"outcome": record["outcome"], "message": first, "link": link, **({"baselined": record["baselined"]} if record.get("baselined") else {})}
                broken = [{"name": c["name"], "outcome": c["outcome"], "summary": c["summary"]} for c in record.get("client_impact") or () if c.get("outcome") in ("raised", "wrong")]
                if broken:  # the official clients that break on this target's exchange (impact/), shown in the cell
                    row["cells"][name]["clients"] = broken
        targets.append(column)
    checks = sorted(rows.values(), key=lambda r: (r["area"], r["id"]))
    return {"format": FORMAT, "suite_version": __version__, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "targets": targets, "checks": checks}


def _scores(results: list[JSONObject]) -> dict[str, JSONObject]:
    scores: dict[str, JSONObject] = {}
    for record in results:
        if record["outcome"] in ("skip", "error"):
            continue
        area = scores.setdefault(record["area"], {"pass": 0, "judged": 0})
        area["judged"] += 1
        area["pass"] += record["outcome"] in ("pass", "warn")
    return scores


def load_earlier(path: str | None) -> JSONObject | None:
    """An earlier comparison.json for --against, read before any request (a bad one is a ``ConfigError``)."""
    import json

    if not path:
        return None
    try:
        previous = json.loads(Path(path).read_text(encoding="utf-8"))
        outcomes = {t: {cid: {"id": cid, "outcome": row["cells"][t]["outcome"]} for cid, row in ((r["id"], r) for r in previous["checks"]) if t in row["cells"]} for t in {c["name"] for c in previous["targets"]}}
        tiers = {str(c["name"]): c.get("tier") for c in previous["targets"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"--against {path}: not a comparison.json of this suite ({exc})") from exc
    return {"file": path, "outcomes": outcomes, "tiers": tiers}


def against(document: JSONObject, earlier: JSONObject | None) -> None:
    """Add to a comparison what changed per target since the earlier one (a change a different tier explains is not "worse")."""
    if earlier is None:
        return
    targets = {}
    for column in document["targets"]:
        name = column["name"]
        now = [{"id": row["id"], "outcome": row["cells"][name]["outcome"]} for row in document["checks"] if name in row["cells"]]
        targets[name] = diff(now, list(earlier["outcomes"].get(name, {}).values()), tiers=(column.get("tier"), earlier["tiers"].get(name)))
    document["against"] = {"file": earlier["file"], "targets": targets}
