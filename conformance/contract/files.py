"""Spec files on disk: where they are, YAML parsing, and merging a version folder with the folders it ``extends``.

A version folder holds ``<kind>.yaml`` and, for large kinds, per-area fragments in ``<kind>/*.yaml``;
a folder that ``extends`` another is merged over it key by key (a null deletes a key). A syntax
error becomes one ``SpecError`` naming the file and line. Knows nothing of what the documents mean.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .._types import JSON, JSONObject
from ..errors import SpecError

SPEC_FILES = ("contract", "params", "scenarios", "rules", "models")
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


def extends_chain(version_dir: Path) -> list[Path]:
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


def kind_files(folder: Path, kind: str) -> list[Path]:
    """``<kind>.yaml`` and, for large kinds, the per-area fragments in ``<kind>/*.yaml``."""
    files = [folder / f"{kind}.yaml"] if (folder / f"{kind}.yaml").is_file() else []
    if (folder / kind).is_dir():
        files += sorted((folder / kind).glob("*.yaml"))
    return files


def merge_chain(chain: list[Path], kind: str) -> tuple[JSONObject, list[tuple[Path, JSONObject]]]:
    merged: JSONObject = {}
    origins: list[tuple[Path, JSONObject]] = []
    for folder in chain:
        seen: dict[str, Path] = {}
        for path in kind_files(folder, kind):
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
