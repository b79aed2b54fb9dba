"""The plugin as users run it: ``pytest --pyargs conformance`` in a subprocess, via pytester."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conformance.contract.loader import default_spec_dir
from conformance.reference import ReferenceServer
from conformance.report.results import SCHEMA_PATH

SUITE = ("--pyargs", "conformance", "-p", "no:cacheprovider")


def _results(pytester: pytest.Pytester) -> dict:
    path = pytester.path / "reports" / "latest" / "results.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(document)
    return document


def test_embedded_run_passes_and_writes_valid_results(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*SUITE)
    assert result.ret == 0, result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0
    assert outcomes["passed"] >= 70
    result.stdout.fnmatch_lines(["*requests (0 retried after 429/529)*tokens*", "reports: reports*"])
    document = _results(pytester)
    assert document["run"]["embedded_reference"] is True
    assert document["must_failures"] == 0
    assert (pytester.path / "reports" / "latest" / "cassette.jsonl").is_file()


def test_xdist_sends_every_request_once(pytester: pytest.Pytester) -> None:
    single = pytester.runpytest_subprocess(*SUITE)
    requests_single = _results(pytester)["spend"]["requests"]
    parallel = pytester.runpytest_subprocess(*SUITE, "-n", "2")
    assert parallel.ret == 0, parallel.stdout.str()
    assert parallel.parseoutcomes()["passed"] == single.parseoutcomes()["passed"]
    assert _results(pytester)["spend"]["requests"] == requests_single


def test_selection_sends_only_what_the_selected_checks_need(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*SUITE, "-k", "auth.missing_key_rejected")
    assert result.parseoutcomes() == {"passed": 1, "deselected": result.parseoutcomes()["deselected"]}
    assert _results(pytester)["spend"]["requests"] == 2  # the preflight and the probe itself


def test_smoke_tier_is_cheap(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*SUITE, "--tier", "smoke")
    assert result.ret == 0, result.stdout.str()
    assert _results(pytester)["spend"]["requests"] <= 10


def test_faulty_target_fails_exactly_the_broken_check(pytester: pytest.Pytester, reference: ReferenceServer, reference_key: str) -> None:
    url = reference.base_url + "/_faults/drop-message-stop"
    result = pytester.runpytest_subprocess(*SUITE, "--base-url", url, "--api-key", reference_key)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*FAILED*test_check?stream.ends_with_message_stop?*"])
    assert result.parseoutcomes()["failed"] == 1


def test_unreachable_target_stops_with_one_line_and_exit_3(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*SUITE, "--base-url", "http://127.0.0.1:9", "--api-key", "sk-test-unreachable")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*conformance: target unreachable: POST http://127.0.0.1:9/v1/messages*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_refused_key_stops_with_exit_3(pytester: pytest.Pytester, reference: ReferenceServer) -> None:
    result = pytester.runpytest_subprocess(*SUITE, "--base-url", reference.base_url, "--api-key", "sk-ant-not-the-key-0000")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*the target refused the API key sent as x-api-key: 401 authentication_error*"])


def test_broken_spec_is_one_line_and_exit_2(pytester: pytest.Pytester, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(default_spec_dir(), specs)
    rules = specs / "messages" / "2023-06-01" / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("  auth.missing_key_rejected:\n    area: auth\n    level: MUST\n", "  auth.missing_key_rejected:\n    area: auth\n    level: OFTEN\n", 1), encoding="utf-8")
    result = pytester.runpytest_subprocess(*SUITE, "--spec-dir", str(specs))
    assert result.ret == 2
    result.stdout.fnmatch_lines([f"*conformance: {rules}#/rules/auth.missing_key_rejected/level: 'OFTEN' is not one of*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_new_parameter_in_the_spec_is_a_new_set_of_tests(pytester: pytest.Pytester, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(default_spec_dir(), specs)
    params = specs / "messages" / "2023-06-01" / "params.yaml"
    params.write_text(
        params.read_text(encoding="utf-8") + "  speed:\n    type: string\n    enum: [standard, fast]\n    source: OAS25\n",
        encoding="utf-8",
    )
    result = pytester.runpytest_subprocess(*SUITE, "--spec-dir", str(specs), "-k", "speed")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*4 passed*"])
    ids = {r["id"] for r in _results(pytester)["results"]}
    assert ids == {
        "params.valid_value_accepted:speed.enum_standard",
        "params.valid_value_accepted:speed.enum_fast",
        "params.invalid_value_rejected:speed.not_in_enum",
        "params.wrong_type_rejected:speed.wrong_type",
    }


def test_the_api_key_reaches_no_artifact(pytester: pytest.Pytester, reference: ReferenceServer, reference_key: str) -> None:
    url = reference.base_url + "/_faults/stop-reason-stop+openai-error-envelope"
    result = pytester.runpytest_subprocess(
        *SUITE, "--base-url", url, "--api-key", reference_key, "--junitxml=junit.xml", "--alluredir=allure-results", "-n", "2"
    )
    assert result.ret == 1
    written = [p for p in pytester.path.rglob("*") if p.is_file()]
    assert any(p.name == "cassette.jsonl" for p in written)
    assert any(p.parent.name == "allure-results" for p in written)
    leaks = [str(p) for p in written if reference_key.encode() in p.read_bytes()]
    assert leaks == []
    assert reference_key not in result.stdout.str() + result.stderr.str()


def test_unrelated_parametrized_tests_never_trigger_a_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_other="""
        import pytest

        @pytest.mark.parametrize("x", ["auth.missing_key_rejected", "stream.event_order"])
        def test_x(x):
            assert x
        """
    )
    for extra in ((), ("-n", "2")):
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *extra)
        assert result.ret == 0, result.stdout.str()
        assert not (pytester.path / "reports").exists()
        assert "conformance" not in result.stdout.str().split("short test summary")[-1].split("passed")[-1]
