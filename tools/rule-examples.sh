#!/usr/bin/env bash
# Runs the scenario tests (real gunicorn, real PostgreSQL, real kernel events)
# and keeps the text report of each in docs/examples/, named after the test
# and the mode (run or attach): the example reports docs/rules.md points at.
# As root, after tools/build.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/docs/examples"
mkdir -p "$out"
rm -f "$out"/*.txt
PM_EXAMPLES_DIR="$out" "$top/build/tests/pm_integration_tests" "[scenario]" "$@"
ls "$out"
