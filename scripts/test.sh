#!/usr/bin/env bash
# Runs every test, on a fresh machine too: installs what is missing, lints, then pytest
# (SQLite and a throwaway PostgreSQL server, a real Valkey server, real processes).
# Extra arguments go to pytest, e.g. scripts/test.sh -k records -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
echo "test: ruff"
.venv/bin/ruff check platform plugins tests bench
echo "test: pytest"
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" -p no:cacheprovider "$@"
