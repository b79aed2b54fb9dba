"""Spec files → a validated ``Contract``: the one entry point, cached while the files are unchanged.

One module per job: ``files.py`` finds, parses and merges files along ``extends``; ``schemas.py``
holds the meta-schemas and the contract's response schemas; ``build.py`` turns documents into model
values; ``profiles.py`` loads a profile and applies it; ``references.py`` checks cross-file names.
This module runs them in order. A broken file becomes one ``SpecError`` naming the file and the
JSON pointer inside it. Must not know about HTTP, pytest or checks.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from .._types import JSONObject
from ..errors import SpecError
from .build import param_of, rule_of, scenarios_of, tolerance_of
from .files import (
    SPEC_FILES,
    available_profiles,
    available_versions,
    deep_merge,
    default_spec_dir,
    extends_chain,
    kind_files,
    merge_chain,
    read_yaml,
    rule_areas,
)
from .model import Contract, ModelEntry
from .profiles import (
    apply_rule_overrides,
    load_profile,
    mark_knob_changes,
    param_overlay,
    profile_facts,
    profile_of,
    unknown_profile,
)
from .references import check_references
from .schemas import MetaSchemas, load_schemas

__all__ = [
    "available_profiles",
    "available_versions",
    "deep_merge",
    "default_spec_dir",
    "load_contract",
    "read_yaml",
    "rule_areas",
    "unknown_profile",
]


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
    validators = MetaSchemas(root / "_schema")
    chain = extends_chain(version_dir)
    docs: dict[str, JSONObject] = {}
    for kind in SPEC_FILES:
        merged, origins = merge_chain(chain, kind)
        validators.validate(kind, merged, origins)
        docs[kind] = merged
    profile_doc, profile_file = load_profile(root, profile, validators)
    return _build(root, chain, docs, profile_doc, profile_file)


def _build(root: Path, chain: list[Path], docs: Mapping[str, JSONObject], profile_doc: JSONObject, profile_file: Path) -> Contract:
    c = docs["contract"]
    file_of = {kind: chain[-1] / f"{kind}.yaml" for kind in SPEC_FILES}
    for kind in SPEC_FILES:
        for folder in reversed(chain):
            files = kind_files(folder, kind)
            if files:
                file_of[kind] = files[0]
                break
    param_docs = deep_merge(docs["params"]["params"], param_overlay(docs["params"]["params"], profile_doc.get("params", {})))
    params = {name: param_of(name, raw) for name, raw in param_docs.items()}
    rules = {rid: rule_of(rid, raw) for rid, raw in docs["rules"]["rules"].items()}
    apply_rule_overrides(rules, profile_doc.get("rules", {}), profile_file, profile_doc["name"], root)
    scenarios = scenarios_of(docs["scenarios"]["scenarios"])
    profile = profile_of(profile_doc)
    mark_knob_changes(rules, profile)
    model_entries = [*profile_facts(profile_doc, docs["models"]["models"]), *docs["models"]["models"]]
    refs = dict(c["schemas"])
    schemas, registry = load_schemas(chain, refs, file_of["contract"])
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
        count_tokens_tolerance=tolerance_of(c["usage"].get("count_tokens_tolerance")),
    )
    check_references(contract, file_of)
    return contract
