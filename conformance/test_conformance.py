"""The suite as pytest collects it: one test, parametrized with every case of the spec.

``pytest --pyargs conformance`` finds this module; the plugin parametrizes ``conformance_case``
from the spec files and the ``conformance_finding`` fixture supplies the verdict.
"""

from __future__ import annotations

import pytest

from conformance.findings import Finding
from conformance.plugin import report_finding


def test_check(conformance_case: str, conformance_finding: Finding, request: pytest.FixtureRequest) -> None:
    """Report the verdict the run reached for this case."""
    report_finding(conformance_finding, request)
