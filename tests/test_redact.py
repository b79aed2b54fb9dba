"""conformance/redact.py: the key is masked in text, bytes, headers and URLs."""

from __future__ import annotations

import re

import pytest

from conformance.redact import MASK, Redactor, is_credential_name

KEY = "sk-ant-api03-Zq7xT3stK3y0nlyF0rTests-AAAA"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([KEY])


def test_text(redactor):
    assert redactor.text(f"invalid x-api-key: {KEY}.") == f"invalid x-api-key: {MASK}."
    assert redactor.text(f"{KEY}{KEY}") == MASK + MASK
    assert redactor.text("nothing secret here") == "nothing secret here"


def test_bytes_including_invalid_utf8(redactor):
    assert redactor.data(b"\xff" + KEY.encode() + b"\xfe") == b"\xff" + MASK.encode() + b"\xfe"
    assert redactor.contains_secret(b"key=" + KEY.encode())
    assert not redactor.contains_secret(b"key=sk-ant-other")


@pytest.mark.parametrize(
    ("name", "value", "masked"),
    [
        ("x-api-key", KEY, MASK),
        ("X-Api-Key", "anything at all", MASK),
        ("authorization", f"Bearer {KEY}", f"Bearer {MASK}"),
        ("Authorization", "Basic dXNlcjpwYXNz", f"Basic {MASK}"),
        ("authorization", KEY, MASK),
        ("proxy-authorization", f"Bearer {KEY}", f"Bearer {MASK}"),
        ("cookie", "session=abc", MASK),
        ("set-cookie", "session=abc; HttpOnly", MASK),
        ("x-goog-api-key", KEY, MASK),
        ("location", f"https://evil.example/?key={KEY}", f"https://evil.example/?key={MASK}"),
        ("content-type", "application/json", "application/json"),
    ],
)
def test_headers(redactor, name, value, masked):
    assert redactor.header(name, value) == masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://user:pass@gateway.example/v1/messages", f"https://{MASK}@gateway.example/v1/messages"),
        (f"http://{KEY}@127.0.0.1:8080/", f"http://{MASK}@127.0.0.1:8080/"),
        ("https://gateway.example/v1/messages?x=a@b", "https://gateway.example/v1/messages?x=a@b"),
        ("see http://token@h/x and https://h2/y", f"see http://{MASK}@h/x and https://h2/y"),
    ],
)
def test_url_userinfo(redactor, url, masked):
    assert redactor.text(url) == masked


def test_longest_secret_wins_and_short_strings_are_ignored():
    redactor = Redactor([KEY, KEY[:20], "abc", ""])
    assert redactor.text(f"{KEY} {KEY[:20]}") == f"{MASK} {MASK}"
    assert redactor.text("abc") == "abc"


def test_a_public_probe_value_stays_readable_but_never_beside_a_secret():
    redactor = Redactor(["sk-ant-real-secret-123"], public=["sk-ant-api03-conformance-invalid-abc"])
    assert redactor.header("x-api-key", "sk-ant-api03-conformance-invalid-abc") == "sk-ant-api03-conformance-invalid-abc"  # too short to elide
    assert redactor.header("authorization", "Bearer sk-ant-api03-conformance-invalid-abc") == "Bearer sk-ant-api03-conformance-invalid-abc"
    assert redactor.header("x-api-key", "sk-ant-real-secret-123") == "[REDACTED]"
    assert redactor.header("x-api-key", "something else") == "[REDACTED]"


def test_a_probe_key_of_a_real_keys_shape_is_shown_elided_so_scanners_stay_quiet():
    # gitleaks' anthropic-api-key rule: sk-ant-api03- then 93 characters of [a-zA-Z0-9_-] then AA.
    probe = "sk-ant-api03-conformance-invalid-" + "x1" * 36 + "yAA"
    redactor = Redactor(["sk-ant-real-secret-123"], public=[probe])
    shown = redactor.header("x-api-key", probe)
    assert shown == "sk-ant-api03-conformance-invalid-x…AA"
    assert not re.search(r"sk-ant-api03-[a-zA-Z0-9_\-]{93}AA", shown)
    assert redactor.header("authorization", f"Bearer {probe}") == f"Bearer {shown}"


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("x-portkey-api-key", True),
        ("X-Portkey-Virtual-Key", True),
        ("cf-aig-authorization", True),
        ("x-auth-token", True),
        ("Ocp-Apim-Subscription-Key", True),
        ("x-client-secret", True),
        ("x-session-id", True),
        ("cookie", True),
        ("apikey", True),
        ("x-portkey-provider", False),  # "portkey" is not the word "key"
        ("HTTP-Referer", False),
        ("X-Title", False),
        ("x-tenant", False),
        ("anthropic-version", False),
    ],
)
def test_header_names_like_credentials(name, credential):
    assert is_credential_name(name) is credential


def test_a_secret_extra_header_is_masked_however_short_and_its_value_everywhere():
    gateway_key = "pk-live-0123456789abcdef"
    redactor = Redactor([KEY, gateway_key], secret_headers=["X-Portkey-Api-Key", "x-tenant"])
    assert redactor.header("x-portkey-api-key", gateway_key) == MASK
    assert redactor.header("x-tenant", "t1") == MASK  # given through ${VAR}: masked though too short to search for
    assert redactor.header("x-portkey-provider", "anthropic") == "anthropic"
    assert redactor.text(f"invalid gateway key {gateway_key}") == f"invalid gateway key {MASK}"
    assert redactor.data(b'{"echo": "' + gateway_key.encode() + b'"}') == b'{"echo": "' + MASK.encode() + b'"}'
    assert Redactor([KEY]).header("x-tenant", "t1") == "t1"  # only the headers a run marks secret
