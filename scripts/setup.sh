#!/usr/bin/env bash
# Installs everything Formflow needs on a fresh Debian machine, idempotently:
# the virtualenv with the Python packages, and (with --test) the Debian packages the tests
# use (PostgreSQL). Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtualenv in .venv"
  "$PYTHON" -m venv .venv
fi

extras="."
[ "$want_test" = 1 ] && extras=".[test]"
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-$want_test"
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages ($extras)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e "$extras"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need the Debian packages: $*; run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ "$want_test" = 1 ]; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql
  fi
fi
