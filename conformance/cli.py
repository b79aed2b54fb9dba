"""anthropic-conformance: run the suite, serve the reference server, list the checks.

Exit codes (also in ``--help`` and README):
  0  no MUST rule failed
  1  at least one MUST rule failed
  2  usage or spec error (bad option, broken spec file, missing key variable)
  3  target unusable (the preflight request failed every way it was tried: unreachable, key refused, …)
  4  internal error of the suite itself (a bug: please report it)
  130, 143  interrupted by SIGINT or SIGTERM: what arrived is judged and written, marked ``"complete": false``

A closed stdout or stderr (``| head``) never changes the exit code: the writes are dropped.

``run`` drives pytest in-process with the conformance plugin, so JUnit and Allure come from pytest
and allure-pytest; the key travels by environment variable name, never on a command line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import baseline, interrupts, options
from ._version import __version__
from .arguments import OneLineParser, add_verbosity
from .contract.loader import available_profiles, available_versions, load_contract, unknown_profile
from .errors import ConformanceError, TargetError
from .options import Options
from .publish import check_report_dir, new_run_id, publish, publish_comparison, untestable
from .report import terminal
from .runstate import RunHooks, prepare

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TARGET, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_SIGINT = 130  # 128 + the signal, as shells report it; SIGTERM gives 143
EPILOG = """exit codes:
  0  no MUST rule failed          1  at least one MUST rule failed
  2  usage or spec error          3  target unusable (preflight failed)
  4  internal error of the suite (please report it)
  130, 143  interrupted by SIGINT, SIGTERM (partial results, "complete": false)"""


COMPARE_HELPS = {
    "tier": "run only this tier on every target (default: each target's tier in the file, else full)",
    "report_dir": "where reports/compare-<id>/ is written (default: reports)",
    "baseline": "expected failures, entries may name a target (default: none)",
    "strict_baseline": "a stale baseline entry fails the run, and a TODO reason is refused (default: off)",
    "behaviour_retries": "resend a failed behaviour probe up to N times (default: 1)",
    "client_impact": "replay each target's exchanges into the official clients; the matrix shows which break (default: install)",
}
REPLAY_HELPS = {
    "report_dir": "where the fresh reports/<run-id>/ is written (default: reports)",
    "spec_dir": "use spec files from DIR (default: the packaged specs)",
    "baseline": "expected MUST failures (default: none)",
    "strict_baseline": COMPARE_HELPS["strict_baseline"],
    "client_impact": "replay the recorded exchanges into the official clients too (default: install)",
}


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="anthropic-conformance",
        description="Conformance suite for the Anthropic Messages API: point it at a base URL and learn exactly where the target deviates.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the suite (no --base-url: against the embedded reference server)", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_arguments(run)
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="select checks by id substring expression (pytest -k; default: every check of the tier)")
    run.add_argument("-m", dest="markexpr", metavar="EXPR", help="select checks by marker expression, e.g. 'stream and must' (pytest -m; default: every check of the tier)")
    run.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="anything after -- goes to pytest unchanged")
    add_verbosity(run)

    serve = sub.add_parser("serve", help="run the reference server alone (a faithful mock; --fault makes it misbehave)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (0 picks a free one; default: 8080)")
    serve.add_argument("--fault", action="append", default=[], metavar="NAME", help="inject a named fault (repeatable; default: none, a faithful server); see --list-faults")
    serve.add_argument("--list-faults", action="store_true", help="print the fault catalogue and exit (default: off)")
    serve.add_argument("--api-key-env", metavar="VAR", help="accept the key in environment variable VAR (default: a generated key, printed)")

    comp = sub.add_parser("compare", help="run the suite against several targets (a TOML file) and write one side-by-side report", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    comp.add_argument("targets", metavar="TARGETS_TOML", help="[[target]] tables: name, base_url, api_key (\"${VAR}\"), model, profile, api_version, concurrency, headers ({ Name = \"value\" })")
    options.add_arguments(comp, "tier", "report_dir", "baseline", "strict_baseline", "behaviour_retries", "client_impact", helps=COMPARE_HELPS)
    comp.add_argument("--against", metavar="COMPARISON_JSON", help="compare with an earlier comparison.json and print what changed (default: none)")
    add_verbosity(comp)

    merge = sub.add_parser("merge", help="combine results.json files of separate runs (e.g. a CI matrix) into one comparison report")
    merge.add_argument("results", nargs="+", metavar="RESULTS_JSON")
    merge.add_argument("--out", default="reports/merged", metavar="DIR", help="where comparison.json, compare.html and summary.md go (default: reports/merged)")
    merge.add_argument("--against", metavar="COMPARISON_JSON", help="compare with an earlier comparison.json and print what changed (default: none)")

    replay = sub.add_parser("replay", help="re-judge a recorded run (a run folder or its cassette.jsonl) offline, with the current checks")
    replay.add_argument("path", metavar="RUN_DIR_OR_CASSETTE")
    replay.add_argument("--profile", help="default: the profile the run used")
    replay.add_argument("--api-version", help="default: the API version the run used")
    replay.add_argument("--model", help="default: the model the run used")
    options.add_arguments(replay, "report_dir", "spec_dir", "baseline", "strict_baseline", "client_impact", helps=REPLAY_HELPS)
    add_verbosity(replay)

    validate = sub.add_parser("validate", help="judge one saved response body or raw SSE stream (e.g. from curl) and print the findings")
    validate.add_argument("file", metavar="FILE")
    validate.add_argument("--status", type=int, help="the HTTP status it came with (default: 200, or the status its error type implies)")
    validate.add_argument("--api-version", default="2023-06-01", help="the contract to judge it by (default: 2023-06-01)")
    validate.add_argument("--spec-dir", metavar="DIR", help="use spec files from DIR (default: the packaged specs)")
    add_verbosity(validate)

    proxy = sub.add_parser(
        "proxy",
        help="a validating reverse proxy: point a client's base URL at it; every exchange is judged, Ctrl-C writes the report",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    proxy.add_argument("--upstream", required=True, metavar="URL", help="the target's base URL (what the client would use without the proxy; required, no default)")
    proxy.add_argument("--port", type=int, default=8089, help="port to listen on (0 picks a free one; default: 8089)")
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    proxy.add_argument("--profile", help="provider profile the traffic is judged under (default: anthropic)")
    proxy.add_argument("--api-version", default="2023-06-01", help="contract for requests that name no live anthropic-version (default: 2023-06-01)")
    proxy.add_argument("--model", help="model whose facts judge requests that name none (default: the profile's default model)")
    proxy.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'", help="add a header to every upstream request, replacing the client's (repeatable; ${VAR} reads the environment, so a key stays off the command line; default: none)")
    proxy.add_argument("--report-dir", default="reports", metavar="DIR", help="where reports/<run-id>/ is written (default: reports)")
    proxy.add_argument("--target-name", metavar="NAME", help="a name for the target in reports (default: its URL)")
    proxy.add_argument("--spec-dir", metavar="DIR", help="use spec files from DIR (default: the packaged specs)")

    clients = sub.add_parser(
        "clients",
        help="run Claude Code on scripted tasks through the validating proxy against the target (no --base-url: the embedded reference server)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    clients.add_argument("--base-url", metavar="URL", help="target base URL (default: the embedded reference server)")
    clients.add_argument("--api-key-env", metavar="VAR", default="ANTHROPIC_API_KEY", help="environment variable holding the target's API key, given to Claude Code (default: ANTHROPIC_API_KEY)")
    clients.add_argument("--fault", action="append", default=[], metavar="NAME", help="put the embedded reference server behind this fault of the catalogue (repeatable; default: none)")
    clients.add_argument("--task", action="append", default=[], metavar="NAME", help="run only this task (repeatable): plain, read-file, long-stream (default: every task)")
    clients.add_argument("--model", default="claude-sonnet-4-5", help="the --model Claude Code is given (default: claude-sonnet-4-5)")
    clients.add_argument("--profile", help="profile the traffic is judged under (default: anthropic; reference for the embedded server)")
    clients.add_argument("--api-version", default="2023-06-01", help="contract for requests that name no live anthropic-version (default: 2023-06-01)")
    clients.add_argument("--timeout", type=float, default=180.0, metavar="S", help="longest a task may take before Claude Code is stopped (default: 180)")
    clients.add_argument("--claude", metavar="PATH", help="use this claude binary instead of the cached install (default: the cached install)")
    clients.add_argument("--install-only", action="store_true", help="install Claude Code into the cache (with progress) and exit (default: off)")
    clients.add_argument("--report-dir", default="reports", metavar="DIR", help="where reports/<run-id>/ is written (default: reports)")
    clients.add_argument("--target-name", metavar="NAME", help="a name for the target in reports (default: its URL)")
    clients.add_argument("--spec-dir", metavar="DIR", help="use spec files from DIR (default: the packaged specs)")

    checks = sub.add_parser("list-checks", help="list every check: id, level, tier, rule and source")
    checks.add_argument("--area", action="append", default=[], help="only these areas (repeatable; default: every area)")
    checks.add_argument("--profile", default="anthropic", help="show what changes under this profile (default: anthropic)")
    checks.add_argument("--api-version", default="2023-06-01", help="the primary version (default: 2023-06-01)")
    checks.add_argument("--format", choices=("table", "json", "markdown"), default="table", help="output format (default: table)")
    checks.add_argument("-v", "--verbose", action="store_true", help="also print why each check has its level (always in json; default: off)")
    checks.add_argument("--spec-dir", metavar="DIR", help="use spec files from DIR (default: the packaged specs)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m conformance``; output to a reader that left is dropped, never an exit code."""
    with interrupts.pipe_safe(), interrupts.sigterm_stops():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _command(args.command)(args)
    except ConformanceError as exc:
        print(f"anthropic-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # a second signal during a run, SIGTERM (interrupts.Stopped), or Ctrl-C outside a run
        code = exc.exit_code if isinstance(exc, interrupts.Stopped) else EXIT_SIGINT
        print(f"anthropic-conformance: interrupted by {signal.Signals(code - 128).name}", file=sys.stderr)
        return code


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function behind a subcommand; proxy and clients are imported only when asked for."""
    if name == "proxy":
        from .proxy.command import run as proxy

        return proxy
    if name == "clients":
        from .clientrun.command import run as clients

        return clients
    commands = {"run": cmd_run, "serve": cmd_serve, "replay": cmd_replay, "compare": cmd_compare, "merge": cmd_merge, "validate": cmd_validate, "list-checks": cmd_list_checks}
    return commands[name]


# --------------------------------------------------------------------------------- run


def _pytest_argv(chosen: Options, args: argparse.Namespace, run_dir: Path) -> list[str]:
    """pytest's own settings for a CLI run, then the options (generated from ``Options``), then the selection."""
    isolated = str(Path(__file__).with_name("_cli_pytest.ini"))
    # -c: ignore the surrounding project's pytest settings; --assert=plain: this process imported
    # the package before pytest could install its rewrite hook (and the suite uses no assert).
    argv = ["-c", isolated, "--rootdir", os.getcwd(), "--assert=plain", "--pyargs", "conformance", "-p", "no:cacheprovider", "-p", "no:terminal"]
    argv += [f"--junitxml={run_dir / 'junit.xml'}", f"--alluredir={run_dir / 'allure-results'}", "-o", "junit_suite_name=anthropic-conformance"]
    argv += options.pytest_argv(replace(chosen, run_id=run_dir.name))
    argv += [*(["-k", args.keyword] if args.keyword else []), *(["-m", args.markexpr] if args.markexpr else [])]
    return argv + list(args.pytest_args)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the suite through pytest, then print the summary and choose the exit code."""
    import pytest

    chosen = options.from_namespace(args)
    if chosen.base_url and not os.environ.get(str(chosen.api_key_env)):
        print(f"anthropic-conformance: environment variable {chosen.api_key_env} is not set (it should hold the API key for {chosen.base_url})", file=sys.stderr)
        return EXIT_USAGE
    contracts, headers = prepare(chosen)  # a broken spec, header, baseline, report folder or --against file: one line, exit 2, before anything starts
    versions = list(contracts)
    run_dir = Path(chosen.report_dir) / new_run_id()
    also = f" (and {', '.join(versions[1:])} where the rules differ)" if versions[1:] else ""
    if args.verbosity >= 0:
        target = "embedded reference server" if chosen.embedded else chosen.base_url
        print(f"anthropic-conformance {__version__}: {target} · profile {chosen.profile_name} · API {chosen.api_version}{also}", file=sys.stderr)
        if headers.pairs:
            print(f"  extra headers: {headers.describe()}", file=sys.stderr)
    progress = terminal.Progress(sys.stderr) if args.verbosity >= 0 else None
    stopped: list[ConformanceError] = []
    hooks = RunHooks(progress=progress, on_plan=(lambda plan: print(f"  {plan.describe()}", file=sys.stderr, flush=True)) if progress is not None else (lambda plan: None),
                     on_stop=stopped.append, interruption=interrupts.Interruption())
    with hooks.interruption.installed():
        code = int(pytest.main(_pytest_argv(chosen, args, run_dir), plugins=[hooks]))
    if progress is not None:
        progress.close()
    if hooks.interruption.fired:
        print(f"anthropic-conformance: {interrupts.stopped_line(hooks.interruption, run_dir)}", file=sys.stderr)
        return hooks.interruption.exit_code
    if stopped:
        print(f"anthropic-conformance: {stopped[0]}", file=sys.stderr)
        return EXIT_TARGET if isinstance(stopped[0], TargetError) else EXIT_USAGE
    return _finish(run_dir, code, args)


def _finish(run_dir: Path, code: int, args: argparse.Namespace) -> int:
    """The summary of a run pytest ended, and its exit code: the gate's, unless the run ended without results."""
    import pytest

    results = run_dir / "results.json"
    if not results.is_file():
        if code == pytest.ExitCode.NO_TESTS_COLLECTED:
            print("anthropic-conformance: no check matches the selection (-k/-m/--tier)", file=sys.stderr)
            return EXIT_USAGE
        if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERRUPTED):
            return EXIT_USAGE
        print(f"anthropic-conformance: the run ended without results (pytest exit code {code}); this is a bug in the suite", file=sys.stderr)
        return EXIT_INTERNAL
    document = json.loads(results.read_text(encoding="utf-8"))
    report = run_dir / "report.html"
    print(terminal.summary(document, report_path=str(report if report.is_file() else run_dir), colour=terminal.colour(sys.stdout), verbosity=args.verbosity))
    if args.write_baseline:
        print(f"anthropic-conformance: {baseline.written_note(args.write_baseline)}", file=sys.stderr)
    unjudged = untestable(document)
    if unjudged is not None:  # the plugin's exit status is then 3, which pytest also uses for an internal error
        print(f"anthropic-conformance: the target could not be tested: {unjudged['errors']} of {unjudged['must']} MUST cases ended in error ({unjudged['first']})", file=sys.stderr)
        return EXIT_TARGET
    if code == pytest.ExitCode.INTERNAL_ERROR:
        return EXIT_INTERNAL
    return EXIT_FAILED if document["gate"]["failed"] else EXIT_OK


# ------------------------------------------------------------------------ compare, merge


def _profiles(documents: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for document in documents:
        run = document["run"]
        if run["profile"] not in out:
            try:
                out[run["profile"]] = load_contract(run["api_version"], run["profile"]).profile
            except ConformanceError:
                continue
    return out


def _compare_exit(document: dict[str, Any]) -> int:
    if any(c.get("gate_failed") for c in document["targets"]):
        return EXIT_FAILED
    return EXIT_TARGET if any(c["status"] != "ok" for c in document["targets"]) else EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """Run every target of a targets file concurrently and write the side-by-side report."""
    from . import compare

    specs = compare.load_targets(args.targets)
    if args.baseline:
        baseline.load(args.baseline, strict=args.strict_baseline)
    check_report_dir(args.report_dir)
    earlier = compare.load_earlier(args.against)
    out_dir = Path(args.report_dir) / f"compare-{new_run_id()}"
    if args.verbosity >= 0:
        print(f"comparing {len(specs)} targets: {', '.join(s.name for s in specs)}", file=sys.stderr)
    template = Options(step_summary=False, baseline=args.baseline, strict_baseline=args.strict_baseline, behaviour_retries=args.behaviour_retries, client_impact=args.client_impact, tier=args.tier)
    interruption = interrupts.Interruption()
    with interruption.installed():
        # Several targets share one stderr: plain lines, each naming its target, never one updating line.
        progress = (lambda name: terminal.Progress(sys.stderr, live=False, label=name)) if args.verbosity >= 0 else None
        runs = compare.run_targets(specs, out_dir, template=template, interruption=interruption, progress=progress)
    documents = [r.document for r in runs if r.document is not None]
    entries = [(r.spec.name, r.document, r.error, f"{r.spec.name}/report.html" if r.document is not None else None) for r in runs]
    document = compare.comparison(entries, profiles=_profiles(documents))
    compare.against(document, earlier)
    page = publish_comparison(out_dir, document)
    print(terminal.comparison(document, str(page), verbosity=args.verbosity))
    if interruption.fired:
        print(f"anthropic-conformance: {interruption.describe()}; partial results (\"complete\": false) in {page}", file=sys.stderr)
        return interruption.exit_code
    return _compare_exit(document)


def cmd_merge(args: argparse.Namespace) -> int:
    """Combine separately made results.json files into one comparison report."""
    from . import compare

    out_dir = Path(args.out)
    entries: list[tuple[str, dict[str, Any] | None, str | None, str | None]] = []
    documents = []
    for item in args.results:
        path = Path(item)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            name = str(document["run"].get("name") or document["run"]["target"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConformanceError(f"{path}: not a results.json of this suite ({exc})") from exc
        if any(name == e[0] for e in entries):
            name = f"{name}-{len(entries) + 1}"
        report = path.with_name("report.html")
        link = os.path.relpath(report, out_dir.resolve()) if report.is_file() else None
        entries.append((name, document, None, link))
        documents.append(document)
    merged = compare.comparison(entries, profiles=_profiles(documents))
    compare.against(merged, compare.load_earlier(args.against))
    page = publish_comparison(out_dir, merged)
    print(terminal.comparison(merged, str(page)))
    return EXIT_FAILED if any(c.get("gate_failed") for c in merged["targets"]) else EXIT_OK


# ------------------------------------------------------------------------ replay, validate


def cmd_replay(args: argparse.Namespace) -> int:
    """Judge a recorded run again, offline, and write a fresh report."""
    from .proxy.replay import replay_session, session_document
    from .replay import replay

    check_report_dir(args.report_dir)
    session = session_document(Path(args.path))
    if session is not None:  # a proxy session: re-judged as traffic, exchange by exchange
        published = replay_session(Path(args.path), session, report_dir=args.report_dir, profile=args.profile, api_version=args.api_version, model=args.model, spec_dir=args.spec_dir)
        print(f"replayed proxy session {args.path}: {published.document['proxy']['exchanges']} recorded exchanges, no request sent", file=sys.stderr)
        print(terminal.summary(published.document, report_path=str(published.run_dir / "report.html"), colour=terminal.fancy(sys.stdout)))
        return EXIT_FAILED if published.failed else EXIT_OK
    result = replay(Path(args.path), profile=args.profile, api_version=args.api_version, model=args.model, spec_dir=args.spec_dir)
    chosen = Options(base_url=result.base_url or "replay", profile=result.contract.profile.name, report_dir=args.report_dir, baseline=args.baseline, strict_baseline=args.strict_baseline,
                     client_impact=args.client_impact)
    run_dir = Path(args.report_dir) / new_run_id()
    run_dir.mkdir(parents=True, exist_ok=True)
    document = publish(result, run_dir, chosen).document
    if args.verbosity >= 0:
        print(f"replayed {args.path}: {len(result.exchanges)} recorded exchanges, no request sent", file=sys.stderr)
    print(terminal.summary(document, report_path=str(run_dir / "report.html"), colour=terminal.colour(sys.stdout), verbosity=args.verbosity))
    return EXIT_FAILED if document["gate"]["failed"] else EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Print what the checks find in one saved answer."""
    from .validate import validate

    path = Path(args.file)
    if not path.exists():
        raise ConformanceError(f"{path}: no such file")
    judged = validate(path, status=args.status, api_version=args.api_version, spec_dir=args.spec_dir)
    print(terminal.judged(str(path), judged.kind, judged.findings, judged.notes, colour=terminal.colour(sys.stdout), verbosity=args.verbosity))
    return EXIT_FAILED if judged.must_failures else EXIT_OK


# ------------------------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the reference server in the foreground until interrupted."""
    from .reference.faults import FAULTS
    from .reference.server import API_KEY_ENV
    from .reference.server import main as serve_main

    if args.list_faults:
        for fault in FAULTS.values():
            print(f"{fault.name:34} {fault.description}\n{'':34} breaks: {', '.join(fault.breaks)}")
        return EXIT_OK
    unknown = [name for name in args.fault if name not in FAULTS]
    if unknown:
        print(f"anthropic-conformance: unknown fault(s) {', '.join(unknown)}; see serve --list-faults", file=sys.stderr)
        return EXIT_USAGE
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, "")
        if not key:
            print(f"anthropic-conformance: environment variable {args.api_key_env} is not set", file=sys.stderr)
            return EXIT_USAGE
    else:
        import secrets

        key = "sk-ant-reference-" + secrets.token_hex(12)
        print(f"API key accepted by this server: {key}", file=sys.stderr)
    os.environ[API_KEY_ENV] = key
    faults = [arg for name in args.fault for arg in ("--fault", name)]
    if args.fault:
        print(f"faults injected: {', '.join(args.fault)}", file=sys.stderr)
    return serve_main(["--host", args.host, "--port", str(args.port), *faults])


# ------------------------------------------------------------------------- list-checks


def cmd_list_checks(args: argparse.Namespace) -> int:
    """Print every check of the live versions' contracts under a profile."""
    from .listing import list_checks

    if args.api_version not in available_versions(Path(args.spec_dir) if args.spec_dir else None):
        raise ConformanceError(f"unknown API version {args.api_version!r} (known: {', '.join(available_versions())})")
    if args.profile not in available_profiles(Path(args.spec_dir) if args.spec_dir else None) and not Path(args.profile).is_file():
        raise unknown_profile(args.profile, Path(args.spec_dir) if args.spec_dir else None)
    print(list_checks(args.api_version, args.profile, spec_dir=args.spec_dir, areas=args.area, form=args.format, verbose=args.verbose))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
