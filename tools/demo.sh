#!/usr/bin/env bash
# Installs the dependencies, builds pmtrace and runs it on the bundled failing
# demo service, so you see real kernel events from a real failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/setup.sh"
"$top/tools/build.sh"
exec "$top/tools/demo/run-demo.sh" "$@"
