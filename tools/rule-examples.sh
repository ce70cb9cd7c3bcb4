#!/usr/bin/env bash
# Runs the scenario tests (real gunicorn, real PostgreSQL, real kernel events)
# and keeps the recording of each in docs/examples/ (named after the test and
# the mode: run or attach), with the report `pmtrace explain` gives of it
# beside it as FILE.txt: the example reports docs/rules.md points at, and the
# golden files the test "golden: ..." compares every build's explain with.
# As root, after tools/build.sh.
#
#   tools/rule-examples.sh            # record every scenario anew
#   tools/rule-examples.sh --explain  # only explain the recordings again (a report changed on purpose)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/docs/examples"
mkdir -p "$out"
if [ "${1:-}" != "--explain" ]; then
  rm -f "$out"/*.txt "$out"/*.pmt
  PM_EXAMPLES_DIR="$out" "$top/build/tests/pm_integration_tests" "[scenario]" "$@"
fi
for rec in "$out"/*.pmt; do
  # Exit 1 is a failure found (the point of most examples); 2 and more are
  # errors and stop here.
  rc=0
  "$top/build/pmtrace" explain "$rec" > "${rec%.pmt}.txt" || rc=$?
  [ "$rc" -le 1 ] || { echo "rule-examples: explain $rec exited $rc" >&2; exit 1; }
done
# The excerpts docs/rules.md quotes follow the reports.
python3 "$top/tools/refresh-excerpts.py"
ls "$out"
