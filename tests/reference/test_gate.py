"""conformance/reference/gate.py: the gateway front door that wants its own headers."""

from __future__ import annotations

import pytest

from conformance.reference.api_error import ErrorType
from conformance.reference.gate import HeaderGate, required_from


async def _app(scope, receive, send):  # never reached in these tests
    raise AssertionError("the gate let the request through")


GATE = HeaderGate(_app, {"X-Portkey-Provider": "anthropic", "x-portkey-api-key": "pk-secret-000"})


def test_a_request_with_every_header_passes():
    assert GATE.refusal([(b"x-portkey-provider", b"anthropic"), (b"X-Portkey-Api-Key", b"pk-secret-000")]) is None


def test_a_missing_header_is_400_and_a_wrong_value_401_without_echoing_it():
    missing = GATE.refusal([(b"x-portkey-api-key", b"pk-secret-000")])
    assert missing is not None
    assert (missing.type, missing.message) == (ErrorType.INVALID_REQUEST, "this gateway needs the header x-portkey-provider on every request")
    wrong = GATE.refusal([(b"x-portkey-provider", b"anthropic"), (b"x-portkey-api-key", b"pk-guess")])
    assert wrong is not None
    assert wrong.type is ErrorType.AUTHENTICATION
    assert "pk-" not in wrong.message


@pytest.mark.parametrize("text", ["[]", '{"a": 1}', "not json"])
def test_the_environment_value_must_be_an_object_of_strings(text):
    with pytest.raises(ValueError):  # noqa: PT011 - json's and ours
        required_from(text)
