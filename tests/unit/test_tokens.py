"""Token format, hashing and constant-time verification (DESIGN.md "Tokens")."""

from __future__ import annotations

import math
import re

import pytest

from core.tokens import (
    ParsedToken,
    generate_token,
    hash_token,
    parse_authorization_header,
    parse_token,
    verify_token,
)


def test_generated_token_has_documented_format_and_256_bits_of_secret() -> None:
    token_id, token = generate_token("acme")
    match = re.fullmatch(r"scim_(acme\.[0-9a-f]{16})_([A-Za-z0-9_-]{43})", token)
    assert match is not None
    assert match[1] == token_id
    # 43 base64url characters carry 258 bits; the generator draws 32 random bytes.
    assert math.floor(len(match[2]) * 6) >= 256


def test_tokens_are_unique() -> None:
    assert len({generate_token("acme")[1] for _ in range(200)}) == 200


def test_parse_round_trip_and_repr_hides_secret() -> None:
    token_id, token = generate_token("acme-eu")
    parsed = parse_token(token)
    assert parsed == ParsedToken(tenant_id="acme-eu", token_id=token_id, raw=token)
    assert token not in repr(parsed)
    assert token.split("_", 2)[2] not in repr(parsed)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "scim_",
        "scim_acme_secret",
        "scim_acme.0123456789abcdef_short",
        "SCIM_acme.0123456789abcdef_" + "a" * 43,
        "scim_Acme.0123456789abcdef_" + "a" * 43,
        "scim_acme.0123456789ABCDEF_" + "a" * 43,
        "scim_acme.0123456789abcdef_" + "a" * 44,
        "scim_a.0123456789abcdef_" + "a" * 43,
        "scim_acme--x.0123456789abcdef_" + "a" * 43,
        "scim_acme.0123456789abcdef_" + "a" * 42 + "!",
        "x" * 10_000,
    ],
)
def test_malformed_tokens_are_rejected(value: str) -> None:
    assert parse_token(value) is None


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (None, False),
        ("", False),
        ("Basic dXNlcjpwYXNz", False),
        ("Bearer", False),
        ("{token}", False),
        ("Bearer {token}", True),
        ("bearer {token}", True),
        ("BEARER   {token}  ", True),
    ],
)
def test_authorization_header_parsing(header: str | None, ok: bool) -> None:
    _, token = generate_token("acme")
    value = header.format(token=token) if header else header
    assert (parse_authorization_header(value) is not None) is ok


def test_hash_is_sha256_and_does_not_contain_token() -> None:
    _, token = generate_token("acme")
    digest = hash_token(token)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert token not in digest


def test_verify_accepts_only_the_matching_hash() -> None:
    token_id, token = generate_token("acme")
    other_id, other = generate_token("acme")
    stored = {token_id: hash_token(token), other_id: hash_token(other)}
    assert verify_token(ParsedToken("acme", token_id, token), stored)
    # Right id, wrong secret; unknown id; empty store.
    assert not verify_token(ParsedToken("acme", token_id, other), stored)
    assert not verify_token(ParsedToken("acme", "acme.ffffffffffffffff", token), stored)
    assert not verify_token(ParsedToken("acme", token_id, token), {})
