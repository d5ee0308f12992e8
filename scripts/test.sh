#!/usr/bin/env bash
# Run the default (fast) test tier. Installs first if needed (idempotent). Extra args go to pytest,
# e.g. `bash scripts/test.sh -m slow` for the slow tier.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
