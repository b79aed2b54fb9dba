"""conformance/extra_headers.py: parsing, precedence, ${VAR}, secrecy and a profile's required headers."""

from __future__ import annotations

import pytest

from conformance.contract.loader import load_contract
from conformance.contract.model import DeclaredHeader
from conformance.errors import ConfigError
from conformance.extra_headers import ExtraHeaders, for_run, header, merge, parse, resolve, table

SECRET = "pk-live-0123456789abcdef0123"


def test_parse_keeps_the_name_and_trims_the_value():
    spec = parse("X-Portkey-Provider:  anthropic ")
    assert (spec.name, spec.template, spec.key, spec.secret) == ("X-Portkey-Provider", "anthropic", "x-portkey-provider", False)
    assert parse("x-empty:").template == ""
    assert parse("x-colon: a:b:c").template == "a:b:c"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("no colon here", "expected 'Name: value'"),
        (": value", "expected 'Name: value'"),
        ("bad name: v", "is not a header name"),
        ("x-api-key: sk-1", "--header x-api-key: the suite sets this header itself"),
        ("Authorization: Bearer x", "--header Authorization: the suite sets this header itself"),
        ("anthropic-beta: foo", "--header anthropic-beta: the suite sets this header itself"),
        ("Anthropic-Version: 2023-06-01", "the suite sets this header itself"),
        ("content-type: text/plain", "the suite sets this header itself"),
        ("user-agent: me", "the suite sets this header itself"),
        ("x-ok: caf\u00e9", "holds a character a header cannot carry"),
        ("x-ok: a\r\nx-injected: 1", "holds a character a header cannot carry"),
    ],
)
def test_what_cannot_be_sent_is_one_clear_error(text, says):
    with pytest.raises(ConfigError, match=r"^--header") as caught:
        parse(text)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_credential_names_and_variables_make_a_value_secret():
    assert parse("x-portkey-api-key: literal").secret
    assert parse("x-tenant: ${TENANT}").secret
    assert not parse("x-portkey-provider: anthropic").secret
    assert parse("x-both: ${A}-${B}").variables == ("A", "B")


def test_resolve_reads_variables_and_lists_what_to_mask():
    resolved = resolve([parse("x-portkey-provider: anthropic"), parse("x-portkey-api-key: ${PK}"), parse("x-tenant: t-${TENANT}")], {"PK": SECRET, "TENANT": "acme"})
    assert resolved.pairs == (("x-portkey-provider", "anthropic"), ("x-portkey-api-key", SECRET), ("x-tenant", "t-acme"))
    assert resolved.secret_names == {"x-portkey-api-key", "x-tenant"}
    assert SECRET in resolved.secret_values
    assert "t-acme" in resolved.secret_values
    assert resolved.describe() == "x-portkey-provider: anthropic, x-portkey-api-key: [REDACTED], x-tenant: [REDACTED]"
    assert SECRET not in repr(resolved)


@pytest.mark.parametrize("environ", [{}, {"PK": ""}])
def test_a_missing_variable_names_it_and_never_a_value(environ):
    with pytest.raises(ConfigError) as caught:
        resolve([parse("x-portkey-api-key: ${PK}")], environ)
    assert str(caught.value) == "--header x-portkey-api-key: environment variable PK is not set"


def test_a_variable_holding_a_line_break_is_refused_without_showing_it():
    with pytest.raises(ConfigError, match="environment variable PK holds a character") as caught:
        resolve([parse("x-k: ${PK}")], {"PK": "abc\r\nx-evil: 1"})
    assert "evil" not in str(caught.value)


def test_later_layers_win_and_one_layer_may_not_repeat_a_name():
    merged = merge([header("X-A", "1", "profile"), header("x-b", "2", "profile")], [parse("x-a: 3")])
    assert [(s.name, s.template) for s in merged] == [("x-b", "2"), ("x-a", "3")]
    with pytest.raises(ConfigError, match=r"^--header X-A: given twice \(also as --header x-a\)$"):
        merge([parse("x-a: 1"), parse("X-A: 2")])


def test_a_targets_table_is_validated_with_its_origin():
    specs = table({"x-portkey-provider": "anthropic", "x-portkey-api-key": "${PK}"}, "targets.toml: target #1 (pk)")
    assert [s.origin for s in specs] == ["targets.toml: target #1 (pk), headers.x-portkey-provider", "targets.toml: target #1 (pk), headers.x-portkey-api-key"]
    with pytest.raises(ConfigError, match="'headers' must be a table"):
        table("x-a: 1", "targets.toml: target #1 (pk)")
    with pytest.raises(ConfigError, match="the value of x-n must be a string"):
        table({"x-n": 3}, "targets.toml: target #1 (pk)")


def test_a_profile_value_is_a_default_and_a_required_header_must_be_given():
    declared = [
        DeclaredHeader("x-gw-provider", source="https://gw.example/docs", value="anthropic"),
        DeclaredHeader("x-gw-key", source="https://gw.example/docs", required=True),
    ]
    with pytest.raises(ConfigError) as caught:
        for_run(declared, "gw", environ={})
    assert str(caught.value) == "profile gw needs the header x-gw-key on every request (https://gw.example/docs): pass --header 'x-gw-key: …' (or headers in a targets file)"
    given = table({"x-gw-key": "${K}"}, "targets.toml")
    resolved = for_run(declared, "gw", given, ["X-GW-Provider: other"], environ={"K": SECRET})
    assert resolved.pairs == (("x-gw-key", SECRET), ("X-GW-Provider", "other"))


def test_no_headers_at_all_is_the_empty_set():
    assert for_run((), "anthropic", environ={}) == ExtraHeaders()


def test_the_shipped_openrouter_profile_declares_its_optional_attribution_headers():
    profile = load_contract("2023-06-01", "openrouter").profile
    declared = {h.name: h for h in profile.request_headers}
    assert set(declared) == {"HTTP-Referer", "X-Title"}
    assert all(not h.required and h.value is None and h.source.startswith("https://openrouter.ai/docs/app-attribution") for h in declared.values())
    assert any(line.startswith("request_headers.HTTP-Referer: optional") for line in profile.deviations)
    assert for_run(profile.request_headers, profile.name, environ={}).pairs == ()  # optional: nothing sent unless given


def test_no_shipped_profile_declares_a_header_the_suite_owns():
    from conformance.contract.loader import available_profiles

    for name in available_profiles():
        profile = load_contract("2023-06-01", name).profile
        for declared in profile.request_headers:
            header(declared.name, declared.value or "", f"profile {name}")  # raises for a suite-owned name


def test_list_checks_names_the_headers_a_profile_declares():
    from conformance.listing import list_checks

    lines = list_checks("2023-06-01", "openrouter", areas=["auth"]).splitlines()
    assert lines[1].startswith("  request header HTTP-Referer: optional (https://openrouter.ai/docs/app-attribution")
    assert lines[2].startswith("  request header X-Title: optional (")
