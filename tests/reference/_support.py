"""Constants and tiny builders the reference-server tests share (the suite's own prompts among them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from conformance.reference.faults import FAULTS
from conformance.reference.router import fault_base_path

V2023 = "2023-06-01"
V2026 = "2026-10-21"
HAIKU = "claude-haiku-4-5"
GRUSSE = "Reply with exactly this text and nothing else: Grüße ok"
COUNT = "Count from 1 to 200, separated by spaces."
XYZZY = "Reply with exactly this text and nothing else: one two three XYZZY four five"
WEATHER_ASK = "What is the weather in Paris? Use the get_weather tool."
WEATHER_TOOL: Any = {"name": "get_weather", "description": "Get the current weather in a city.", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "London", "Tokyo"]}}, "required": ["city"], "additionalProperties": False,
}}
"""The suite's own tool (the scenarios' get_weather), for the tests that call it through the SDK or by hand."""


def user(text: str) -> list[Any]:
    """A one-turn conversation (typed loosely so it also fits the SDK's MessageParam)."""
    return [{"role": "user", "content": text}]


Probe = Callable[[httpx.Client, dict[str, str]], None]
"""A wire probe: asserts a fault's effect on the answers it asks for (and so fails against the faithful server)."""


def _failing_assert(probe: Probe, http: httpx.Client, headers: dict[str, str]) -> int | None:
    """The line of the probe's own ``assert`` that failed, or None when every one held.

    Only an assert written in the probe itself counts: an AssertionError raised anywhere else (a
    helper, httpx, a fixture) is re-raised, so the faithful-server test cannot pass by accident.
    """
    try:
        probe(http, headers)
    except AssertionError as error:
        last = error.__traceback__
        while last is not None and last.tb_next is not None:
            last = last.tb_next
        if last is None or last.tb_frame.f_code is not probe.__code__:
            raise  # raised below the probe's own code: not the probe's assert
        return last.tb_lineno
    return None


def wire_probe_tests(probes: Mapping[str, Probe]) -> tuple[Callable[..., None], ...]:
    """The tests a table of wire probes gets: each names a fault, each fault shows its effect, the faithful server does not.

    Every fault is proven end to end by tests/suite/test_fault_matrix.py; a probe pins the effect on the wire.
    """
    names = sorted(probes)

    def test_every_probe_names_a_fault() -> None:
        assert set(names) <= set(FAULTS)

    @pytest.mark.parametrize("name", names)
    def test_fault_changes_the_response(server: Any, headers: dict[str, str], name: str) -> None:
        with httpx.Client(base_url=server.base_url + fault_base_path(name), timeout=30) as http:
            probes[name](http, headers)

    @pytest.mark.parametrize("name", names)
    def test_faithful_server_does_not_show_the_fault(http: httpx.Client, headers: dict[str, str], name: str) -> None:
        line = _failing_assert(probes[name], http, headers)
        assert line is not None, f"the faithful server shows every effect the {name} probe asserts"

    return test_every_probe_names_a_fault, test_fault_changes_the_response, test_faithful_server_does_not_show_the_fault
