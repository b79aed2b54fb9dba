"""Extra request headers: what a target needs on every request besides the API key.

A gateway may route by a header (Portkey's ``x-portkey-provider``), want its own key beside the
provider's (``x-portkey-api-key``), or a tenant or attribution header (OpenRouter's ``HTTP-Referer``).
They come from three places, later ones winning per name (names compare case-insensitively):
a profile's ``request_headers`` that carry a ``value``, a targets file's ``headers`` tables
(``[defaults]`` then the target's), and ``--header 'Name: value'`` options.

A value may hold ``${VAR}``: it is read from the environment when the run starts, so a secret
stays off command lines and out of files; a missing variable is a one-line error naming it.

Precedence against the suite's own headers: a name the suite sets itself, per probe, is refused
(the credentials, ``anthropic-*``, framing, user-agent), so an extra header can never put a key on
the probe that tests a request without one, nor change the version a probe sends. Every other
extra header goes on every request, keyless probes included: a gateway's own routing and key are
plumbing, and without them the request would not reach the API whose behaviour is being tested.

Which values are secret: those of headers named like credentials (``is_credential_name``) and
those given through ``${VAR}``. Records show the mask in their place (redact.py), like the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .contract.model import DeclaredHeader
from .errors import ConfigError
from .redact import is_credential_name

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 §5.1 field-name
_VALUE = re.compile(r"^[\x20-\x7e\t]*$")  # visible ASCII, space and tab: nothing a client would have to encode
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SUITE_OWNED = frozenset({"x-api-key", "authorization", "content-type", "content-length", "host", "transfer-encoding", "connection", "user-agent"})
SUITE_PREFIX = "anthropic-"


@dataclass(frozen=True)
class HeaderSpec:
    """One extra header as given: its name, its value (maybe holding ``${VAR}``) and where it came from."""

    name: str
    template: str = field(repr=False)
    origin: str = "--header"

    @property
    def key(self) -> str:
        """The name as compared (header names are case-insensitive)."""
        return self.name.lower()

    @property
    def variables(self) -> tuple[str, ...]:
        """The environment variables the value reads."""
        return tuple(_VAR.findall(self.template))

    @property
    def secret(self) -> bool:
        """Named like a credential, or read from the environment: its value never reaches a record."""
        return is_credential_name(self.name) or bool(self.variables)


@dataclass(frozen=True)
class ExtraHeaders:
    """Resolved extra headers, ready for the wire, and what a redactor must hide of them."""

    pairs: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secret_names: frozenset[str] = frozenset()
    secret_values: tuple[str, ...] = field(default=(), repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The header names, for a report line."""
        return tuple(name for name, _ in self.pairs)

    def describe(self) -> str:
        """``name: value`` per header with secrets masked, for a banner or a report header."""
        from .redact import MASK

        return ", ".join(f"{name}: {MASK if name.lower() in self.secret_names else value}" for name, value in self.pairs)


def header(name: str, template: object, origin: str) -> HeaderSpec:
    """A validated header; ``ConfigError`` names the origin when the name or value cannot be sent as given."""
    name = name.strip()
    if not _TOKEN.match(name):
        raise ConfigError(f"{origin}: {name!r} is not a header name (letters, digits and !#$%&'*+.^_`|~- only)")
    lowered = name.lower()
    if lowered in SUITE_OWNED or lowered.startswith(SUITE_PREFIX):
        raise ConfigError(
            f"{origin}: the suite sets this header itself, per probe (the API key goes in --api-key-env; anthropic-* and framing headers are what the probes test)"
        )
    if not isinstance(template, str):
        raise ConfigError(f"{origin}: the value of {name} must be a string, got {template!r}")
    value = template.strip()
    if not _VALUE.match(value):
        raise ConfigError(f"{origin}: the value of {name} holds a character a header cannot carry (visible ASCII, space and tab only)")
    return HeaderSpec(name=name, template=value, origin=origin)


def parse(text: str, origin: str = "--header") -> HeaderSpec:
    """``'Name: value'`` as typed on a command line."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise ConfigError(f"{origin} {text.partition(':')[0][:40]!r}: expected 'Name: value'")
    return header(name, value, f"{origin} {name.strip()}")


def table(raw: object, origin: str) -> tuple[HeaderSpec, ...]:
    """A ``headers = { Name = "value", … }`` table of a targets file."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{origin}: 'headers' must be a table of name = \"value\" pairs")
    return merge([header(str(name), value, f"{origin}, headers.{name}") for name, value in raw.items()])


def merge(*layers: Iterable[HeaderSpec]) -> tuple[HeaderSpec, ...]:
    """The layers' headers, a later layer's header replacing an earlier one of the same name; one name twice in one layer is an error."""
    merged: dict[str, HeaderSpec] = {}
    for layer in layers:
        seen: dict[str, HeaderSpec] = {}
        for spec in layer:
            if spec.key in seen:
                raise ConfigError(f"{spec.origin}: given twice (also as {seen[spec.key].origin})")
            seen[spec.key] = spec
            merged.pop(spec.key, None)
            merged[spec.key] = spec
    return tuple(merged.values())


def resolve(specs: Iterable[HeaderSpec], environ: Mapping[str, str] = os.environ) -> ExtraHeaders:
    """Read every ``${VAR}``; ``ConfigError`` names the first variable that is not set (never a value)."""
    pairs: list[tuple[str, str]] = []
    secret_names: set[str] = set()
    secret_values: list[str] = []

    def read(spec: HeaderSpec) -> str:
        def one(match: re.Match[str]) -> str:
            variable = match.group(1)
            value = environ.get(variable, "")
            if not value:
                raise ConfigError(f"{spec.origin}: environment variable {variable} is not set")
            if not _VALUE.match(value):
                raise ConfigError(f"{spec.origin}: environment variable {variable} holds a character a header cannot carry (visible ASCII, space and tab only)")
            secret_values.append(value)
            return value

        return _VAR.sub(one, spec.template)

    for spec in specs:
        value = read(spec)
        if spec.secret:
            secret_names.add(spec.key)
            secret_values.append(value)
        pairs.append((spec.name, value))
    return ExtraHeaders(pairs=tuple(pairs), secret_names=frozenset(secret_names), secret_values=tuple(v for v in secret_values if v))


def for_run(declared: Iterable[DeclaredHeader], profile: str, given: Iterable[HeaderSpec] = (), args: Iterable[str] = (), environ: Mapping[str, str] = os.environ) -> ExtraHeaders:
    """A run's extra headers: the profile's declared values, then ``given`` (a targets file), then ``--header`` texts; every required one present."""
    declared = tuple(declared)
    defaults = [header(d.name, d.value, f"profile {profile}, request_headers.{d.name}") for d in declared if d.value is not None]
    merged = merge(defaults, given, [parse(text) for text in args])
    present = {spec.key for spec in merged}
    for wanted in declared:
        if wanted.required and wanted.name.lower() not in present:
            raise ConfigError(f"profile {profile} needs the header {wanted.name} on every request ({wanted.source}): pass --header '{wanted.name}: …' (or headers in a targets file)")
    return resolve(merged, environ)
