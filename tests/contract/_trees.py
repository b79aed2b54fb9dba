"""Broken spec trees: a private copy of specs/ with one edit, and the one SpecError it must give."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.contract.loader import load_contract
from conformance.errors import SpecError

SPECS = Path(__file__).resolve().parents[2] / "specs"
V2023, V2026 = "2023-06-01", "2026-10-21"


def edit(path: Path, old: str, new: str) -> Path:
    """Replace the first ``old`` in ``path`` (which must be there) by ``new``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def spec_error(root: Path, version: str = V2023, profile: str = "anthropic") -> SpecError:
    """The one SpecError loading ``root`` gives."""
    with pytest.raises(SpecError) as caught:
        load_contract(version, profile, spec_dir=root)
    return caught.value
