"""Builders for ASGI wrappers that rewrite a request or a response on its way through, and the words faults use.

Owns the send/receive plumbing faults are made of (STYLE T3): request.py buffers and replays request
bodies, response.py holds back a JSON answer until it is rewritten and fixes ``content-length``,
stream.py re-frames SSE events and delays chunks, edits.py names what an edit applies to. Each builder
takes a small pure function and returns ``Wrapper = ASGIApp -> ASGIApp``. Knows nothing about any
particular fault or about the app it wraps; catalogue modules import from here only.
"""

from __future__ import annotations

from conformance.reference.rewrite.edits import (
    PEERS,
    ContentEdit,
    Edit,
    edit_answer,
    edit_content,
    edit_event,
    edit_header,
    edit_message,
    header,
    inside,
    is_message,
    is_messages_call,
    refuse_field,
    request_body,
    turns,
)
from conformance.reference.rewrite.request import (
    MESSAGES_PATH,
    Refusal,
    RequestView,
    Wrapper,
    branch_on_request,
    compose,
    edit_body,
    per_request,
    refuse_request,
    rewrite_request,
)
from conformance.reference.rewrite.response import (
    reanswer_json,
    replace_error,
    rewrite_headers_by_status,
    rewrite_json_response,
    rewrite_response_headers,
)
from conformance.reference.rewrite.stream import (
    EventFn,
    EventOut,
    event,
    format_event,
    hang_up_stream,
    rewrite_events,
    rewrite_events_with_state,
    rewrite_stream_bytes,
    stall_stream,
)

__all__ = [
    "MESSAGES_PATH",
    "PEERS",
    "ContentEdit",
    "Edit",
    "EventFn",
    "EventOut",
    "Refusal",
    "RequestView",
    "Wrapper",
    "branch_on_request",
    "compose",
    "edit_answer",
    "edit_body",
    "edit_content",
    "edit_event",
    "edit_header",
    "edit_message",
    "event",
    "format_event",
    "hang_up_stream",
    "header",
    "inside",
    "is_message",
    "is_messages_call",
    "per_request",
    "reanswer_json",
    "refuse_field",
    "refuse_request",
    "replace_error",
    "request_body",
    "rewrite_events",
    "rewrite_events_with_state",
    "rewrite_headers_by_status",
    "rewrite_json_response",
    "rewrite_request",
    "rewrite_response_headers",
    "rewrite_stream_bytes",
    "stall_stream",
    "turns",
]
