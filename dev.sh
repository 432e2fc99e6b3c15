#!/usr/bin/env bash
# Nailfolio's two set-up commands, safe to run on a fresh machine and again:
#   ./dev.sh serve   install what is missing, build the sample gallery, serve it on :8000
#   ./dev.sh test    install what is missing (Chromium included), lint, run every test
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

need_python_packages() {
  # Reinstall only when pyproject.toml changed since the last install.
  local stamp="var/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  echo "Installing Python packages (pyproject.toml)..."
  "$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[test]"
  mkdir -p var && rm -f var/.installed-* && touch "$stamp"
}

need_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
}

case "${1:-}" in
  serve)
    shift
    need_python_packages
    # serve binds its port first (a busy one fails at once), then builds, then serves.
    exec "$PYTHON" build.py serve --watch "$@"
    ;;
  test)
    shift
    need_python_packages
    need_chromium
    "$PYTHON" -m ruff check .
    "$PYTHON" -m ruff format --check .
    exec "$PYTHON" -m pytest -n 2 "$@"
    ;;
  *)
    echo "usage: ./dev.sh serve [--port N] | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
