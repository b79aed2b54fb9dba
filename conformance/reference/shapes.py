"""Primitive JSON type checks that word their failures the way the API's pydantic layer does.

Owns the `<path>: <problem>` message texts ("Field required", "Input should be a valid integer", ...).
Each check returns the message or None; callers decide order and wrap it into an ApiError.
Knows nothing about which field needs which check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

Problem = str | None
Check = Callable[[str, object], Problem]

FIELD_REQUIRED = "Field required"
EXTRA_FORBIDDEN = "Extra inputs are not permitted"


def at(path: str, text: str) -> str:
    """Format a problem the pydantic way: dotted location, colon, text."""
    return f"{path}: {text}"


def join(path: str, key: str | int) -> str:
    """Extend a dotted location by one key or index."""
    return f"{path}.{key}" if path else str(key)


def string(path: str, value: object, *, min_len: int = 0, max_len: int | None = None) -> Problem:
    """A JSON string within length bounds."""
    if not isinstance(value, str):
        return at(path, "Input should be a valid string")
    if len(value) < min_len:
        unit = "character" if min_len == 1 else "characters"
        return at(path, f"String should have at least {min_len} {unit}")
    if max_len is not None and len(value) > max_len:
        return at(path, f"String should have at most {max_len} characters")
    return None


def integer(path: str, value: object, *, ge: int | None = None) -> Problem:
    """A JSON integer (booleans and floats are not integers on the wire)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return at(path, "Input should be a valid integer")
    if ge is not None and value < ge:
        return at(path, f"Input should be greater than or equal to {ge}")
    return None


def number(path: str, value: object, *, ge: float, le: float) -> Problem:
    """A JSON number within inclusive bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return at(path, "Input should be a valid number")
    if value < ge:
        return at(path, f"Input should be greater than or equal to {_num(ge)}")
    if value > le:
        return at(path, f"Input should be less than or equal to {_num(le)}")
    return None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def boolean(path: str, value: object) -> Problem:
    """A JSON boolean."""
    return None if isinstance(value, bool) else at(path, "Input should be a valid boolean")


def array(path: str, value: object) -> Problem:
    """A JSON array."""
    return None if isinstance(value, list) else at(path, "Input should be a valid list")


def obj(path: str, value: object) -> Problem:
    """A JSON object."""
    return None if isinstance(value, dict) else at(path, "Input should be a valid dictionary")


def literal(path: str, value: object, options: Iterable[str]) -> Problem:
    """One of a closed set of strings, worded like pydantic's literal_error."""
    choices = list(options)
    if value in choices:
        return None
    quoted = [f"'{c}'" for c in choices]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
    return at(path, f"Input should be {listed}")


def nullable(check: Check) -> Check:
    """Let null through, otherwise defer to `check`."""

    def run(path: str, value: object) -> Problem:
        return None if value is None else check(path, value)

    return run


def one_of_literal(options: Iterable[str]) -> Check:
    """A Check for a closed set of strings."""
    choices = tuple(options)
    return lambda path, value: literal(path, value, choices)


def object_fields(
    path: str,
    value: object,
    *,
    required: Mapping[str, Check],
    optional: Mapping[str, Check],
    extra_allowed: bool = False,
) -> Problem:
    """An object whose declared fields pass their checks, with required ones present and extras refused."""
    problem = obj(path, value)
    if problem or not isinstance(value, dict):
        return problem
    for name, check in {**required, **optional}.items():
        if name in value:
            problem = check(join(path, name), value[name])
            if problem:
                return problem
        elif name in required:
            return at(join(path, name), FIELD_REQUIRED)
    if not extra_allowed:
        for name in value:
            if name not in required and name not in optional:
                return at(join(path, name), EXTRA_FORBIDDEN)
    return None


def list_of(item: Check) -> Check:
    """A Check for a JSON array whose items each pass `item`."""

    def run(path: str, value: object) -> Problem:
        problem = array(path, value)
        if problem or not isinstance(value, list):
            return problem
        for index, element in enumerate(value):
            problem = item(join(path, index), element)
            if problem:
                return problem
        return None

    return run
