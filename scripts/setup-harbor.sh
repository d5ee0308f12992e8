#!/usr/bin/env bash
# A virtualenv with Harbor (the Terminal-Bench harness, pinned) and ALE, for
#   harbor run -p TASKS -a AGENT --env ale.bench.harbor_env:ALEEnvironment
# Harbor needs Python >= 3.12 while ALE's own .venv may be older, so Harbor gets a virtualenv of its own.
# Run scripts/setup.sh first (apt packages, sandbox init, base image). Idempotent.
# Usage: scripts/setup-harbor.sh [VENV]  (default .venv-harbor; PYTHON=/path/to/python3.12+ picks the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-harbor}

ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }
py=${PYTHON:-}
if [ -z "$py" ]; then
  cands=(python3.13 python3.12 python3)
  if command -v pyenv >/dev/null 2>&1; then  # pyenv's versions, not only the active one (its shims refuse others)
    while read -r d; do [ -x "$d/bin/python3" ] && cands+=("$d/bin/python3"); done \
      < <(ls -d "$(pyenv root)"/versions/3.1[2-9]* 2>/dev/null | sort -rV)
  fi
  for c in "${cands[@]}"; do
    if ok "$c"; then py=$c; break; fi
  done
fi
if [ -z "$py" ] || ! ok "$py"; then
  why=${py:+"$py is older than 3.12 or does not run"}
  echo "setup-harbor: Harbor needs Python >= 3.12: ${why:-none found (tried python3.13, python3.12, python3, the pyenv versions)}." >&2
  echo "  Install one (Debian 13/Ubuntu 24.04: apt-get install python3.13-venv or python3.12-venv; or pyenv install 3.13)," >&2
  echo "  then rerun, e.g. PYTHON=/usr/bin/python3.13 scripts/setup-harbor.sh" >&2
  exit 1
fi

[ -x "$venv/bin/python" ] || { echo "[setup-harbor] $("$py" --version) virtualenv in $venv"; "$py" -m venv "$venv"; }
echo "[setup-harbor] installing ALE with its harbor extra into $venv"
"$venv/bin/pip" install -q -e '.[harbor]'
"$venv/bin/harbor" --version
