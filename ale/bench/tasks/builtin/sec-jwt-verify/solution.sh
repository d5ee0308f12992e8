#!/bin/bash
cat > /app/jwtverify.py <<'PY'
"""HS256 JWT verification (RFC 7519 subset): strict base64url, fixed algorithm, kid-selected key."""
import base64
import hashlib
import hmac
import json
import re


class InvalidToken(Exception):
    pass


class MalformedToken(InvalidToken):
    pass


class InvalidSignature(InvalidToken):
    pass


class ExpiredToken(InvalidToken):
    pass


class InvalidClaims(InvalidToken):
    pass


_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def _b64decode(part):
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise MalformedToken("bad base64url")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, TypeError) as e:
        raise MalformedToken("bad base64url") from e


def _json_object(raw):
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise MalformedToken("bad JSON") from e
    if not isinstance(obj, dict):
        raise MalformedToken("not a JSON object")
    return obj


def _number(claims, name, required):
    if name not in claims:
        if required:
            raise InvalidClaims(f"missing {name}")
        return None
    v = claims[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InvalidClaims(f"{name} must be a number")
    return v


def verify(token, keys, now, leeway=0, audience=None, issuer=None):
    if not isinstance(token, str):
        raise MalformedToken("token must be a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("expected three parts")
    h_raw, p_raw, sig = (_b64decode(p) for p in parts)
    header = _json_object(h_raw)
    if header.get("alg") != "HS256":
        raise MalformedToken("unsupported alg")
    if "typ" in header and header["typ"] != "JWT":
        raise MalformedToken("bad typ")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise MalformedToken("missing kid")
    if kid not in keys:
        raise InvalidSignature("unknown kid")
    expected = hmac.new(keys[kid], f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, sig):
        raise InvalidSignature("signature mismatch")
    claims = _json_object(p_raw)
    exp = _number(claims, "exp", True)
    nbf = _number(claims, "nbf", False)
    iat = _number(claims, "iat", False)
    if now >= exp + leeway:
        raise ExpiredToken("token expired")
    if nbf is not None and now < nbf - leeway:
        raise InvalidClaims("token not yet valid")
    if iat is not None and iat > now + leeway:
        raise InvalidClaims("issued in the future")
    if audience is not None:
        aud = claims.get("aud")
        ok = aud == audience if isinstance(aud, str) else (
            isinstance(aud, list) and all(isinstance(a, str) for a in aud) and audience in aud)
        if not ok:
            raise InvalidClaims("audience mismatch")
    if issuer is not None and claims.get("iss") != issuer:
        raise InvalidClaims("issuer mismatch")
    return claims
PY
