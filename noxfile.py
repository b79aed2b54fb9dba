"""Developer sessions: ``nox -l`` lists them; ``nox`` runs lint, typecheck and tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2024.4"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"

ROOT = Path(__file__).parent


@nox.session
def tests(session: nox.Session) -> None:
    """The project's own tests (the same command .ci/run calls)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, the tests and this file."""
    session.install("ruff")
    session.run("ruff", "check", "conformance", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "conformance")


@nox.session
def conformance(session: nox.Session) -> None:
    """The suite against the embedded reference server, with JUnit and Allure results."""
    session.install("-e", ".")
    allure_dir = ROOT / "reports" / "allure-results"
    shutil.rmtree(allure_dir, ignore_errors=True)  # not --clean-alluredir: it races under xdist
    session.run("pytest", "--pyargs", "conformance", f"--alluredir={allure_dir}", "--junitxml=reports/junit.xml", *session.posargs)


@nox.session(python=False)
def report(session: nox.Session) -> None:
    """Optional: Allure 3 single-file HTML from the latest run's allure-results, analytics stripped.

    ``nox -s report`` (after a run) or ``nox -s report -- reports/<run-id>/allure-results``.
    """
    from conformance.report.allure import external_references, strip_analytics

    results = Path(session.posargs[0]) if session.posargs else ROOT / "reports" / "latest" / "allure-results"
    if not results.is_dir():
        session.error(f"no allure-results at {results}: run the suite first (anthropic-conformance run or nox -s conformance)")
    session.run("npm", "ci", "--no-fund", "--no-audit", external=True)
    out = results.parent / "allure-report"
    session.run("npx", "allure", "awesome", "--single-file", "--report-name", "Anthropic Messages API conformance", "-o", str(out), str(results), external=True)
    page = out / "index.html"
    cleaned, removed = strip_analytics(page.read_text(encoding="utf-8"))
    page.write_text(cleaned, encoding="utf-8")
    session.log(f"{page}: removed {removed} analytics block(s); {external_references(cleaned)} external reference(s) left")
