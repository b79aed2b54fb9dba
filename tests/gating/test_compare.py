"""Targets files, comparison documents and run-to-run diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import compare
from conformance.errors import ConfigError
from conformance.report.diff import diff


def targets(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_targets_expand_variables_and_take_defaults(tmp_path: Path) -> None:
    path = targets(tmp_path, '[defaults]\nprofile = "generic-gateway"\nconcurrency = 2\n\n[[target]]\nname = "gw"\nbase_url = "https://gw.example"\napi_key = "${GW_KEY}"\nmodel = "m"\n\n[[target]]\nname = "local"\n')
    gw, local = compare.load_targets(path, environ={"GW_KEY": "secret-value"})
    assert (gw.name, gw.base_url, gw.api_key, gw.profile, gw.concurrency, gw.model) == ("gw", "https://gw.example", "secret-value", "generic-gateway", 2, "m")
    assert (local.base_url, local.api_key) == (None, None)
    assert "secret-value" not in repr(gw)


def test_a_missing_variable_is_named(tmp_path: Path) -> None:
    path = targets(tmp_path, '[[target]]\nname = "gw"\nbase_url = "https://gw.example"\napi_key = "${GW_KEY}"\n')
    with pytest.raises(ConfigError, match=r"target #1 \(gw\), api_key: environment variable GW_KEY is not set"):
        compare.load_targets(path, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[target]]\nname = "a b"\n', "needs a 'name'"),
        ('[[target]]\nname = "a"\n[[target]]\nname = "a"\n', "repeated: a"),
        ('[[target]]\nname = "a"\nurl = "x"\n', "unknown key(s) ['url']"),
        ('[[target]]\nname = "a"\nbase_url = "https://x"\n', "needs 'api_key'"),
        ('[[target]]\nname = "a"\nconcurrency = "many"\n', "concurrency: must be a positive integer"),
        ("nothing = 1\n", "needs at least one [[target]] table"),
        ("[[target]\n", "invalid TOML"),
    ],
)
def test_broken_targets_files_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        compare.load_targets(targets(tmp_path, text), environ={})
    assert message in str(error.value)


def test_diff_reports_better_worse_new_and_gone() -> None:
    now = [{"id": "a.x", "outcome": "pass"}, {"id": "a.y", "outcome": "fail"}, {"id": "a.z", "outcome": "pass"}]
    before = [{"id": "a.x", "outcome": "fail"}, {"id": "a.y", "outcome": "pass"}, {"id": "a.w", "outcome": "pass"}]
    assert diff(now, before) == {
        "better": [{"id": "a.x", "before": "fail", "now": "pass"}],
        "worse": [{"id": "a.y", "before": "pass", "now": "fail"}],
        "new": ["a.z"],
        "gone": ["a.w"],
        "tier": [],
    }


def test_a_skip_a_different_tier_explains_is_not_worse() -> None:
    now = [{"id": "recovery.stream_not_buffered", "outcome": "skip"}, {"id": "a.y", "outcome": "fail"}]
    before = [{"id": "recovery.stream_not_buffered", "outcome": "pass"}, {"id": "a.y", "outcome": "pass"}]
    changed = diff(now, before, tiers=("core", "full"))
    assert changed["worse"] == [{"id": "a.y", "before": "pass", "now": "fail"}]
    assert changed["tier"] == [{"id": "recovery.stream_not_buffered", "before": "pass", "now": "skip"}]
    assert changed["tiers"] == {"now": "core", "before": "full"}
    same = diff(now, before, tiers=("core", "core"))  # same tier: the skip is the target's doing
    assert {c["id"] for c in same["worse"]} == {"a.y", "recovery.stream_not_buffered"}
    unknown = diff(now, before, tiers=("core", None))  # an older document that names no tier: not known to differ
    assert len(unknown["worse"]) == 2


def test_comparison_document_has_cells_links_and_unusable_columns() -> None:
    document = {
        "run": {"target": "https://a", "profile": "anthropic", "model": "m", "api_version": "2023-06-01"},
        "counts": {"pass": 1, "fail": 1, "warn": 0, "skip": 0, "error": 0},
        "must_failures": 1,
        "gate": {"failed": True, "reasons": []},
        "spend": {"requests": 2},
        "results": [
            {"id": "stream.event_order", "check": "stream.event_order", "case": "", "area": "stream", "level": "MUST", "rule": "r", "source": "s", "outcome": "fail", "message": "Received: x\nExpected: y"},
            {"id": "auth.bearer_accepted", "check": "auth.bearer_accepted", "case": "", "area": "auth", "level": "MUST", "rule": "r", "source": "s", "outcome": "pass", "message": ""},
        ],
    }
    doc = compare.comparison([("a", document, None, "a/report.html"), ("dead", None, "unusable: connection refused", None)])
    assert [t["status"] for t in doc["targets"]] == ["ok", "unusable"]
    assert doc["targets"][1]["error"] == "unusable: connection refused"
    row = next(r for r in doc["checks"] if r["id"] == "stream.event_order")
    assert row["cells"] == {"a": {"outcome": "fail", "message": "Received: x", "link": "a/report.html#stream.event_order"}}
    assert doc["targets"][0]["scores"]["stream"] == {"pass": 0, "judged": 1}
    assert doc["targets"][0]["observed"]["auth bearer"] == "works"


def test_targets_take_headers_from_defaults_and_their_own_table(tmp_path: Path) -> None:
    path = targets(
        tmp_path,
        '[defaults]\nheaders = { "x-portkey-provider" = "anthropic", "x-team" = "qa" }\n\n'
        '[[target]]\nname = "pk"\nbase_url = "https://gw.example"\napi_key = "${GW_KEY}"\nheaders = { "X-Portkey-Provider" = "openai", "x-portkey-api-key" = "${PK}" }\n\n'
        '[[target]]\nname = "plain"\n',
    )
    pk, plain = compare.load_targets(path, environ={"GW_KEY": "k" * 20, "PK": "pk-secret-value-0123"})
    assert [(h.name, h.template) for h in pk.headers] == [("x-team", "qa"), ("X-Portkey-Provider", "openai"), ("x-portkey-api-key", "${PK}")]
    assert [h.name for h in plain.headers] == ["x-portkey-provider", "x-team"]
    assert "pk-secret-value-0123" not in repr(pk)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('headers = { "x-portkey-api-key" = "${PK}" }', r"target #1 \(pk\), headers.x-portkey-api-key: environment variable PK is not set$"),
        ('headers = { "x-api-key" = "abc" }', r"headers.x-api-key: the suite sets this header itself"),
        ('headers = "x-a: 1"', r"target #1 \(pk\): 'headers' must be a table"),
    ],
)
def test_broken_target_headers_are_one_clear_error(tmp_path: Path, table: str, message: str) -> None:
    path = targets(tmp_path, f'[[target]]\nname = "pk"\n{table}\n')
    with pytest.raises(ConfigError, match=message):
        compare.load_targets(path, environ={})
def _feature_results(judged: list[str], outcome: str = "pass") -> list[dict]:
    return [{"id": "caching.prefix_cached", "check": "caching.prefix_cached", "case": "", "area": "caching", "level": "MUST", "rule": "r", "source": "s",
             "outcome": outcome, "message": "", "judged": judged}]


def test_issue_13_features_are_observed_as_works_refused_or_failing() -> None:
    """A clean refusal passes its rule (a legal "no"), but the feature is then observed as refused, not as working."""
    works = compare._observed(_feature_results(["caching.prefix: cache_creation_input_tokens 4195, cache_read_input_tokens 0"]))
    refused = compare._observed(_feature_results(["caching.prefix: refused cleanly: 400 invalid_request_error naming cache_control: \"...\""]))
    failing = compare._observed(_feature_results(["caching.prefix: cache_creation_input_tokens 0"], outcome="fail"))
    assert (works["prompt_caching"], refused["prompt_caching"], failing["prompt_caching"]) == ("works", "refused", "fails 1 of 1")
    assert works["effort"] == works["context_management"] == "not judged"


def test_declared_features_carry_their_source() -> None:
    from conformance.contract.loader import load_contract

    profiles = {name: load_contract("2023-06-01", name).profile for name in ("anthropic", "vllm")}
    run = {"run": {"profile": "vllm"}}
    sources = compare._declared_sources(run, profiles)
    assert sources["prompt_caching"].startswith("https://github.com/vllm-project/vllm/blob/main/vllm/entrypoints/anthropic/protocol.py")
    assert compare._declared(run, profiles)["prompt_caching"] is False
    inherited = compare._declared_sources({"run": {"profile": "anthropic"}}, profiles)
    assert inherited["effort"] == "https://platform.claude.com/docs/en/build-with-claude/effort (Anthropic's documentation)"


def test_every_capability_the_comparison_shows_is_shown_by_some_rule_of_the_spec() -> None:
    assert set(compare.shown_by().values()) == set(compare.FEATURES)
