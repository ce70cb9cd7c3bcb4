#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite with ctest.
# The integration tests load the real eBPF programs: run as root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/setup.sh"
"$top/tools/build.sh"
cd "$top/build"
ctest --output-on-failure "$@"
