"""pytest glue, and nothing else: options, parametrization from the spec, outcomes, xdist.

Registered through the ``pytest11`` entry point, so ``pytest --pyargs conformance --base-url …``
works from any directory. The options are generated from ``options.Options``; the run itself is
a ``runstate.RunState`` (a driver such as the CLI registers its ``RunHooks`` as a plugin to hear
progress and why a run stopped). Every decision about what to send and how to judge lives below
this module; here a ``Finding`` only becomes a pytest outcome:
pass → passed, fail → failed, warn → passed and reported as "warned", skip → skipped,
error (infrastructure) → an error in setup.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from . import options
from .budget import Estimate
from .errors import ConformanceError, SpecError, TargetError
from .findings import Finding, Outcome
from .options import TIERS
from .publish import untestable
from .report import allure as allure_report
from .report import casefile
from .report.casefile import RunEvidence
from .runstate import RunHooks, RunState, check

RUN_KEY = pytest.StashKey[RunState]()
CASE_ARG = "conformance_case"
EXIT_SPEC_ERROR = 2
EXIT_TARGET_UNUSABLE = 3


class InfrastructureError(Exception):
    """The exchange behind a case got no usable answer: the suite could not judge it."""


# --------------------------------------------------------------------------- options


BASE_URL_OPTION = "--base-url"
GROUP = "conformance"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """The conformance option group, generated from ``Options``; ``--base-url`` only once every other plugin had the chance to own it."""
    group = parser.getgroup(GROUP, "Anthropic Messages API conformance")
    if _initial_conftests_loaded(pluginmanager):  # registered from a conftest: the hook below has already run
        _claim_base_url(parser)
    for flag, kwargs in options.pytest_options():
        if flag != BASE_URL_OPTION:
            group.addoption(flag, **kwargs)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(parser: pytest.Parser) -> Generator[None, object, object]:
    """Register ``--base-url`` after every other plugin did what it does with it.

    pytest-base-url (pulled in by pytest-selenium and ``pytest-playwright[base-url]``) registers the same
    option, and pytest-playwright registers it here, after this yield, when pytest-base-url is absent.
    Two registrations are an argparse conflict that kills every pytest run of the environment, so the
    suite registers it only when nobody else did; whoever owns it, the value lands in ``base_url``. As
    the outermost wrapper (tryfirst) this code runs after the other plugins' code after their yield.
    """
    result = yield
    _claim_base_url(parser)
    return result


def _initial_conftests_loaded(pluginmanager: pytest.PytestPluginManager) -> bool:
    # pytest sets this attribute when it loads the initial conftests (8.x and 9.x); a plugin that
    # registers after that missed pytest_load_initial_conftests and must register its options at once.
    return hasattr(pluginmanager, "_using_pyargs")


def _option_names(parser: pytest.Parser) -> set[str]:
    """Every option string registered so far, in any group (pytest keeps no public index of them)."""
    groups = [*getattr(parser, "_groups", ()), getattr(parser, "_anonymous", None)]
    return {name for group in groups if group is not None for option in group.options for name in option.names()}


def _claim_base_url(parser: pytest.Parser) -> None:
    """Register ``--base-url`` unless another plugin (pytest-base-url, pytest-playwright) owns it."""
    if BASE_URL_OPTION in _option_names(parser):
        return
    # pytest 9 raises argparse's error at once, pytest 8 a ValueError for a clash inside the group.
    with contextlib.suppress(ValueError, argparse.ArgumentError):
        parser.getgroup(GROUP).addoption(BASE_URL_OPTION, **dict(options.pytest_options())[BASE_URL_OPTION])


def _base_url(config: pytest.Config) -> str | None:
    """The target: ``--base-url`` whoever registered it, else pytest-base-url's ``base_url`` ini value (as that plugin reads it)."""
    value = config.getoption("base_url", None)
    if value is None:
        try:
            value = config.getini("base_url")  # registered by pytest-base-url or pytest-playwright, not by this suite
        except ValueError:
            return None
    return str(value) if value else None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """Create the run state from the options (and a driver's ``RunHooks``); workers learn the run folder from the controller."""
    for tier in TIERS:
        config.addinivalue_line("markers", f"{tier}: conformance checks in the {tier} tier (tiers include the ones before them)")
    config.addinivalue_line("markers", "must: conformance checks of MUST rules (a violation fails)")
    config.addinivalue_line("markers", "should: conformance checks of SHOULD rules (a violation warns)")
    _register_areas(config)
    run_dir = None
    if _is_worker(config):
        run_dir_value = config.workerinput.get("conformance_run_dir")  # type: ignore[attr-defined]
        run_dir = Path(run_dir_value) if run_dir_value else None
    chosen = options.from_pytest(config.getoption, _base_url(config))
    config.stash[RUN_KEY] = RunState(chosen, run_dir=run_dir, hooks=_hooks(config))
    try:
        check(chosen)
    except ConformanceError as exc:
        raise pytest.UsageError(f"conformance: {exc}") from exc
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "conformance-xdist")


def _hooks(config: pytest.Config) -> RunHooks:
    """The hooks a driver registered as a plugin (the CLI does), else the terminal's plan line."""
    hooks = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, RunHooks)), RunHooks())
    return hooks if hooks.on_plan is not None else replace(hooks, on_plan=lambda plan: _write_plan(config, plan))


def _write_plan(config: pytest.Config, plan: Estimate) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"conformance: {plan.describe()}")


def _register_areas(config: pytest.Config) -> None:
    """One marker per rule area, so ``pytest --markers`` lists them and ``-m stream`` passes ``--strict-markers``."""
    from .contract.loader import rule_areas

    spec_dir = config.getoption("conformance_spec_dir", None)
    try:
        areas = rule_areas(Path(spec_dir) if spec_dir else None)
    except ConformanceError:  # a broken spec is reported, in one line, when the run loads it
        return
    for area in areas:
        config.addinivalue_line("markers", f"{area}: conformance checks of the {area} area")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the embedded server."""
    state = config.stash.get(RUN_KEY, None)
    if state is not None:
        state.close()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Make the run reproducible from its log: target, profile, version, model."""
    o = config.stash[RUN_KEY].options
    target = "embedded reference server" if o.embedded else o.base_url
    extra = f" headers={','.join(text.partition(':')[0].strip() for text in o.header_args)}" if o.header_args else ""
    return [f"conformance: target={target} profile={o.profile_name} api-version={o.api_version} model={o.model or '(profile default)'}{extra}"]


# ----------------------------------------------------------------- parametrization


def _state(config: pytest.Config) -> RunState:
    return config.stash[RUN_KEY]


def _exit_on(exc: ConformanceError) -> None:
    code = EXIT_TARGET_UNUSABLE if isinstance(exc, TargetError) else EXIT_SPEC_ERROR
    pytest.exit(f"conformance: {exc}", returncode=code)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per case of the contract: rules, and every generated boundary of them."""
    if CASE_ARG not in metafunc.fixturenames:
        return
    state = _state(metafunc.config)
    try:
        cases = state.cases
        tier = state.tier
    except ConformanceError as exc:
        # Exiting here would show as a collection error with a traceback; collection_finish
        # exits instead, with the one-line message.
        state.stop(exc)
        metafunc.parametrize(CASE_ARG, [pytest.param("spec-error", id="spec-error", marks=pytest.mark.skip(reason=str(exc)))])
        return
    params = []
    for case in cases:
        marks: list[Any] = [getattr(pytest.mark, t) for t in TIERS[TIERS.index(case.rule.tier.value) :]]
        marks.append(getattr(pytest.mark, case.level.value.lower()))
        metafunc.config.addinivalue_line("markers", f"{case.rule.area}: conformance checks of the {case.rule.area} area")
        marks.append(getattr(pytest.mark, case.rule.area))
        if tier is not None and case.rule.tier.rank > tier.rank:
            continue
        params.append(pytest.param(case.id, id=case.id, marks=marks))
    metafunc.parametrize(CASE_ARG, params)


def _case_id(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get(CASE_ARG) if callspec is not None else None
    return value if isinstance(value, str) else None


SUITE_TEST = "test_conformance.py::test_check["


def _case_from_nodeid(nodeid: str) -> str | None:
    """The case id of one of the suite's own items (xdist reports node ids, not items)."""
    if SUITE_TEST not in nodeid or not nodeid.endswith("]"):
        return None
    return nodeid[nodeid.index(SUITE_TEST) + len(SUITE_TEST) : -1]


def _execute(config: pytest.Config, case_ids: list[str]) -> None:
    state = _state(config)
    if state.error is None and case_ids:
        try:
            _ = state.cases
        except ConformanceError as exc:
            state.stop(exc)
    if state.error is not None:
        _exit_on(state.error)
    if not case_ids or config.option.collectonly:
        return
    try:
        with state.hooks.interruption.installed():  # SIGINT/SIGTERM stop the sending; what arrived is judged
            state.execute(case_ids)
    except ConformanceError as exc:  # a TargetError is told to xdist workers and the CLI too
        state.stop(exc)
        _exit_on(exc)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Without xdist: plan, send and judge every selected case before the first test runs."""
    config = session.config
    if _is_worker(config) or _xdist_active(config):
        return
    _execute(config, [cid for item in session.items if (cid := _case_id(item)) is not None])


def _xdist_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and config.pluginmanager.hasplugin("dsession")


class _XdistHooks:
    """With xdist, the controller sends every request once; workers only report verdicts."""

    def pytest_configure_node(self, node: Any) -> None:
        state = _state(node.config)
        node.workerinput["conformance_run_dir"] = str(state.run_dir)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        state = _state(node.config)
        if state.result is not None or state.fatal is not None:
            return
        _execute(node.config, [cid for nodeid in ids if (cid := _case_from_nodeid(nodeid)) is not None])


# ------------------------------------------------------------------------ outcomes


@pytest.fixture
def conformance_finding(request: pytest.FixtureRequest, conformance_case: str) -> Finding:
    """The verdict of this case; an infrastructure error becomes a pytest error in setup."""
    state = _state(request.config)
    finding = state.verdict(conformance_case)
    if finding is None:
        reason = state.fatal or "the case was not executed (was the run interrupted?)"
        raise InfrastructureError(reason)
    request.node.user_properties.extend(
        [("conformance_check", finding.check_id), ("conformance_outcome", finding.outcome.value), ("conformance_level", finding.level.value)]
    )
    if finding.outcome is Outcome.ERROR:
        raise InfrastructureError(finding.message)
    return finding


def report_finding(finding: Finding, request: pytest.FixtureRequest | None = None) -> None:
    """Turn a verdict into the pytest outcome of the running test; a failure names its rule and source."""
    state = _state(request.config) if request is not None else None
    if finding.outcome is Outcome.SKIP:
        pytest.skip(finding.message)
    if finding.outcome is Outcome.FAIL and state is not None and finding.case_id in state.verdicts.excused:
        pytest.xfail(f"baselined: {state.verdicts.excused[finding.case_id]}")
    if finding.outcome is Outcome.PASS and state is not None and finding.case_id in state.verdicts.stale:
        if state.options.strict_baseline:
            pytest.fail(f"{finding.case_id}: stale baseline entry, the check passes now; remove it from {state.options.baseline}", pytrace=False)
        if request is not None:
            request.node.user_properties.append(("conformance_stale", "1"))
    if finding.outcome is Outcome.FAIL:
        text = _failure_text(request.config, finding.case_id) if request is not None else None
        if text is None:
            header = f"{finding.case_id} [{finding.level.value}]"
            case = _state(request.config).case(finding.case_id) if request is not None else None
            if case is not None:
                header += f" {case.rule.text}\nSource: {case.source}"
            text = f"{header}\n{finding.message}"
        pytest.fail(text, pytrace=False)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """A broken SHOULD passes but is counted and shown as "warned"."""
    if report.when == "call" and report.passed and ("conformance_outcome", "warn") in report.user_properties:
        return "warned", "W", ("WARN", {"yellow": True})
    if report.when == "call" and report.passed and ("conformance_stale", "1") in report.user_properties:
        return "stale", "S", ("STALE BASELINE", {"yellow": True})
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Show a warned case's message in the report sections, like a failure's; give a failure a one-line message."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when == "call" and report.failed:
        _shorten(item, report)
    if report.when == "call" and ("conformance_outcome", "warn") in item.user_properties:
        case_id = _case_id(item)
        finding = _state(item.config).verdict(case_id) if case_id else None
        if finding is not None:
            report.sections.append(("conformance warning", finding.message))


# ------------------------------------------------------------------------ evidence
# JUnit and Allure show what report.html shows: the same results.json record and recorded
# exchanges (redacted by the transport), read from the run folder once per process.

EVIDENCE_KEY = pytest.StashKey[RunEvidence]()


def _evidence(config: pytest.Config) -> RunEvidence:
    evidence = config.stash.get(EVIDENCE_KEY, None)
    if evidence is None:
        state = _state(config)
        evidence = RunEvidence(state.run_dir, exchanges=state.result.exchanges if state.result is not None else None)
        config.stash[EVIDENCE_KEY] = evidence
    return evidence


def _failure_text(config: pytest.Config, case_id: str) -> str | None:
    """The rule once, each distinct violation once with the exchanges that show it, one line per exchange shown, where report.html is."""
    evidence = _evidence(config)
    record, exchanges = evidence.evidence_of(case_id)
    if record is None:
        return None
    return casefile.failure_text(record, exchanges, report=f"{evidence.run_dir / 'report.html'}#{case_id}")


def _shorten(item: pytest.Item, report: pytest.TestReport) -> None:
    """JUnit's failure message (and the terminal's short summary) is one line; the text below it keeps the detail, once."""
    case_id = _case_id(item)
    record = _evidence(item.config).record(case_id) if case_id is not None else None
    crash: Any = getattr(report.longrepr, "reprcrash", None)
    if record is not None and record.get("outcome") == "fail" and crash is not None and isinstance(getattr(crash, "message", None), str):
        crash.message = casefile.headline(record)


def _allure_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "allure_report_dir", None)) and config.pluginmanager.hasplugin("allure_pytest")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """With --alluredir: the case's title, labels, source link, description and evidence attachments.

    Teardown runs for every outcome (an error in setup too) and after allure-pytest has set the
    result's name and description from the test function, so these replace them.
    """
    case_id = _case_id(item)
    if case_id is None or not _allure_active(item.config):
        return
    evidence = _evidence(item.config)
    record, exchanges = evidence.evidence_of(case_id)
    if record is None:
        record = _unjudged(item.config, case_id)
    try:
        case = allure_report.allure_case(record, evidence.document.get("run") or _run_of(item.config), exchanges, reader=evidence.reading)
    except Exception as exc:  # a report that cannot be built must not turn a verdict into an error: say so instead
        item.warn(pytest.PytestWarning(f"conformance: no Allure evidence for {case_id}: {type(exc).__name__}: {exc}"))
        return
    allure_report.apply(case)


def _unjudged(config: pytest.Config, case_id: str) -> dict[str, Any]:
    """A stand-in record for a case the run never judged (it stopped first): what the spec says about it."""
    case = _state(config).case(case_id)
    check = case.rule.id if case is not None else case_id.split(":", 1)[0]
    record: dict[str, Any] = {"id": case_id, "check": check, "outcome": "error", "message": _state(config).fatal or "not judged: the run stopped first"}
    if case is not None:
        record |= {"area": case.rule.area, "level": case.level.value, "tier": case.rule.tier.value, "rule": case.rule.text, "api_version": case.api_version}
    return record


def _run_of(config: pytest.Config) -> dict[str, Any]:
    options = _state(config).options
    return {"name": options.target_name or ("embedded" if options.embedded else options.base_url), "profile": options.profile_name, "api_version": options.api_version}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Requests and tokens spent, and where the reports are."""
    if _is_worker(config):
        return
    state = _state(config)
    result = state.result
    if result is None:
        if state.fatal:
            terminalreporter.write_line(f"conformance: {state.fatal}", red=True)
        return
    warned = [f for f in result.findings if f.outcome is Outcome.WARN]
    if warned:
        terminalreporter.section("conformance warnings (SHOULD rules)", sep="-")
        for finding in warned:
            first = finding.message.splitlines()[0] if finding.message else ""
            terminalreporter.write_line(f"WARN {finding.case_id}: {first}")
    spend = result.spend
    terminalreporter.write_sep("-", "conformance")
    terminalreporter.write_line(
        f"{spend.requests} requests ({spend.retries} retried after 429/529), {spend.input_tokens} input + {spend.output_tokens} output tokens, {result.wall_time:.1f} s against {result.base_url}"
    )
    terminalreporter.write_line(f"reports: {state.run_dir}")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that could not start, or that could judge at most half of its MUST cases, exits 3; an interrupted run exits 130 or 143."""
    state = session.config.stash.get(RUN_KEY, None)
    if state is not None and state.fatal and not _is_worker(session.config):
        session.exitstatus = EXIT_TARGET_UNUSABLE
    report = state.report if state is not None else None
    if report is not None and untestable(report.document) is not None and not _is_worker(session.config):
        session.exitstatus = EXIT_TARGET_UNUSABLE  # more than half of the MUST cases could not be judged (publish._mark_unjudged)
    if state is not None and state.hooks.interruption.fired and not _is_worker(session.config):
        session.exitstatus = state.hooks.interruption.exit_code


__all__ = ["InfrastructureError", "SpecError", "report_finding"]
