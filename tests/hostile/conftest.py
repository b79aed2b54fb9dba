"""The hostile battery prints what it measured (exit code, wall time, peak memory) under the test summary."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        props = dict(getattr(report, "user_properties", ()))
        name = props.get("hostile_behaviour")
        if name is not None:
            rows.setdefault(name, {}).update(props)
    if not rows:
        return
    terminalreporter.write_sep("-", "hostile battery: exit code, wall time, peak RSS of each CLI run")
    for name, props in sorted(rows.items()):
        extra = f"  cassette {props['cassette_mib']} MiB" if "cassette_mib" in props else ""
        terminalreporter.write_line(f"{name:28} exit {props['exit_code']}  {props['wall_s']:5.1f} s  {props['peak_rss_mib']:6.1f} MiB{extra}")
