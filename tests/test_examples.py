"""The files in examples/ are what users copy: they must parse and use real options."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from conformance import baseline, compare
from conformance.cli import _parser

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_workflow_runs_a_valid_command() -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["conformance"]["steps"]
    command = next(step["run"] for step in steps if str(step.get("run", "")).startswith("anthropic-conformance run"))
    args = shlex.split(command.replace('"$TIER"', "smoke"))[1:]
    parsed = _parser().parse_args(args)
    assert parsed.baseline == "known-deviations.yaml"
    assert parsed.tier == "smoke"
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)


def test_the_example_baseline_and_targets_load() -> None:
    assert len(baseline.load(EXAMPLES / "known-deviations.yaml")) == 2
    targets = compare.load_targets(EXAMPLES / "targets.toml", environ={"ANTHROPIC_API_KEY": "x", "GATEWAY_KEY": "y", "PORTKEY_API_KEY": "z"})
    assert [t.name for t in targets] == ["anthropic", "gateway", "local-reference", "portkey"]
    assert [(h.name, h.secret) for h in targets[-1].headers] == [("x-portkey-provider", False), ("x-portkey-api-key", True)]
