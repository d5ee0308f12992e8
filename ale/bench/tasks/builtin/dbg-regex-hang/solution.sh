#!/bin/bash
cd /app
python3 - <<'PY'
s = open("checker.py").read()
old = s[s.index("EMAIL = re.compile"):].split("\n", 1)[0]
new = "EMAIL = re.compile(r'^[a-zA-Z0-9]+(?:[._-][a-zA-Z0-9]+)*@[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*(?:\\.[a-zA-Z]{2,})+$')"
open("checker.py", "w").write(s.replace(old, new))
PY
python3 checker.py /app/addresses.txt
