"""Every line of every shipped profile, read from the YAML, and the faults that emulate what it tolerates.

A *line* is one declaration in a profile file that makes a check judge differently from the anthropic
profile: a rule override, a parameter bound or case, a feature declared (not) offered, the auth schemes,
the version knobs, a tolerated missing field, a model fact, the beta probe. ``profile_lines`` finds them
generically, so a new line in a profile is a new test case, and a line nobody emulated fails the coverage
test. ``EMULATIONS`` says how the reference server is made to behave as the provider documents (faults of
the catalogue), which cases then differ, and in which direction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.contract.loader import available_profiles, default_spec_dir

PROFILE_DIR = default_spec_dir() / "profiles"
SHIPPED = tuple(available_profiles())
MODEL = "claude-haiku-4-5"
V2023, V2026 = "2023-06-01", "2026-10-21"
SIMULATION = {"features": {"error_simulation": {"offered": True, "source": "tests/profiles: the reference server's simulation hooks"}}}
SHORT_SILENCE = {"strictness": {"max_stream_silence_s": 1}}


def read(name: str) -> dict[str, Any]:
    """A profile file as written (its own lines, not what it inherits)."""
    data = yaml.safe_load((PROFILE_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


ANTHROPIC = read("anthropic")


@dataclass(frozen=True)
class Line:
    """One declaration of a profile that changes a verdict."""

    profile: str
    id: str  # e.g. rules.auth.wrong_key_rejected, features.pdf, params.temperature.maximum
    raw: Any  # the YAML value of the line

    def __str__(self) -> str:
        return f"{self.profile}:{self.id}"


def _anthropic_feature(name: str) -> bool:
    value = ANTHROPIC["features"].get(name, False)
    return bool(value["offered"] if isinstance(value, dict) else value)


def profile_lines(name: str) -> Iterator[Line]:
    """The lines of one profile file that differ from the anthropic profile."""
    doc = read(name)
    auth = doc.get("auth", {})
    if set(auth.get("schemes", ANTHROPIC["auth"]["schemes"])) != set(ANTHROPIC["auth"]["schemes"]):
        yield Line(name, "auth.schemes", auth)
    if doc.get("api_versions", ANTHROPIC["api_versions"]) != ANTHROPIC["api_versions"]:
        yield Line(name, "api_versions", doc["api_versions"])
    if doc.get("version_header_required", True) is not True:
        yield Line(name, "version_header_required", doc["version_header_required"])
    for feature, value in doc.get("features", {}).items():
        offered = bool(value["offered"] if isinstance(value, dict) else value)
        if offered != _anthropic_feature(feature):
            yield Line(name, f"features.{feature}", value)
    for param, entry in doc.get("params", {}).items():
        for key, value in entry.items():
            if key not in ("source", "note", "cases"):
                yield Line(name, f"params.{param}.{key}", value)
        for case, value in entry.get("cases", {}).items():
            yield Line(name, f"params.{param}.cases.{case}", value)
    for rule_id, override in doc.get("rules", {}).items():
        yield Line(name, f"rules.{rule_id}", override)
    strictness = doc.get("strictness", {})
    for missing in strictness.get("tolerate_missing", ()):
        yield Line(name, f"strictness.tolerate_missing.{missing}", missing)
    if "max_stream_silence_s" in strictness:
        yield Line(name, "strictness.max_stream_silence_s", strictness["max_stream_silence_s"])
    if "translates" in strictness:
        yield Line(name, "strictness.translates", strictness["translates"])
    for entry in doc.get("models", {}).get("facts", ()):
        for fact, value in entry.items():
            if fact not in ("match", "source", "note"):
                yield Line(name, f"models.facts[{entry['match']}].{fact}", value)
    if doc.get("headers", {}).get("beta_probe"):
        yield Line(name, "headers.beta_probe", doc["headers"]["beta_probe"])


def all_lines() -> list[Line]:
    """Every line of every shipped profile."""
    return [line for name in SHIPPED for line in profile_lines(name)]


@dataclass(frozen=True)
class Emulation:
    """How to make the reference server behave as a line documents, and what must then differ.

    Under the base profile (anthropic, or the profile without this line) every case in ``cases`` is not
    passing and under the line's profile it passes or skips naming the profile; a tightening line is the
    other way round. ``holds`` must also pass under the line's profile; ``plan`` are further case ids
    whose requests the cases need (e.g. the 429 that a retry-after rule judges).
    """

    faults: tuple[str, ...]
    cases: tuple[str, ...]
    model: str = MODEL
    api_version: str = V2023
    tightens: bool = False
    holds: tuple[str, ...] = ()
    plan: tuple[str, ...] = ()
    overlay: Mapping[str, Any] = field(default_factory=dict)  # added to both profiles (test hooks, unknown facts)
    base: str = "anthropic"  # or "without-line": the same profile with this line removed

    def ids(self) -> tuple[str, ...]:
        """Every case id the runs select."""
        return (*self.cases, *self.holds, *self.plan)


def E(*faults: str, cases: tuple[str, ...], **kw: Any) -> Emulation:
    """An emulation row."""
    return Emulation(faults=faults, cases=cases, **kw)


OPUS_48_FACTS_UNKNOWN = {
    "models": {"facts": [{"match": "claude-opus-4-8*", "system_messages": None, "source": "tests/profiles: a gateway alias of Opus 4.8, whose facts the suite does not know"}]}
}

# By line id (without the profile); a (profile, line id) key overrides for one profile.
EMULATIONS: dict[str | tuple[str, str], Emulation] = {
    # ------------------------------------------------------------------- auth and version knobs
    "auth.schemes:bearer": E("bearer-unsupported", cases=("auth.bearer_accepted",)),
    "auth.schemes:x-api-key": E("x-api-key-unsupported", cases=("auth.x_api_key_accepted",), api_version=V2026),
    "version_header_required": E("version-header-ignored", cases=("headers.version_required",)),
    "rules.headers.version_required": E("version-header-ignored", cases=("headers.version_required",)),
    "rules.headers.version_unknown_rejected": E("version-header-ignored", cases=("headers.version_unknown_rejected",)),
    "rules.auth.missing_key_rejected": E("accepts-any-key", cases=("auth.missing_key_rejected",)),
    "rules.auth.wrong_key_rejected": E("accepts-any-key", cases=("auth.wrong_key_rejected",)),
    "rules.auth.wrong_bearer_rejected": E("accepts-any-key", cases=("auth.wrong_bearer_rejected",)),
    "rules.auth.count_tokens_missing_key_rejected": E("accepts-any-key", cases=("auth.count_tokens_missing_key_rejected",)),
    "rules.headers.version_duplicate_rejected": E("version-header-ignored", cases=("headers.version_duplicate_rejected",)),
    "headers.beta_probe": E("beta-allowlist-stale", cases=("headers.beta_accepted",), tightens=True),
    # ------------------------------------------------------------------------------ features
    "features.count_tokens": E("count-tokens-missing", cases=("count_tokens.max_tokens_not_required", "count_tokens.beta_query_accepted")),
    "features.pdf": E("documents-refused", cases=("content.pdf_document_accepted", "content.text_document_accepted")),
    "features.image_url": E("image-url-refused", cases=("content.image_url_accepted",)),
    "features.models": E("models-openai-shape", cases=("models.list_schema", "models.retrieve_schema")),
    "features.thinking": E("thinking-not-supported", cases=("thinking.enabled_accepted",)),
    "features.error_simulation": E("rate-limit-as-503", cases=("recovery.rate_limited_status",), tightens=True),
    # issue 13: a provider that does not offer the feature accepts it and drops it (vLLM, llama.cpp, Ollama)
    "features.prompt_caching": E("cache-control-stripped", cases=("caching.prefix_cached", "caching.read_on_repeat")),
    "features.effort": E("effort-dropped", cases=("effort.level_honoured",)),
    "features.context_management": E("context-management-ignored", cases=("context.edits_applied",)),
    # issue 13 (features b): a provider without the feature drops the tool, the format or the refusal (vLLM, llama.cpp, Ollama)
    "features.server_tools": E("server-tools-stripped", cases=("server_tools.web_tools_run",)),
    "features.code_execution": E("server-tools-stripped", cases=("server_tools.code_execution_run",)),
    "features.structured_outputs": E("output-format-dropped", "strict-dropped", cases=("structured.output_format_honoured", "structured.strict_tool_input_valid")),
    "features.streaming_refusals": E("refusal-as-end-turn", cases=("stop_reason.refusal_reported",)),
    "rules.caching.prefix_cached": E("cache-control-stripped", cases=("caching.prefix_cached",)),
    # ----------------------------------------------------------------------- params and facts
    "params.temperature.maximum": E("temperature-up-to-2", cases=("params.invalid_value_rejected:temperature.above_max@2023-06-01",),
                                    holds=("params.valid_value_accepted:temperature.at_max@2023-06-01",)),
    # Guards the probe the maximum line adds (temperature 2): the faithful server refuses it, as an
    # Anthropic model behind the router may; without the guard that refusal would fail.
    "params.temperature.cases.at_max": E(cases=("params.valid_value_accepted:temperature.at_max@2023-06-01",), base="without-line"),
    "params.max_tokens.cases.missing": E("max-tokens-optional", cases=("params.required_enforced:max_tokens.missing",)),
    "params.tool_choice.cases.wrong_type": E("tool-choice-dropped", cases=("params.wrong_type_rejected:tool_choice.wrong_type",)),
    "params.tool_choice.cases.not_in_enum": E("tool-choice-dropped", cases=("params.invalid_value_rejected:tool_choice.not_in_enum",)),
    ("requesty", "params.tool_choice.cases.wrong_type"): E("tool-choice-openai-forms-accepted", cases=("params.wrong_type_rejected:tool_choice.wrong_type",)),
    "models.facts[claude-sonnet-4-6*].max_output_tokens": E("max-tokens-capped-below-model-limit", model="claude-sonnet-4-6",
                                                            cases=("params.valid_value_accepted:max_tokens.at_max",),
                                                            holds=("params.invalid_value_rejected:max_tokens.above_max",)),
    "models.facts[claude-opus-4-6*].max_output_tokens": E("max-tokens-capped-below-model-limit", model="claude-opus-4-6",
                                                          cases=("params.valid_value_accepted:max_tokens.at_max",),
                                                          holds=("params.invalid_value_rejected:max_tokens.above_max",)),
    "strictness.tolerate_missing.stop_sequence": E("stop-sequence-omitted", cases=("shape.message_schema",)),
    # ------------------------------------------------------------------------------ rules
    "rules.roles.system_role_handled": E("system-role-rejected", cases=("roles.system_role_handled",), model="claude-opus-4-8"),
    "rules.roles.consecutive_turns_accepted": E("roles-must-alternate", cases=("roles.consecutive_turns_accepted",)),
    "rules.content.image_jpeg_accepted": E("images-refused", cases=("content.image_jpeg_accepted",)),
    "rules.content.image_png_accepted": E("images-refused", cases=("content.image_png_accepted",)),
    "rules.content.image_gif_accepted": E("images-refused", cases=("content.image_gif_accepted",)),
    "rules.content.image_webp_accepted": E("images-refused", cases=("content.image_webp_accepted",)),
    "rules.content.image_url_accepted": E("images-refused", cases=("content.image_url_accepted",)),
    "rules.content.pdf_document_accepted": E("documents-refused", cases=("content.pdf_document_accepted",)),
    "rules.content.text_document_accepted": E("documents-refused", cases=("content.text_document_accepted",)),
    "rules.content.metadata_user_id_accepted": E("metadata-refused", cases=("content.metadata_user_id_accepted",)),
    "rules.content.system_blocks_accepted": E("system-cache-control-refused", cases=("content.system_blocks_accepted",)),
    "rules.content.user_citations_rejected": E("content-2026-rules-ignored", cases=("content.user_citations_rejected:@2026-10-21",), api_version=V2026),
    # A gateway that does not read anthropic-version serves 2026-10-21 with 2023-06-01's rules (litellm); the default run judges both versions.
    ("litellm", "rules.content.user_citations_rejected"): E("version-2026-served-as-2023", cases=("content.user_citations_rejected:@2026-10-21",)),
    "rules.content.document_in_assistant_rejected": E("version-2026-served-as-2023", cases=("content.document_in_assistant_rejected:@2026-10-21",)),
    "rules.params.removed_rejected": E("version-2026-served-as-2023", cases=tuple(f"params.removed_rejected:{p}.present@2026-10-21" for p in ("temperature", "top_p", "top_k"))),
    "rules.content.fired_stop_sequence_reported": E("stop-sequence-not-reported", cases=("content.fired_stop_sequence_reported",)),
    "rules.stop_reason.stop_sequence_reported": E("stop-sequence-not-reported", cases=("stop_reason.stop_sequence_reported",)),
    "rules.tools.tool_choice_none_accepted": E("tool-choice-none-rejected", cases=("tools.tool_choice_none_accepted",)),
    "rules.tools.tool_choice_none_respected": E("tool-choice-dropped", cases=("tools.tool_choice_none_respected",)),
    "rules.tools.tool_choice_without_name_rejected": E("tool-choice-dropped", cases=("tools.tool_choice_without_name_rejected",)),
    "rules.tools.tool_choice_unknown_tool_rejected": E("tool-choice-dropped", cases=("tools.tool_choice_unknown_tool_rejected",)),
    "rules.thinking.forced_tool_choice_rejected": E("tool-choice-dropped", cases=("thinking.forced_tool_choice_rejected",)),
    "rules.content.metadata_invalid_rejected": E("metadata-unchecked", cases=("content.metadata_invalid_rejected",)),
    "rules.tools.parallel_disabled_respected": E("parallel-tool-use-not-disabled", cases=("tools.parallel_disabled_respected",)),
    "rules.tools.forced_tool_called": E("forced-tool-call-answered-in-text", cases=("tools.forced_tool_called",)),
    "rules.tools.stop_reason_tool_use": E("forced-tool-call-answered-in-text", cases=("tools.stop_reason_tool_use",)),
    "rules.thinking.budget_below_minimum_rejected": E("budget-tokens-not-validated", cases=("thinking.budget_below_minimum_rejected",)),
    "rules.thinking.budget_not_below_max_tokens_rejected": E("budget-tokens-not-validated", cases=("thinking.budget_not_below_max_tokens_rejected",)),
    "rules.thinking.stream_signature_delta": E("signature-delta-missing", cases=("thinking.stream_signature_delta",)),
    "rules.thinking.signature_present": E("signature-delta-missing", cases=("thinking.signature_present",)),
    "rules.errors.envelope_shape": E("openai-error-envelope", cases=("errors.envelope_shape",)),
    # a tokenizer's difference (count = usage / 1.8) fails under anthropic and is taken in the translated band
    "strictness.translates": E("count-tokens-local-tokenizer", cases=("count_tokens.matches_usage",)),
    # ------------------------------------------------- claude-code: SHOULD raised to MUST, and stricter
    ("claude-code", "rules.recovery.stream_silence_bounded"): E("stream-stall-without-ping", cases=("recovery.stream_silence_bounded",),
                                                                 tightens=True, overlay=SHORT_SILENCE),
    ("claude-code", "rules.recovery.retry_after_on_rate_limit"): E("retry-after-stripped", cases=("recovery.retry_after_on_rate_limit",),
                                                                    plan=("recovery.rate_limited_status",), tightens=True, overlay=SIMULATION),
    ("claude-code", "rules.roles.system_role_handled"): E("system-role-rejected", cases=("roles.system_role_handled",), model="claude-opus-4-8",
                                                          tightens=True, overlay=OPUS_48_FACTS_UNKNOWN),
}


def emulation_key(line: Line) -> str:
    """The table key of a line: auth lines are keyed by the scheme they drop."""
    if line.id == "auth.schemes":
        dropped = sorted(set(ANTHROPIC["auth"]["schemes"]) - set(line.raw.get("schemes", ())))
        assert len(dropped) == 1, f"{line}: one dropped scheme per profile is emulated, got {dropped}"
        return f"auth.schemes:{dropped[0]}"
    return line.id


def emulation_of(line: Line) -> Emulation | None:
    """The row for a line, the profile's own first."""
    return EMULATIONS.get((line.profile, line.id)) or EMULATIONS.get(emulation_key(line))


def without(name: str, line: Line) -> dict[str, Any]:
    """The profile's file with one line removed."""
    doc = read(name)
    parts = line.id.split(".")
    if parts[0] == "params" and parts[2] == "cases":
        del doc["params"][parts[1]]["cases"][parts[3]]
    elif parts[0] == "rules":
        del doc["rules"][line.id.removeprefix("rules.")]
    else:
        raise AssertionError(f"{line}: removing this kind of line is not implemented")
    return doc


def write_profile(folder: Path, doc: Mapping[str, Any], stem: str) -> Path:
    """A profile file for a run (loaded by path; its name stays the provider's, so skip reasons name it)."""
    path = folder / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(dict(doc), sort_keys=False), encoding="utf-8")
    return path
