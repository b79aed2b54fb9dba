"""Each credential mode puts one header on the wire, or none, and names the scheme the preflight falls back from."""

from __future__ import annotations

import pytest

from conformance.auth import Auth, Scheme


@pytest.mark.parametrize(
    ("auth", "header", "scheme"),
    [
        (Auth.X_API_KEY, ("x-api-key", "K"), Scheme.X_API_KEY),
        (Auth.BEARER, ("authorization", "Bearer K"), Scheme.BEARER),
        (Auth.BEARER_LOWERCASE, ("authorization", "bearer K"), Scheme.BEARER),
        (Auth.WRONG_X_API_KEY, ("x-api-key", "K"), Scheme.X_API_KEY),
        (Auth.WRONG_BEARER, ("authorization", "Bearer K"), Scheme.BEARER),
        (Auth.NONE, None, Scheme.X_API_KEY),
        (Auth.UNVERIFIED, None, Scheme.X_API_KEY),
    ],
)
def test_a_mode_carries_the_key_in_its_header(auth, header, scheme):
    assert (auth.header("K"), auth.scheme) == (header, scheme)


def test_only_the_wrong_modes_carry_the_wrong_key_and_only_the_plain_ones_are_ordinary():
    assert {a for a in Auth if a.is_wrong} == {Auth.WRONG_X_API_KEY, Auth.WRONG_BEARER}
    assert {a for a in Auth if a.ordinary} == {Auth.X_API_KEY, Auth.BEARER}


def test_the_spec_strings_name_the_members():
    assert [Auth(a.value) for a in Auth] == list(Auth)
    assert (Scheme.X_API_KEY.other, Scheme.BEARER.other) == (Scheme.BEARER, Scheme.X_API_KEY)
