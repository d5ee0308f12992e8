#!/bin/bash
cat > /app/policy.py <<'PY'
import string
import sys

COMMON = {ln.strip().lower() for ln in open("/app/common-passwords.txt") if ln.strip()}
TAIL = set(string.digits + string.punctuation)


def _classes(pw):
    return sum([any(c in string.ascii_lowercase for c in pw), any(c in string.ascii_uppercase for c in pw),
                any(c in string.digits for c in pw),
                any(c not in string.ascii_letters + string.digits for c in pw)])


def _is_common(pw):
    low = pw.lower()
    for i in range(len(low), 0, -1):
        if low[:i] in COMMON and all(c in TAIL for c in low[i:]):
            return True
    return False


def _has_sequence(pw):
    low = pw.lower()
    for i in range(len(low) - 3):
        w = low[i:i + 4]
        if all(c in string.ascii_lowercase for c in w) or all(c in string.digits for c in w):
            d = [ord(b) - ord(a) for a, b in zip(w, w[1:])]
            if d in ([1, 1, 1], [-1, -1, -1]):
                return True
    return False


def check_password(password, username):
    v = []
    if len(password) < 12:
        v.append("TOO_SHORT")
    if len(password) > 128:
        v.append("TOO_LONG")
    if _classes(password) < 3:
        v.append("FEW_CLASSES")
    if len(username) >= 3 and username.lower() in password.lower():
        v.append("CONTAINS_USERNAME")
    if _is_common(password):
        v.append("COMMON")
    if any(password[i] == password[i + 1] == password[i + 2] == password[i + 3] for i in range(len(password) - 3)):
        v.append("REPEATED")
    if _has_sequence(password):
        v.append("SEQUENCE")
    return sorted(v)


if __name__ == "__main__":
    line = sys.stdin.readline()
    pw = line[:-1] if line.endswith("\n") else line
    codes = check_password(pw, sys.argv[1])
    print(",".join(codes) if codes else "OK")
    sys.exit(1 if codes else 0)
PY
