"""A gateway's front door for the reference server: requests without its own headers are refused.

Gateways such as Portkey want headers of their own on every request besides the provider's key
(``x-portkey-provider`` to route, ``x-portkey-api-key`` as the gateway's key). ``HeaderGate`` plays
that part so the suite's ``--header`` option can be tested end to end: a missing header is a 400
``invalid_request_error``, a wrong value a 401 ``authentication_error`` (Anthropic's envelope, so
the preflight's evidence reads as plainly as any other refusal). The values travel to the server
process in an environment variable as JSON, never in argv.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.reference.api_error import ApiError, ErrorType
from conformance.reference.app import error_response
from conformance.reference.responses import request_id

REQUIRED_HEADERS_ENV = "CONFORMANCE_REFERENCE_REQUIRED_HEADERS"


def required_from(text: str) -> dict[str, str]:
    """The ``{name: value}`` object of ``REQUIRED_HEADERS_ENV``; ``ValueError`` when it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"{REQUIRED_HEADERS_ENV} must be a JSON object of header name to value")
    return {name.lower(): value for name, value in data.items()}


class HeaderGate:
    """Passes a request on only when it carries every required header with its value."""

    def __init__(self, app: ASGIApp, required: Mapping[str, str]) -> None:
        self._app = app
        self._required = {name.lower().encode("latin-1"): value.encode("latin-1") for name, value in required.items()}

    def refusal(self, headers: list[tuple[bytes, bytes]]) -> ApiError | None:
        """Why the gate refuses a request with these headers, or None."""
        sent = {name.lower(): value for name, value in headers}
        for name, value in self._required.items():
            got = sent.get(name)
            if got is None:
                return ApiError(ErrorType.INVALID_REQUEST, f"this gateway needs the header {name.decode()} on every request")
            if not hmac.compare_digest(got.strip(), value):
                return ApiError(ErrorType.AUTHENTICATION, f"the header {name.decode()} has a value this gateway does not accept")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = self.refusal(list(scope["headers"]))
            if error is not None:
                await error_response(error, request_id())(scope, receive, send)
                return
        await self._app(scope, receive, send)
