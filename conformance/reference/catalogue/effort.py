"""Effort deviations of real gateways (effort.*, issue 13): output_config.effort dropped on the way, or answered with a 5xx.

A dropped effort runs the answer at the default effort, and nothing says so. Deviation numbers refer to
peers.md §4.6.
"""

from __future__ import annotations

from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import drop_output_config
from conformance.reference.rewrite.request import edit_body, refuse_request
from conformance.reference.rewrite.views import RequestView


def _effort_500(view: RequestView) -> tuple[int, str, str] | None:
    config = view.body.get("output_config") if isinstance(view.body, dict) else None
    effort = config.get("effort") if isinstance(config, dict) else None
    if view.path.rstrip("/") == "/v1/messages" and isinstance(effort, str):
        return 500, "api_error", f"Unexpected reasoning effort {effort}. Supported types are xhigh (default), medium, and low."
    return None


FAULTS: tuple[Fault, ...] = (
    fault("effort-dropped", ["effort.level_honoured"],
          "https://github.com/BerriAI/litellm/pull/27074 (LiteLLM did not forward output_config.effort to Anthropic, Bedrock or Vertex until this fix); "
          "https://github.com/griffinmartin/opencode-claude-auth/pull/126 (a proxy stripping effort)",
          "output_config.effort is removed before the request goes upstream: every answer runs at the default effort and nothing says so.",
          edit_body(drop_output_config("effort"))),
    fault("effort-refused-as-500", ["effort.level_honoured"],
          "https://github.com/ls1intum/edutelligence/issues/749 (an effort level answered with HTTP 500 'Unexpected reasoning effort high')",
          "Any output_config.effort is answered 500 api_error naming the backend's own effort levels: no client can act on it.",
          refuse_request(_effort_500)),
)
