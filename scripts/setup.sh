#!/usr/bin/env bash
# Installs everything citygrid needs on a Debian/Ubuntu machine, and nothing twice:
#   system packages  PostgreSQL with PostGIS, GDAL's command-line tools (test inputs, benchmark
#                    anchors, a client for the OGC API), the Python venv module, Node.js and npm;
#                    for `setup.sh test` also Chromium and CJK fonts (the map's browser tests)
#                    and nginx (two API processes routed by district);
#                    for `setup.sh bench` also wrk (the HTTP benchmarks' load generator);
#   Python packages  into .venv, pinned by requirements.lock;
#   npm packages     the map's front-end libraries into node_modules, pinned by package-lock.json
#                    (served by citygrid itself: nothing is loaded from a CDN at run time).
# Safe to run again: each step checks first and does nothing when already done.
# Usage: scripts/setup.sh [demo|test|bench]
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-demo}
say() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root (or sudo) to run: $*"; exit 1
  fi
}

missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || missing+=("$1"); }

pg_major() {
  # the newest PostgreSQL server installed, else the one apt would install
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
  if [ -z "$v" ]; then
    v=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n 1)
  fi
  printf '%s' "$v"
}

if command -v apt-get >/dev/null 2>&1; then
  apt_updated=
  apt_install() {
    [ -n "$apt_updated" ] || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; }
    say "installing $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  }
  need_pkg postgresql
  [ ${#missing[@]} -eq 0 ] || { apt_install "${missing[@]}"; missing=(); }
  v=$(pg_major)
  [ -n "$v" ] || { say "cannot tell which PostgreSQL version to use"; exit 1; }
  for p in "postgresql-$v-postgis-3" postgis gdal-bin python3-venv ca-certificates; do need_pkg "$p"; done
  command -v npm >/dev/null 2>&1 || { need_pkg nodejs; need_pkg npm; }
  # the lookup's compiled module (setup.py): a C compiler and the interpreter's headers
  command -v gcc >/dev/null 2>&1 || need_pkg gcc
  "${PYTHON:-python3}" -c 'import os, sysconfig; os.stat(sysconfig.get_paths()["include"] + "/Python.h")' \
    2>/dev/null || need_pkg python3-dev
  if [ "$MODE" = test ]; then
    # nginx: the routing by district of tests/test_routing.py (docs/nginx-citygrid.conf)
    for p in chromium fonts-noto-cjk nginx; do need_pkg "$p"; done
  fi
  if [ "$MODE" = bench ]; then
    need_pkg wrk
  fi
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
else
  say "not a Debian/Ubuntu machine: install PostgreSQL with PostGIS 3, gdal-bin and Python >= 3.11 yourself"
fi

PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { say "Python >= 3.11 is required ($("$PY" --version 2>&1))"; exit 1; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.citygrid-installed
# the compiled module's source too: `pip install -e .` builds it (setup.py)
want=$(cat pyproject.toml requirements.lock setup.py lookup/_cells.c | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c requirements.lock -e '.[test]'
  printf '%s' "$want" > "$stamp"
fi

if [ ! -f node_modules/.citygrid-lock ] || ! cmp -s package-lock.json node_modules/.citygrid-lock; then
  say "installing the map's front-end packages (npm ci)"
  npm ci --no-audit --no-fund --silent >/dev/null
  cp package-lock.json node_modules/.citygrid-lock
fi
