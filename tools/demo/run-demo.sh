#!/usr/bin/env bash
# Runs the demo service under `pmtrace run`, as its unprivileged user, the way
# a unit with User=nobody would start it. The service fails like a real one:
# it cannot write its log file, cannot reach its database, and exits with a
# Python traceback. Exit status is pmtrace's: 1, a failure was found.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
demo=/tmp/pmtrace-demo
mkdir -p "$demo/log"
chmod 0755 "$demo" "$demo/log"
touch "$demo/log/app.log" && chmod 0644 "$demo/log/app.log"  # root's: the service user may not write it
export DEMO_LOG="$demo/log/app.log"
export DATABASE_URL="postgresql://meats:demo-password@127.0.0.1:54329/meats"
export SECRET_KEY="demo-secret-key-never-printed"
"$top/build/pmtrace" run "$@" -- setpriv --reuid=65534 --regid=65534 --clear-groups \
  /usr/bin/python3 "$top/tools/demo/demo_service.py"
