"""output_config.effort: the levels there are, and the ones each model takes, refused in the API's words.

Owns the effort rules (https://platform.claude.com/docs/en/build-with-claude/effort): a level outside the
five is a 400 like any bad enum value, a model without effort refuses the parameter ("This model does not
support the effort parameter.", https://github.com/oratis/LISA/pull/218), and a model refuses a level it
lacks naming the ones it has (capture 56: "This model does not support effort level 'xhigh'. Supported
levels: high, low, max, medium."). No field of an answer reflects the level (SDK Message and Usage have
none), so the toy model writes the same reply at every level. Knows nothing about HTTP.
"""

from __future__ import annotations

from conformance.reference.models import ModelFacts

LEVELS = ("low", "medium", "high", "xhigh", "max")


def problem(output_config: object, model: ModelFacts) -> str | None:
    """Why the request's effort is refused on ``model``, or None (no effort, or one the model takes)."""
    effort = output_config.get("effort") if isinstance(output_config, dict) else None
    if effort is None:
        return None
    if effort not in LEVELS:
        return "output_config.effort: Input should be " + ", ".join(f"'{level}'" for level in LEVELS[:-1]) + f" or '{LEVELS[-1]}'"
    if not model.effort:
        return "This model does not support the effort parameter."
    if effort not in model.effort:
        return f"This model does not support effort level '{effort}'. Supported levels: {', '.join(sorted(model.effort))}."
    return None
