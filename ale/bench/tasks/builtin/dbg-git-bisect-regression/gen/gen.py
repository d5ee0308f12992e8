"""Build /app/timekit: a git history of 40 commits; commit 23 silently breaks multi-digit parsing."""
import os
import subprocess

R = "/app/timekit"
os.makedirs(R, exist_ok=True)
env = dict(os.environ, GIT_AUTHOR_NAME="dev", GIT_AUTHOR_EMAIL="dev@example.com",
           GIT_COMMITTER_NAME="dev", GIT_COMMITTER_EMAIL="dev@example.com")


def git(*a, date=None):
    e = dict(env)
    if date:
        e["GIT_AUTHOR_DATE"] = e["GIT_COMMITTER_DATE"] = date
    subprocess.run(["git", *a], cwd=R, env=e, check=True, capture_output=True)


UNITS = '{"d": 86400, "h": 3600, "m": 60, "s": 1}'
git("init", "-q", "-b", "main")
extras = []
msgs = ["tidy imports", "docs", "small refactor", "add helper", "naming", "comments", "cleanup", "typing"]
for i in range(1, 41):
    pattern = r"(\d+)\s*([dhms])" if i < 23 else r"(\d)\s*([dhms])"
    if i in (5, 12, 19, 27, 33, 38):
        extras.append(i)
    body = [f'"""timekit: small duration helpers (rev {i})."""', "import re", "",
            f"UNITS = {UNITS}", f"_TOKEN = re.compile(r\"{pattern}\")", "", "",
            "def parse_duration(text):",
            '    """Parse "1h30m", "2d 4h", "45s"... into seconds. Raises ValueError on garbage."""',
            "    text = text.strip().lower()",
            "    if not text:",
            '        raise ValueError("empty duration")',
            "    total = 0",
            "    for num, unit in _TOKEN.findall(text):",
            "        total += int(num) * UNITS[unit]",
            '    if not re.fullmatch(r"(\\d+\\s*[dhms]\\s*)+", text):',
            '        raise ValueError(f"bad duration: {text!r}")',
            "    return total", ""]
    if i >= 30:
        body += ["", "def format_duration(seconds):",
                 '    """Inverse of parse_duration: 5400 -> "1h30m", 0 -> "0s"."""',
                 "    if seconds == 0:",
                 '        return "0s"',
                 "    out = []",
                 "    for unit, size in UNITS.items():",
                 "        n, seconds = divmod(seconds, size)",
                 "        if n:",
                 '            out.append(f"{n}{unit}")',
                 '    return "".join(out)', ""]
    for k in extras:
        body += ["", f"def helper_{k}(x):", f'    """Helper added in rev {k}."""', f"    return x * {k}", ""]
    open(f"{R}/timekit.py", "w").write("\n".join(body))
    open(f"{R}/CHANGELOG", "a").write(f"rev {i}: {msgs[i % len(msgs)]}\n")
    git("add", "-A")
    git("commit", "-q", "-m", msgs[i % len(msgs)], date=f"2024-01-{1 + i // 2:02d}T{10 + i % 2}:00:00+00:00")
head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=R, capture_output=True, text=True).stdout.strip()
open("/root/.timekit_orig_head", "w").write(head + "\n")
