"""The suite beside other pytest plugins, in real pytest processes: pytest-base-url, pytest-playwright, pytest-html, pytest-cov.

pytest-base-url (pulled in by pytest-selenium and ``pytest-playwright[base-url]``) registers
``--base-url``, and pytest-playwright registers it itself when pytest-base-url is absent. The suite
registers it only when nobody did, and reads the value whoever owns it. The project's dev extras
install all four, so every test of this project runs beside them; the tests here start pytest and
the CLI as users do, with each possible owner of the option and in each registration order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reference import ReferenceServer

PROJECT = Path(__file__).resolve().parents[2]
# pytest's name for each plugin (its pytest11 entry point) and its module, for -p with autoloading off.
PLUGINS = {"base_url": "pytest_base_url.plugin", "playwright": "pytest_playwright.pytest_playwright", "html": "pytest_html.plugin", "pytest_cov": "pytest_cov.plugin"}
OWNERS = {
    "pytest-base-url": (),
    "pytest-playwright": ("-p", "no:base_url"),
    "the suite": ("-p", "no:base_url", "-p", "no:playwright"),
}


def _environ(**extra: str) -> dict[str, str]:
    # Nothing of this session's pytest (xdist worker ids, addopts, autoload switches) leaks into the child.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_")) and k not in ("CI", "GITHUB_STEP_SUMMARY")}
    return {**environ, **extra}


def pytest_run(*args: str, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=cwd, env=_environ(**env), capture_output=True, text=True, timeout=timeout, check=False)


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=_environ(**env), capture_output=True, text=True, timeout=300, check=False)


def _results(folder: Path) -> dict:
    return json.loads((folder / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))


def test_this_session_runs_beside_the_other_plugins(request: pytest.FixtureRequest) -> None:
    """The dev extras install them, so the project's own tests (filterwarnings = error) pass with them loaded."""
    missing = [name for name in PLUGINS if not request.config.pluginmanager.hasplugin(name)]
    assert missing == [], f"not loaded: {missing}; pip install -e '.[dev]' installs pytest-base-url, pytest-playwright, pytest-html and pytest-cov"


@pytest.mark.parametrize("blocked", list(OWNERS.values()), ids=list(OWNERS))
def test_base_url_is_registered_once_whoever_owns_it(tmp_path: Path, blocked: tuple[str, ...]) -> None:
    helped = pytest_run(*blocked, "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "conflicting option string" not in helped.stderr
    assert helped.stdout.count("--base-url") == 1
    assert ("target base URL; the suite appends /v1/messages" in " ".join(helped.stdout.split())) is (blocked == OWNERS["the suite"])  # the help of Options.base_url
    collected = pytest_run(*blocked, "--pyargs", "conformance", "--collect-only", "-q", "--base-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert " tests collected" in collected.stdout


@pytest.mark.parametrize("owner", ["pytest-base-url", "pytest-playwright"])
def test_the_other_plugins_keep_their_base_url_fixture(tmp_path: Path, owner: str) -> None:
    """Their side: a web project's tests get the URL from the ``base_url`` fixture, and the suite stays out of the way."""
    (tmp_path / "test_app.py").write_text("def test_app(base_url):\n    assert base_url == 'http://app.example'\n", encoding="utf-8")
    result = pytest_run(*OWNERS[owner], "--base-url", "http://app.example", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    "order",
    [
        ("conformance.plugin", PLUGINS["base_url"]),
        (PLUGINS["base_url"], "conformance.plugin"),
        ("conformance.plugin", PLUGINS["playwright"]),
        (PLUGINS["playwright"], "conformance.plugin"),
        ("conformance.plugin", PLUGINS["playwright"], PLUGINS["base_url"]),
    ],
    ids=lambda order: "+".join(name.split(".")[0] for name in order),
)
def test_registration_order_does_not_matter(tmp_path: Path, order: tuple[str, ...]) -> None:
    plugins = [arg for name in order for arg in ("-p", name)]
    result = pytest_run(*plugins, "--pyargs", "conformance", "--collect-only", "-q", "--base-url", "http://127.0.0.1:9", cwd=tmp_path, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " tests collected" in result.stdout


@pytest.mark.parametrize("beside", [(), ("-p", PLUGINS["base_url"])], ids=["alone", "beside-pytest-base-url"])
def test_a_conftest_may_load_the_plugin(tmp_path: Path, beside: tuple[str, ...]) -> None:
    """Registered from a conftest, after pytest loaded the initial conftests, it still gets its --base-url."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["conformance.plugin"]\n', encoding="utf-8")
    (tmp_path / "test_suite.py").write_text("from conformance.test_conformance import test_check  # noqa: F401\n", encoding="utf-8")
    result = pytest_run(*beside, "--collect-only", "-q", "--base-url", "http://127.0.0.1:9", cwd=tmp_path, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " tests collected" in result.stdout


@pytest.mark.parametrize("owner", list(OWNERS))
def test_the_suite_judges_the_base_url_whoever_parsed_it(tmp_path: Path, reference: ReferenceServer, reference_key: str, owner: str) -> None:
    """``pytest --pyargs conformance --base-url <reference>``, with pytest-html and pytest-cov at work in the same run."""
    result = pytest_run(
        *OWNERS[owner], "--pyargs", "conformance", "--base-url", reference.base_url, "--api-key", reference_key, "--tier", "smoke",
        "--html=report.html", "--self-contained-html", "--cov=conformance", "--cov-report=", cwd=tmp_path, COVERAGE_FILE=str(tmp_path / ".coverage"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout.splitlines()[-1]
    assert "failed" not in result.stdout.splitlines()[-1]
    assert f"conformance: target={reference.base_url} " in result.stdout
    assert _results(tmp_path)["run"]["target"] == reference.base_url
    assert "test_check[" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / ".coverage").is_file()
    if owner == "pytest-base-url":
        assert f"baseurl: {reference.base_url}" in result.stdout  # its own report header: the value is shared, not duplicated


def test_pytest_base_url_ini_value_is_the_target(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    (tmp_path / "pytest.ini").write_text(f"[pytest]\nbase_url = {reference.base_url}\n", encoding="utf-8")
    result = pytest_run("--pyargs", "conformance", "--api-key", reference_key, "-k", "auth.missing_key_rejected", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _results(tmp_path)["run"]["target"] == reference.base_url


def test_the_cli_runs_beside_them_and_ignores_pytest_base_url_s_environment(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    embedded = cli("run", "--tier", "smoke", cwd=tmp_path, PYTEST_BASE_URL="http://127.0.0.1:9")
    assert embedded.returncode == 0, embedded.stderr
    assert "conflicting option string" not in embedded.stderr
    assert _results(tmp_path)["run"]["embedded_reference"] is True  # not $PYTEST_BASE_URL, which pytest-base-url reads as its default
    targeted = cli("run", "--base-url", reference.base_url, "--api-key-env", "K", "--tier", "smoke", cwd=tmp_path, K=reference_key)
    assert targeted.returncode == 0, targeted.stderr
    assert _results(tmp_path)["run"]["target"] == reference.base_url


def test_pytest_cov_and_pytest_html_leave_the_project_s_own_tests_alone(tmp_path: Path) -> None:
    """The project's settings (filterwarnings = error, xfail_strict) hold with both plugins active."""
    tests = ("tests/test_redact.py", "tests/test_jsontext.py")
    plain = pytest_run(*tests, "-q", cwd=PROJECT)
    covered = pytest_run(
        *tests, "-q", f"--html={tmp_path / 'own.html'}", "--self-contained-html", "--cov=conformance", "--cov-report=", cwd=PROJECT, COVERAGE_FILE=str(tmp_path / ".coverage")
    )
    assert plain.returncode == covered.returncode == 0, plain.stdout + covered.stdout
    assert plain.stdout.splitlines()[-1].split(" in ")[0] == covered.stdout.splitlines()[-1].split(" in ")[0]
    assert (tmp_path / "own.html").is_file()
    assert (tmp_path / ".coverage").is_file()
