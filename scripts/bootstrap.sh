#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install the project (idempotent, cheap when up to date).
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in "${CREDITGATE_PYTHON:-}" python3.13 python3.12; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$candidate"; return
    fi
  done
  # pyenv installs versions that are not on PATH unless selected.
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  echo "CreditGate needs Python >= 3.12 (xgboost >= 3.3 explains 3x faster there); install python3.12" >&2
  exit 1
}

if [ ! -x .venv/bin/python ]; then
  "$(find_python)" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
