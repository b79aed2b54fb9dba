"""A Portkey-style target that refuses requests without two headers of its own, end to end.

The gateway (reference/gate.py in front of the reference server) answers 400 without
``x-portkey-provider`` and 401 without the right ``x-portkey-api-key``, the way a gateway with its
own routing header and key does. The suite reaches it from the CLI (``--header``), the pytest
plugin (the same option), a targets file (``headers = { … }``) and a profile that declares the
headers; the gateway key goes through ``${VAR}`` and must appear in no artifact and no output.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.reference import ReferenceServer

GATEWAY_KEY = "pk-LEAKCANARY-GATEWAY-" + secrets.token_hex(12)
HEADERS = ("--header", "x-portkey-provider: anthropic", "--header", "x-portkey-api-key: ${PORTKEY_API_KEY}")


@pytest.fixture(scope="module")
def gateway(reference_key: str) -> Iterator[ReferenceServer]:
    with ReferenceServer(reference_key, router=True, required_headers={"x-portkey-provider": "anthropic", "x-portkey-api-key": GATEWAY_KEY}) as running:
        yield running


def _environ(key: str, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_")) and k not in ("CI", "GITHUB_STEP_SUMMARY")}
    return {**environ, "K": key, "PORTKEY_API_KEY": GATEWAY_KEY, **extra}


def run(command: list[str], cwd: Path, key: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=cwd, env=_environ(key, **extra), capture_output=True, text=True, timeout=600, check=False)


def assert_no_secret_anywhere(folder: Path, result: subprocess.CompletedProcess[str], *secret: str) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, "the run wrote nothing"
    for value in secret:
        leaks = [str(p) for p in files if value.encode() in p.read_bytes()]
        assert leaks == [], f"{value[:12]}… leaked into {leaks}"
        assert value not in result.stdout + result.stderr


def cassette_requests(run_dir: Path) -> list[dict[str, str]]:
    lines = (run_dir / "cassette.jsonl").read_text(encoding="utf-8").splitlines()
    return [dict(json.loads(line)["request"]["headers"]) for line in lines]


def outcomes(run_dir: Path) -> dict[str, str]:
    return {r["id"]: r["outcome"] for r in json.loads((run_dir / "results.json").read_text(encoding="utf-8"))["results"]}


def test_the_gateway_refuses_a_run_without_its_headers(tmp_path: Path, gateway: ReferenceServer, reference_key: str) -> None:
    result = run(["conformance", "run", "--base-url", gateway.base_url, "--api-key-env", "K", "--tier", "smoke"], tmp_path, reference_key)
    assert result.returncode == 3, result.stderr
    assert "400 invalid_request_error: this gateway needs the header x-portkey-provider on every request" in result.stderr


def test_cli_full_run_with_both_headers(tmp_path: Path, gateway: ReferenceServer, reference_key: str) -> None:
    result = run(["conformance", "run", "--base-url", gateway.base_url, "--api-key-env", "K", *HEADERS], tmp_path, reference_key)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "  extra headers: x-portkey-provider: anthropic, x-portkey-api-key: [REDACTED]" in result.stderr
    assert " 0 fail · 0 warn · 0 error · " in result.stdout
    run_dir = (tmp_path / "reports" / "latest").resolve()
    judged = outcomes(run_dir)
    assert judged["auth.missing_key_rejected"] == "pass"  # the keyless probe stayed keyless: the gateway's headers are not the API key
    requests = cassette_requests(run_dir)
    assert len(requests) > 100
    assert all(h["x-portkey-provider"] == "anthropic" and h["x-portkey-api-key"] == "[REDACTED]" for h in requests)
    assert any("x-api-key" not in h and "authorization" not in h for h in requests)
    assert_no_secret_anywhere(tmp_path, result, GATEWAY_KEY, reference_key)


def test_cli_names_a_missing_variable_in_one_line_before_anything_starts(tmp_path: Path, gateway: ReferenceServer, reference_key: str) -> None:
    environ_without = {"PORTKEY_API_KEY": ""}
    result = run(["conformance", "run", "--base-url", gateway.base_url, "--api-key-env", "K", *HEADERS], tmp_path, reference_key, **environ_without)
    assert result.returncode == 2
    assert result.stderr.strip() == "anthropic-conformance: --header x-portkey-api-key: environment variable PORTKEY_API_KEY is not set"
    assert not (tmp_path / "reports").exists()


def test_pytest_plugin_run_with_both_headers_and_failures_to_show(tmp_path: Path, gateway: ReferenceServer, reference_key: str) -> None:
    """Behind the gateway a faulty server: failures carry evidence (request headers, curl lines) in every format."""
    result = run(
        ["pytest", "-p", "no:cacheprovider", "--pyargs", "conformance", "--base-url", gateway.base_url + "/_faults/stop-reason-stop+no-request-id", "--api-key-env", "K",
         *HEADERS, "--tier", "core", "-n", "2", "--junitxml=junit.xml", "--alluredir=allure-results", "--html=report.html", "--self-contained-html"],
        tmp_path, reference_key,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAILED" in result.stdout
    assert "conformance: target=" in result.stdout
    assert " headers=x-portkey-provider,x-portkey-api-key" in result.stdout
    run_dir = (tmp_path / "reports" / "latest").resolve()
    assert outcomes(run_dir)["auth.missing_key_rejected"] == "pass"
    assert all(h["x-portkey-api-key"] == "[REDACTED]" for h in cassette_requests(run_dir))
    assert any((tmp_path / "allure-results").iterdir())
    assert "x-portkey-api-key: [REDACTED]" in (run_dir / "report.html").read_text(encoding="utf-8")  # the curl line and the request shown
    assert_no_secret_anywhere(tmp_path, result, GATEWAY_KEY, reference_key)


def test_pytest_plugin_names_a_missing_variable_and_exits_2(tmp_path: Path, gateway: ReferenceServer, reference_key: str) -> None:
    result = run(["pytest", "-p", "no:cacheprovider", "--pyargs", "conformance", "--base-url", gateway.base_url, "--api-key-env", "K", *HEADERS], tmp_path, reference_key, PORTKEY_API_KEY="")
    assert result.returncode == 2
    assert "conformance: --header x-portkey-api-key: environment variable PORTKEY_API_KEY is not set" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_targets_file_with_headers(tmp_path: Path, gateway: ReferenceServer, reference_key: str) -> None:
    targets = tmp_path / "targets.toml"
    targets.write_text(
        f'[defaults]\nheaders = {{ "x-portkey-provider" = "anthropic" }}\n\n'
        f'[[target]]\nname = "portkey"\nbase_url = "{gateway.base_url}"\napi_key = "${{K}}"\nheaders = {{ "x-portkey-api-key" = "${{PORTKEY_API_KEY}}" }}\n\n'
        f'[[target]]\nname = "bare"\nbase_url = "{gateway.base_url}"\napi_key = "${{K}}"\n',
        encoding="utf-8",
    )
    result = run(["conformance", "compare", str(targets), "--tier", "smoke", "--report-dir", "out"], tmp_path, reference_key)
    comparison = json.loads(next((tmp_path / "out").glob("compare-*/comparison.json")).read_text(encoding="utf-8"))
    status = {c["name"]: (c["status"], c["error"]) for c in comparison["targets"]}
    assert status["portkey"] == ("ok", None)
    assert status["bare"][0] == "unusable"
    assert "x-portkey-api-key" in status["bare"][1]
    assert result.returncode == 3, result.stderr
    assert_no_secret_anywhere(tmp_path, result, GATEWAY_KEY, reference_key)


def test_a_profile_declares_the_headers_its_gateway_requires(tmp_path: Path, gateway: ReferenceServer, reference_key: str) -> None:
    profile = tmp_path / "portkey-like.yaml"
    profile.write_text(
        "name: portkey-like\nextends: anthropic\ndescription: A gateway that routes by header and has a key of its own.\n"
        "request_headers:\n"
        "  x-portkey-provider: {value: anthropic, source: 'https://portkey.ai/docs/api-reference/inference-api/headers'}\n"
        "  x-portkey-api-key: {required: true, note: the gateway's own key, source: 'https://portkey.ai/docs/api-reference/inference-api/headers'}\n",
        encoding="utf-8",
    )
    base = ["conformance", "run", "--base-url", gateway.base_url, "--api-key-env", "K", "--profile", str(profile), "--tier", "smoke"]
    refused = run(base, tmp_path, reference_key)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith(
        "profile portkey-like needs the header x-portkey-api-key on every request (https://portkey.ai/docs/api-reference/inference-api/headers): pass --header 'x-portkey-api-key: …' (or headers in a targets file)"
    )
    result = run([*base, "--header", "x-portkey-api-key: ${PORTKEY_API_KEY}"], tmp_path, reference_key)
    assert result.returncode == 0, result.stderr
    assert "  extra headers: x-portkey-provider: anthropic, x-portkey-api-key: [REDACTED]" in result.stderr
    assert_no_secret_anywhere(tmp_path, result, GATEWAY_KEY, reference_key)
