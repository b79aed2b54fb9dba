"""JSON Schemas: the meta-schemas every spec file must satisfy (``specs/_schema/``), and the contract's own response schemas.

A spec file that breaks its meta-schema is one ``SpecError`` blamed on the file of the chain that
holds the offending key; a response schema that is not valid JSON Schema, or whose ``$ref`` does not
resolve, is one ``SpecError`` naming the schema file and pointer. Checks validate answers against
the registry built here (``checks/subject.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from .._types import JSON, JSONObject
from ..errors import SpecError


class MetaSchemas:
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


def load_schemas(chain: list[Path], refs: Mapping[str, str], contract_file: Path) -> tuple[dict[str, JSONObject], Registry[Any]]:
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
