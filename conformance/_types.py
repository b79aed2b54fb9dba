"""Type aliases shared by every layer; no logic lives here."""

from __future__ import annotations

from typing import Any, TypeAlias

JSON: TypeAlias = Any
"""A decoded JSON value. ``Any`` is confined to this alias on purpose."""

JSONObject: TypeAlias = dict[str, Any]
"""A decoded JSON object."""

RawHeaders: TypeAlias = tuple[tuple[str, str], ...]
"""Headers as received, in order, names lower-cased, duplicates kept."""
