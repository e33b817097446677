#!/usr/bin/env bash
# Brings the whole system up on its embedded defaults: SQLite, an embedded Valkey
# (Redis-compatible) server, an RQ worker, the reminder scheduler and the web server on
# 127.0.0.1:5000, with the plugins' apps installed; prints where to log in. Ctrl-C stops
# everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/formflow dev "$@"
