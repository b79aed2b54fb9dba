"""Every rule states why it has its level (issue 9): the spec's level_reason reaches the model, the profile and list-checks.

A MUST names the client that breaks ("Client: …", with its file and line) or the documentation that
leaves no room ("Contract: …"); a SHOULD names the room ("Room: …") or the uncertainty ("Uncertain: …").
"""

from __future__ import annotations

import json
import re

import pytest

from conformance.cli import main
from conformance.contract.loader import available_profiles, available_versions, load_contract
from conformance.findings import Level

KINDS = {Level.MUST: ("Client: ", "Contract: "), Level.SHOULD: ("Room", "Uncertain: ")}


@pytest.mark.parametrize("version", available_versions())
def test_every_rule_states_why_it_has_its_level(version: str) -> None:
    rules = load_contract(version, "anthropic").rules.values()
    assert [r.id for r in rules if not r.level_reason] == []
    wrong = [f"{r.id}: {r.level.value} {r.level_reason[:40]!r}" for r in rules if not r.level_reason.startswith(KINDS[r.level])]
    assert wrong == [], "a MUST's reason is a client or the contract, a SHOULD's the room or the uncertainty"


@pytest.mark.parametrize("version", available_versions())
def test_a_client_reason_cites_where_the_client_breaks(version: str) -> None:
    """A 'Client:' reason points at the code (a file:line) or at a public report of the client failing."""
    cited = re.compile(r"\.(py|ts):\d+|https://|peers\.md|capture \d+")
    vague = [r.id for r in load_contract(version, "anthropic").rules.values() if r.level_reason.startswith("Client: ") and not cited.search(r.level_reason)]
    assert vague == []


@pytest.mark.parametrize("profile", available_profiles())
def test_a_profile_that_changes_a_level_says_why(profile: str) -> None:
    base = load_contract("2023-06-01", "anthropic").rules
    for rule in load_contract("2023-06-01", profile).rules.values():
        if rule.level is not base[rule.id].level:
            assert rule.level_reason.startswith(f"profile {profile!r}: Client: "), rule.id


def test_list_checks_prints_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-checks", "--area", "count_tokens", "-v"]) == 0
    out = capsys.readouterr().out
    assert "  MUST: Client: the TS SDK's beta countTokens posts to /v1/messages/count_tokens?beta=true" in out
    assert main(["list-checks", "--area", "count_tokens"]) == 0
    assert "MUST: Client:" not in capsys.readouterr().out  # only with -v
    assert main(["list-checks", "--area", "count_tokens", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["checks"]
    assert all(row["level_reason"] for row in rows)
    assert main(["list-checks", "--area", "count_tokens", "--format", "markdown", "-v"]) == 0
    header, separator, row, *_ = capsys.readouterr().out.splitlines()
    assert header.endswith("| why this level |")
    assert row.count("|") == separator.count("|") == header.count("|")
