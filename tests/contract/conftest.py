"""The fixture of the contract tests: a private copy of the shipped spec tree to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ._trees import SPECS


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """A private copy of the shipped spec tree."""
    root = tmp_path / "specs"
    shutil.copytree(SPECS, root)
    return root
