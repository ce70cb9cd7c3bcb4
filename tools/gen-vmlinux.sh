#!/usr/bin/env bash
# Regenerate bpf/vmlinux/<arch>/vmlinux.h from a machine's kernel BTF.
# The build never reads the build host's BTF implicitly: run this on purpose,
# review the diff and commit the header.
#   tools/gen-vmlinux.sh [BTF_FILE]   (default /sys/kernel/btf/vmlinux)
set -euo pipefail
btf=${1:-/sys/kernel/btf/vmlinux}
arch=$(uname -m)
case "$arch" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
esac
[ -r "$btf" ] || { echo "gen-vmlinux: cannot read BTF at $btf (kernel built without CONFIG_DEBUG_INFO_BTF?)" >&2; exit 2; }
command -v bpftool >/dev/null || { echo "gen-vmlinux: bpftool not found (apt-get install bpftool)" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/bpf/vmlinux/$arch/vmlinux.h"
mkdir -p "$(dirname "$out")"
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out from $btf ($(wc -l < "$out") lines)"
