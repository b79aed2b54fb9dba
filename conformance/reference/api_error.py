"""Anthropic API errors as values: the status, the error type and the message a request earns.

Owns the status ↔ error-type table (https://platform.claude.com/docs/en/api/errors) and the
error envelope body. Knows nothing about routing or why a request was rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from conformance._types import JSONObject


class ErrorType(Enum):
    """The `error.type` values this server emits, each with its documented status."""

    INVALID_REQUEST = "invalid_request_error"
    AUTHENTICATION = "authentication_error"
    PERMISSION = "permission_error"
    NOT_FOUND = "not_found_error"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMIT = "rate_limit_error"
    API = "api_error"
    OVERLOADED = "overloaded_error"

    @property
    def status(self) -> int:
        """The HTTP status Anthropic pairs with this type."""
        return _STATUS[self]


_STATUS = {
    ErrorType.INVALID_REQUEST: 400,
    ErrorType.AUTHENTICATION: 401,
    ErrorType.PERMISSION: 403,
    ErrorType.NOT_FOUND: 404,
    ErrorType.REQUEST_TOO_LARGE: 413,
    ErrorType.RATE_LIMIT: 429,
    ErrorType.API: 500,
    ErrorType.OVERLOADED: 529,
}


@dataclass(frozen=True, slots=True)
class ApiError:
    """A rejection; validators return it instead of raising so the order of checks stays visible."""

    type: ErrorType
    message: str
    status: int = 0

    @property
    def http_status(self) -> int:
        """The explicit status if one was given (405), else the type's documented one."""
        return self.status or self.type.status

    def envelope(self, request_id: str) -> JSONObject:
        """The body Anthropic sends for this error, `request_id` included as on the first-party API."""
        return {
            "type": "error",
            "error": {"type": self.type.value, "message": self.message},
            "request_id": request_id,
        }


def invalid(message: str, *, status: int = 0) -> ApiError:
    """Shorthand for the commonest rejection, a 400 invalid_request_error."""
    return ApiError(ErrorType.INVALID_REQUEST, message, status)
