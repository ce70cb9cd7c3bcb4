#!/usr/bin/env bash
# Installs pmtrace's build and test dependencies from Debian's packages.
# Idempotent: does nothing when everything is already installed.
#   tools/setup.sh           build and test dependencies
#   tools/setup.sh --bench   also what tools/bench needs (wrk, bpftrace, strace, time)
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libspdlog-dev nlohmann-json3-dev libcli11-dev catch2 libsystemd-dev libtomlplusplus-dev
  python3 util-linux systemd systemd-container
  gunicorn python3-flask python3-django python3-psycopg2 postgresql curl
)
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(wrk bpftrace strace time)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root (sudo $0)" >&2
  exit 2
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
