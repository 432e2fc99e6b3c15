#!/usr/bin/env bash
# Nailfolio's two set-up commands, safe to run on a fresh machine and again:
#   ./dev.sh serve   install what is missing, build the sample gallery, serve it on :8000
#   ./dev.sh test    install what is missing (Chromium included), lint, run every test
#
# Python packages go into a project virtual environment, .venv/ (Debian's own python3 refuses
# system-wide pip installs: PEP 668), made on the first run and reused after. Inside an
# activated virtual environment that one is used instead. PYTHON picks the interpreter that
# makes .venv (default python3; 3.11 to 3.13).
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq "$@" >/dev/null
}

pick_python() {
  # The interpreter the project runs with: the active virtual environment's, else .venv's.
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    PY="$VIRTUAL_ENV/bin/python"
    return 0
  fi
  PY="$VENV/bin/python"
  [ -x "$PY" ] && "$PY" -c "" 2>/dev/null && return 0
  local base=${PYTHON:-python3}
  if ! command -v "$base" >/dev/null 2>&1; then
    echo "Installing Debian's python3..."
    apt_install python3 python3-venv
  fi
  "$base" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 13)))' || {
    echo "dev.sh: $base is Python $("$base" -c 'import sys; print(sys.version.split()[0])');" \
      "Nailfolio needs 3.11 to 3.13 (set PYTHON=/path/to/python3.x)" >&2
    exit 2
  }
  echo "Making the project's virtual environment in $VENV/ ..."
  rm -rf "$VENV"
  if ! "$base" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian ships venv's pip bootstrap (ensurepip) in a separate package.
    rm -rf "$VENV"
    local minor
    minor=$("$base" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    echo "Installing Debian's python$minor-venv..."
    apt_install "python$minor-venv"
    "$base" -m venv "$VENV"
  fi
}

need_python_packages() {
  pick_python
  local stamp
  # Reinstall only when pyproject.toml or constraints.txt changed since this environment's
  # last install; constraints.txt pins the versions the suite is known to pass with.
  stamp="$("$PY" -c 'import sys; print(sys.prefix)')/.nailfolio-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  echo "Installing Python packages (pyproject.toml, constraints.txt) with $PY ..."
  "$PY" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[local,test]"
  rm -f "$(dirname "$stamp")"/.nailfolio-* && touch "$stamp"
}

need_chromium() {
  # Playwright's own driver (node, inside its wheel) needs libatomic, which chromium does not
  # pull in: a fresh Debian lacks it. ldconfig lives in /sbin, which a plain PATH lacks.
  if command -v chromium >/dev/null 2>&1 && PATH="$PATH:/sbin:/usr/sbin" ldconfig -p | grep -q 'libatomic\.so\.1'; then
    return 0
  fi
  echo "Installing Debian's chromium (and libatomic1) for the browser tests..."
  apt_install chromium libatomic1 fonts-dejavu-core
}

case "${1:-}" in
  serve)
    shift
    need_python_packages
    # serve binds its port first (a busy one fails at once), then builds, then serves.
    exec "$PY" build.py serve --watch "$@"
    ;;
  test)
    shift
    need_python_packages
    need_chromium
    "$PY" -m ruff check .
    "$PY" -m ruff format --check .
    exec "$PY" -m pytest -n 2 "$@"
    ;;
  *)
    echo "usage: ./dev.sh serve [--port N] | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
