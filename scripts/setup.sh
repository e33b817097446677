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

# Front-end libraries come from the npm registry (package-lock.json pins them) and are
# copied into the engine's static folder; none of them is committed.
vendor=platform/formflow/static/vendor
assets_stamp="$vendor/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$assets_stamp" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm is missing (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
  echo "setup: installing front-end libraries from the npm registry"
  npm ci --no-audit --no-fund --loglevel=error
  rm -rf "$vendor"
  mkdir -p "$vendor"
  cp node_modules/htmx.org/dist/htmx.min.js "$vendor/"
  cp node_modules/signature_pad/dist/signature_pad.umd.min.js "$vendor/"
  cp node_modules/sortablejs/Sortable.min.js "$vendor/"
  cp node_modules/echarts/dist/echarts.min.js "$vendor/"
  cp node_modules/gridstack/dist/gridstack-all.js "$vendor/"
  cp node_modules/gridstack/dist/gridstack.min.css "$vendor/"
  touch "$assets_stamp"
fi

# Message catalogs (zh-CN, en) are compiled from their .po sources.
for po in platform/formflow/translations/*/LC_MESSAGES/messages.po; do
  [ -f "$po" ] || continue
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
    .venv/bin/pybabel compile --use-fuzzy -i "$po" -o "$mo" >/dev/null
  fi
done

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
  missing=()
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # Screenshots of Chinese pages need a CJK font (phones have their own).
  [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
fi
