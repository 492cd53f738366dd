#!/usr/bin/env bash
# Install everything into .venv: torch's CPU build first, then the package and its tools.
# Usage: scripts/setup.sh [--browser]   (--browser also installs Debian's chromium for UI tests)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
  echo "setup: Python 3.11 is required (found $("$PY" --version 2>&1))" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.sco-qa-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$0" -nt "$stamp" ]; then
  # -qq: errors only (pip's notices and the build backend's warning boxes stay off the terminal)
  say "1/3 pip"
  .venv/bin/python -m pip install -qq --upgrade pip
  # torch first and pinned: this takes the CPU wheel; letting sentence-transformers pull
  # torch itself would fetch a multi-GB CUDA build.
  say "2/3 torch 2.13.0 (CPU build)"
  .venv/bin/python -m pip install -qq torch==2.13.0
  say "3/3 sco-qa with its libraries and test tools (a few minutes the first time)"
  .venv/bin/python -m pip install -qq -e ".[dev]"
  touch "$stamp"
  say "installed into .venv"
fi

if [ "${1:-}" = "--browser" ] && ! { command -v chromium && command -v strace && command -v ip \
    && command -v unshare; } >/dev/null 2>&1; then
  say "chromium, strace, iproute2 (Debian's packages, for the browser and no-traffic tests)"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium strace iproute2 util-linux >/dev/null
fi
