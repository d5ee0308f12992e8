#!/usr/bin/env bash
# Install (idempotent) and run ALE's main job on the embedded default: no Docker, no GPU, no server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/ale demo "$@"
