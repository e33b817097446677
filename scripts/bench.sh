#!/usr/bin/env bash
# Runs the benchmarks; each figure is printed beside a baseline measured in the same run.
#   scripts/bench.sh records [--sizes 100000,1000000] [--database postgresql://…]
#   scripts/bench.sh pages [--records 1000000]
#   scripts/bench.sh publish [--records 1000000]   (SQLite; a quick run: --records 10000)
#   scripts/bench.sh approvals [--approvals 1000 --handled 10000 --pending 500]
#   scripts/bench.sh reminders [--reminders 100000]
#   scripts/bench.sh latency [--rate 20 --seconds 30]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
which="${1:-records}"
shift || true
mkdir -p bench/results
exec .venv/bin/python -m "bench.$which" --json "bench/results/$which-$(date +%Y%m%d-%H%M%S).json" "$@"
