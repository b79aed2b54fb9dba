"""Faults of structured outputs (structured.*, issue 13): a gateway that drops output_config.format or a tool's strict.

Each is a deviation a real gateway showed, with its public source. Request rewrites only; the faithful app
never learns it is wrapped.
"""

from __future__ import annotations

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import drop_output_config
from conformance.reference.rewrite.request import edit_body


def _drop_strict(body: dict[str, JSON]) -> None:
    tools = body.get("tools")
    if isinstance(tools, list):
        body["tools"] = [{k: v for k, v in t.items() if k != "strict"} if isinstance(t, dict) else t for t in tools]


FAULTS: tuple[Fault, ...] = (
    fault("output-format-dropped",
          ["structured.output_format_honoured"],
          "https://github.com/NVIDIA-NeMo/Switchyard/issues/452 (/v1/messages drops output_format / json_schema: 200, no warning); "
          "https://github.com/askalf/dario/pull/583 (output_config rebuilt with effort only, the schema dropped: the model answers in prose)",
          "output_config.format is dropped on the way: the model answers the prompt in prose, 200.",
          edit_body(drop_output_config("format"))),
    fault("strict-dropped",
          ["structured.strict_tool_input_valid", "tools.input_matches_schema"],
          "https://github.com/lidge-jun/opencodex/issues/5210 (Messages to Messages: tools rebuilt without strict); "
          "https://github.com/router-for-me/CLIProxyAPI/issues/5958 (tool strict deleted or never copied: \"the caller has no way to know the tool is no longer validated\")",
          "strict is removed from every tool definition: an unconstrained model writes the values the prompt spells out, outside the schema.",
          edit_body(_drop_strict)),
)
