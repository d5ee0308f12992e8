import base64
import hashlib
import hmac
import json
import re
import sys

import pytest

sys.path.insert(0, "/app")
from jwtverify import (ExpiredToken, InvalidClaims, InvalidSignature, InvalidToken,  # noqa: E402
                       MalformedToken, verify)

KEYS = {"k1": b"first-secret-key-0123456789", "k2": b"second-secret-key-abcdefghij"}
NOW = 1_700_000_000


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make(claims, header=None, key=None, kid="k1"):
    header = {"alg": "HS256", "typ": "JWT", "kid": kid} if header is None else header
    h = b64(json.dumps(header).encode())
    p = b64(json.dumps(claims).encode()) if not isinstance(claims, bytes) else b64(claims)
    k = key if key is not None else KEYS.get(kid, b"x")
    s = b64(hmac.new(k, f"{h}.{p}".encode(), hashlib.sha256).digest())
    return f"{h}.{p}.{s}"


GOOD = {"sub": "u1", "exp": NOW + 60, "iat": NOW - 5, "aud": ["api", "web"], "iss": "auth.example"}


def test_hierarchy():
    for cls in (MalformedToken, InvalidSignature, ExpiredToken, InvalidClaims):
        assert issubclass(cls, InvalidToken)
    assert issubclass(InvalidToken, Exception)


def test_valid():
    assert verify(make(GOOD), KEYS, NOW) == GOOD
    assert verify(make(GOOD, kid="k2"), KEYS, NOW, audience="web", issuer="auth.example") == GOOD
    assert verify(make({"exp": NOW + 1.5, "aud": "api"}, header={"alg": "HS256", "kid": "k1"}),
                  KEYS, NOW, audience="api")["aud"] == "api"


def test_signature_errors():
    t = make(GOOD)
    h, p, s = t.split(".")
    other = make(dict(GOOD, sub="admin")).split(".")[1]
    for bad in (f"{h}.{other}.{s}", make(GOOD, key=b"wrong"), make(GOOD, kid="k1", key=KEYS["k2"])):
        with pytest.raises(InvalidSignature):
            verify(bad, KEYS, NOW)
    with pytest.raises(InvalidSignature):
        verify(make(GOOD, kid="k9"), KEYS, NOW)
    # bad signature wins over bad claims
    with pytest.raises(InvalidSignature):
        verify(make({"exp": NOW - 100}, key=b"wrong"), KEYS, NOW)


@pytest.mark.parametrize("header", [
    {"alg": "none", "kid": "k1"}, {"alg": "HS512", "kid": "k1"}, {"alg": "hs256", "kid": "k1"},
    {"alg": "RS256", "kid": "k1"}, {"kid": "k1"}, {"alg": "HS256"}, {"alg": "HS256", "kid": "k1", "typ": "JWS"},
    {"alg": "HS256", "kid": 1},
])
def test_bad_headers(header):
    with pytest.raises(MalformedToken):
        verify(make(GOOD, header=header), KEYS, NOW)


def test_alg_none_unsigned():
    h = b64(json.dumps({"alg": "none", "kid": "k1"}).encode())
    p = b64(json.dumps(GOOD).encode())
    with pytest.raises(InvalidToken):
        verify(f"{h}.{p}.", KEYS, NOW)


@pytest.mark.parametrize("mutate", [
    lambda t: t + "=",
    lambda t: t.replace(".", "=.", 1),
    lambda t: t.split(".")[0] + "." + t.split(".")[1],
    lambda t: t + ".extra",
    lambda t: "!" + t,
    lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else "+" + t,
    lambda t: "",
    lambda t: "a.b.c",
])
def test_malformed(mutate):
    with pytest.raises(MalformedToken):
        verify(mutate(make(GOOD)), KEYS, NOW)


def test_payload_not_object_or_json():
    for payload in (b"[1, 2]", b"not json", b"\xff\xfe"):
        with pytest.raises(MalformedToken):
            verify(make(payload), KEYS, NOW)


def test_non_string_token():
    for bad in (None, 123, b"a.b.c"):
        with pytest.raises(InvalidToken):
            verify(bad, KEYS, NOW)


def test_expiry_and_leeway():
    t = make({"exp": NOW})
    with pytest.raises(ExpiredToken):
        verify(t, KEYS, NOW)
    assert verify(t, KEYS, NOW, leeway=10)["exp"] == NOW
    with pytest.raises(ExpiredToken):
        verify(t, KEYS, NOW + 10, leeway=10)
    assert verify(make({"exp": NOW + 1}), KEYS, NOW + 0.5)


def test_nbf_iat():
    with pytest.raises(InvalidClaims):
        verify(make({"exp": NOW + 100, "nbf": NOW + 5}), KEYS, NOW)
    assert verify(make({"exp": NOW + 100, "nbf": NOW + 5}), KEYS, NOW, leeway=5)
    assert verify(make({"exp": NOW + 100, "nbf": NOW}), KEYS, NOW)
    with pytest.raises(InvalidClaims):
        verify(make({"exp": NOW + 100, "iat": NOW + 30}), KEYS, NOW, leeway=10)
    assert verify(make({"exp": NOW + 100, "iat": NOW + 30}), KEYS, NOW, leeway=30)


@pytest.mark.parametrize("claims", [{}, {"exp": "soon"}, {"exp": True}, {"exp": NOW + 9, "nbf": "x"},
                                    {"exp": NOW + 9, "iat": None}])
def test_claim_types(claims):
    with pytest.raises(InvalidClaims):
        verify(make(claims), KEYS, NOW)


def test_audience_issuer():
    with pytest.raises(InvalidClaims):
        verify(make(GOOD), KEYS, NOW, audience="admin")
    with pytest.raises(InvalidClaims):
        verify(make(dict(GOOD, aud="apiX")), KEYS, NOW, audience="api")
    with pytest.raises(InvalidClaims):
        verify(make({"exp": NOW + 9}), KEYS, NOW, audience="api")
    with pytest.raises(InvalidClaims):
        verify(make(GOOD), KEYS, NOW, issuer="evil.example")
    assert verify(make(GOOD), KEYS, NOW, audience="api", issuer="auth.example")["sub"] == "u1"


def test_constant_time_compare_used():
    src = open("/app/jwtverify.py").read()
    assert "compare_digest" in src
    assert not re.search(r"^\s*(import|from)\s+(jwt|jose|authlib)\b", src, re.M)
