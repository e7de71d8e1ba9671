"""User tokens, API key secrets and the Origin rule."""

from __future__ import annotations

import time

import jwt
import pytest

from tocsin.auth.api_keys import hash_secret, new_secret
from tocsin.auth.tokens import TokenVerifier, issue_token
from tocsin.errors import Unauthorized
from tocsin.web.origins import origin_allowed

SECRET = "s" * 40


def test_issued_token_verifies_with_roles() -> None:
    """A token issued with the secret yields its user and roles."""
    verifier = TokenVerifier([SECRET])
    principal = verifier.verify(issue_token(SECRET, "alice", roles=["admin"]))
    assert principal.user == "alice"
    assert principal.roles == ("admin",)


def test_rotated_secrets_are_all_accepted() -> None:
    """Tokens signed with any configured secret verify; new ones use the first."""
    verifier = TokenVerifier(["new" * 12, "old" * 12])
    assert verifier.verify(issue_token("old" * 12, "bob")).user == "bob"
    assert TokenVerifier(["new" * 12]).verify(verifier.issue("carol")).user == "carol"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "a", "exp": int(time.time()) - 120},
        {"sub": "a"},
        {"exp": int(time.time()) + 60},
        {"sub": "", "exp": int(time.time()) + 60},
        {"sub": 5, "exp": int(time.time()) + 60},
        {"sub": "a\nb", "exp": int(time.time()) + 60},
        {"sub": "a\ud800", "exp": int(time.time()) + 60},
        {"sub": "a", "exp": int(time.time()) + 60, "roles": "admin"},
    ],
)
def test_invalid_claims_are_refused_uniformly(claims: dict[str, object]) -> None:
    """Expired, incomplete or ill-typed tokens all raise the same invalid_token error."""
    with pytest.raises(Unauthorized) as info:
        TokenVerifier([SECRET]).verify(jwt.encode(claims, SECRET, algorithm="HS256"))
    assert info.value.code == "invalid_token"
    assert info.value.message == "The token is invalid or expired."


def test_forged_and_unsigned_tokens_are_refused() -> None:
    """Another secret, alg none, and garbage are refused."""
    verifier = TokenVerifier([SECRET])
    exp = int(time.time()) + 60
    forged = jwt.encode({"sub": "a", "exp": exp}, "x" * 40, algorithm="HS256")
    unsigned = jwt.encode({"sub": "a", "exp": exp}, None, algorithm="none")
    for token in (forged, unsigned, "garbage", ""):
        with pytest.raises(Unauthorized):
            verifier.verify(token)


def test_audience_and_issuer_are_enforced_when_configured() -> None:
    """With aud/iss configured, tokens must carry them."""
    verifier = TokenVerifier([SECRET], audience="app", issuer="me")
    assert verifier.verify(verifier.issue("a")).user == "a"
    with pytest.raises(Unauthorized):
        verifier.verify(issue_token(SECRET, "a"))


def test_api_key_secrets_are_random_and_hashed() -> None:
    """Secrets are prefixed, unique, and stored only as SHA-256."""
    first, second = new_secret(), new_secret()
    assert first.startswith("tsk_")
    assert first != second
    assert hash_secret(first) != first
    assert len(hash_secret(first)) == 64


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "ok"),
    [
        (None, "h:1", (), True),
        ("http://h:1", "h:1", (), True),
        ("https://h:1", "h:1", (), True),
        ("http://evil:1", "h:1", (), False),
        ("https://app.example", "h:1", ("https://app.example",), True),
        ("https://app.example/", "h:1", ("https://app.example",), True),
        ("https://app.example.evil", "h:1", ("https://app.example",), False),
        ("null", "h:1", (), False),
        ("anything", "h:1", ("*",), True),
    ],
)
def test_origin_rule(origin: str | None, host: str, allowed: tuple[str, ...], ok: bool) -> None:
    """Same origin, listed origins and * are allowed; everything else is not."""
    assert origin_allowed(origin, host, allowed) is ok
