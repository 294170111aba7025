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

# xgboost (CUDA build) and xgboost-cpu install the same files under one import name; pip lets both
# be installed, and removing one then breaks the other. Keep exactly the one asked for.
keep_one_xgboost() {
  local keep=$1 drop=$2 pip=(.venv/bin/python -m pip)
  "${pip[@]}" show --quiet "$keep" 2>/dev/null || return 0  # macOS: only xgboost exists
  "${pip[@]}" show --quiet "$drop" 2>/dev/null || return 0
  local version
  version=$("${pip[@]}" show "$keep" | sed -n 's/^Version: //p')
  "${pip[@]}" uninstall --quiet --yes "$drop"
  if [ "$drop" = xgboost ]; then  # its NCCL library serves nothing else
    "${pip[@]}" uninstall --quiet --yes nvidia-nccl-cu12 nvidia-nccl-cu13 2>/dev/null
  fi
  "${pip[@]}" install --quiet --force-reinstall --no-deps "$keep==$version"
}

if [ ! -x .venv/bin/python ]; then
  "$(find_python)" -m venv .venv
fi
# CREDITGATE_EXTRAS: the extras to install (default dev; dev,gpu for the CUDA build of XGBoost).
extras=${CREDITGATE_EXTRAS:-dev}
stamp=.venv/.installed-$( { cat pyproject.toml; echo "$extras"; } | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
  case ",$extras," in
    *,gpu,*) keep_one_xgboost xgboost xgboost-cpu ;;
    *) keep_one_xgboost xgboost-cpu xgboost ;;
  esac
  rm -f .venv/.installed-*
  touch "$stamp"
fi
