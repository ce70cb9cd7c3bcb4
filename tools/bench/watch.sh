#!/usr/bin/env bash
# Measures `pmtrace watch` on a real gunicorn serving HTTP on loopback, in one
# run (these machines are noisy: only ratios within a run mean something).
#
#   tools/bench/watch.sh [--duration 6] [--rounds 5] [--pmtrace PATH]
#
# 1. Requests/s and p99 latency (wrk -t2 -c16) of gunicorn (Flask app,
#    4 sync workers) untraced, under `pmtrace watch`, under an equivalent
#    bpftrace script (the same tracepoints, filtered to gunicorn, one line an
#    event) and under `strace -f` attached to the master and its workers; the
#    configurations interleaved for --rounds rounds (medians), ratios to untraced.
#    pmtrace's CPU time and peak RSS over its runs.
# 2. Idle: pmtrace's CPU over 20 s while the watched service does nothing.
# 3. Flood: a process named gunicorn failing opens as fast as it can (half
#    EACCES, emitted; half ENOENT, counted in the kernel) for 10 s: pmtrace's
#    RSS every second (flat), events, losses and window drops from its metrics.
# Needs root, wrk, bpftrace, strace, gunicorn + Flask (tools/setup.sh --bench).
# It is a measurement, not a test: prints PASS/MISS per target, exits 0
# (2 when it could not measure).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
pmtrace=${PMTRACE:-$top/build/pmtrace}
duration=6
rounds=5
while (($#)); do
  case $1 in
    --duration) duration=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    --pmtrace) pmtrace=${2:?}; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "watch.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "watch.sh: $*" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "run as root"
[[ -x $pmtrace ]] || die "no pmtrace at $pmtrace (tools/build.sh)"
for c in wrk bpftrace strace gunicorn cc; do command -v $c >/dev/null || die "no $c (tools/setup.sh --bench installs it)"; done

work=$(mktemp -d /tmp/pmtrace-watchbench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
gunicorn --chdir "$top/tests/scenarios/flask_app" -b 127.0.0.1:$port -w 4 app:app >"$work/gunicorn.log" 2>&1 &
master=$!
pids+=($master)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$port/" || die "gunicorn did not start (see $work/gunicorn.log)"
workers=$(pgrep -P $master | tr '\n' ' ')

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
tck=$(getconf CLK_TCK)

# wrk: "Requests/sec: N" and, with --latency, the "99%" line.
measure() {
  local out
  out=$(wrk -t2 -c16 -d"${duration}s" --latency "http://127.0.0.1:$port/" 2>&1)
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  echo "$rps $p99"
}

cat >"$work/equiv.bt" <<'EOF'
// What pmtrace watch traces, for gunicorn processes, one line an event.
tracepoint:sched:sched_process_exec /comm == "gunicorn"/ { printf("exec %d\n", pid); }
tracepoint:sched:sched_process_fork /comm == "gunicorn"/ { printf("fork %d %d\n", pid, args->child_pid); }
tracepoint:sched:sched_process_exit /comm == "gunicorn"/ { printf("exit %d\n", pid); }
tracepoint:signal:signal_generate /comm == "gunicorn"/ { printf("sig %d %d\n", args->sig, args->pid); }
tracepoint:signal:signal_deliver /comm == "gunicorn"/ { printf("deliver %d\n", args->sig); }
tracepoint:syscalls:sys_enter_openat /comm == "gunicorn"/ { @path[tid] = args->filename; }
tracepoint:syscalls:sys_exit_openat /comm == "gunicorn" && args->ret < 0/ { printf("open %s %d\n", str(@path[tid]), args->ret); }
tracepoint:syscalls:sys_exit_openat /comm == "gunicorn"/ { delete(@path[tid]); }
tracepoint:syscalls:sys_enter_connect /comm == "gunicorn"/ { printf("connect %d\n", args->fd); }
tracepoint:syscalls:sys_enter_bind /comm == "gunicorn"/ { printf("bind %d\n", args->fd); }
tracepoint:syscalls:sys_enter_accept4 /comm == "gunicorn"/ { @acc[pid] = count(); }
tracepoint:syscalls:sys_enter_write /comm == "gunicorn" && (args->fd == 1 || args->fd == 2)/ { printf("write %d %d\n", pid, args->count); }
tracepoint:syscalls:sys_enter_fchmod /comm == "gunicorn"/ { @hb[pid] = count(); }
EOF

# Warm-up: the first seconds of load (page cache, Python's lazy imports) are
# slower whatever traces them.
wrk -t2 -c16 -d3s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true

# SIGINT (bpftrace and strace stop on it, pmtrace too), SIGKILL if it hangs.
stop_tracer() {
  kill -INT "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

declare -A rps p99
configs=(untraced watch bpftrace strace)
pm_cpu=0; pm_hwm=0
for ((r = 1; r <= rounds; r++)); do
  for c in "${configs[@]}"; do
    tracer=""
    case $c in
      watch)
        "$pmtrace" watch --incidents "$work/incidents.jsonl" --metrics "$work/watch.prom" 2>"$work/watch.err" &
        tracer=$!
        for _ in $(seq 100); do grep -q "tracing ready" "$work/watch.err" && break; sleep 0.1; done
        c0=$(cpu_ticks $tracer) ;;
      bpftrace)
        bpftrace "$work/equiv.bt" >"$work/bt.out" 2>&1 &
        tracer=$!
        for _ in $(seq 100); do grep -q "Attaching" "$work/bt.out" && break; sleep 0.1; done
        sleep 1 ;;
      strace)
        args=(-f -qq -o /dev/null -p $master)
        for w in $workers; do args+=(-p "$w"); done
        strace "${args[@]}" &
        tracer=$!
        sleep 1 ;;
    esac
    read -r v l < <(measure)
    rps[$c]+="$v "
    p99[$c]+="$l "
    if [[ $c == watch ]]; then
      pm_cpu=$(awk -v a="$pm_cpu" -v b="$(cpu_ticks $tracer)" -v c0="$c0" -v t="$tck" 'BEGIN {print a + (b - c0) / t}')
      h=$(hwm_kib $tracer); ((h > pm_hwm)) && pm_hwm=$h
    fi
    if [[ -n $tracer ]]; then stop_tracer $tracer; fi
    echo "round $r $c: ${v} req/s, p99 ${l} ms" >&2
  done
done

# The median of a round's values (robust to one noisy round).
mean() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
base_rps=$(mean "${rps[untraced]}")
base_p99=$(mean "${p99[untraced]}")
echo
echo "gunicorn (4 sync workers, Flask) on loopback, wrk -t2 -c16 -d${duration}s, $rounds rounds, medians"
printf "%-10s %10s %8s %10s %8s   %s\n" config "req/s" ratio "p99 ms" ratio "req/s of each round"
for c in "${configs[@]}"; do
  m=$(mean "${rps[$c]}"); l=$(mean "${p99[$c]}")
  printf "%-10s %10.0f %8.3f %10.2f %8.2f   %s\n" "$c" "$m" "$(awk -v a="$m" -v b="$base_rps" 'BEGIN {print a / b}')" \
    "$l" "$(awk -v a="$l" -v b="$base_p99" 'BEGIN {print a / b}')" "${rps[$c]}"
done
watch_ratio=$(awk -v a="$(mean "${rps[watch]}")" -v b="$base_rps" 'BEGIN {print a / b}')
busy_s=$(awk -v r="$rounds" -v d="$duration" 'BEGIN {print r * d}')
echo "pmtrace watch under load: $pm_cpu s CPU over ${busy_s} s of load ($(awk -v c="$pm_cpu" -v t="$busy_s" 'BEGIN {printf "%.2f", 100 * c / t}')% of a core), peak RSS $((pm_hwm / 1024)) MiB"

# Idle: the service does nothing for 20 s.
"$pmtrace" watch --incidents "$work/incidents.jsonl" 2>"$work/idle.err" &
idle=$!
for _ in $(seq 100); do grep -q "tracing ready" "$work/idle.err" && break; sleep 0.1; done
sleep 1
i0=$(cpu_ticks $idle)
sleep 20
i1=$(cpu_ticks $idle)
kill -TERM $idle; wait $idle 2>/dev/null || true
idle_pct=$(awk -v a="$i0" -v b="$i1" -v t="$tck" 'BEGIN {printf "%.2f", 100 * (b - a) / t / 20}')
echo "pmtrace watch idle: ${idle_pct}% of one core over 20 s"

# Flood: a "gunicorn" failing opens as fast as it can.
cc -O2 -o "$work/gunicorn" "$here/workload.c"
"$pmtrace" watch --incidents "$work/incidents.jsonl" --metrics "$work/flood.prom" --window 4M 2>"$work/flood.err" &
flood_pm=$!
for _ in $(seq 100); do grep -q "tracing ready" "$work/flood.err" && break; sleep 0.1; done
rss_series=""
( "$work/gunicorn" opens 400000000 >/dev/null 2>&1 & fp=$!; sleep 10; kill $fp ) &
flooder=$!
for s in $(seq 10); do
  sleep 1
  rss_series+="$(awk '/VmRSS/ {print int($2 / 1024)}' /proc/$flood_pm/status) "
done
wait $flooder 2>/dev/null || true
sleep 1
kill -TERM $flood_pm; wait $flood_pm 2>/dev/null || true
metric() { awk -v n="$1" '$1 == n {print $2}' "$work/flood.prom"; }
echo "flood (10 s of failing opens by a process named gunicorn): pmtrace RSS each second (MiB): $rss_series"
echo "  events $(metric pmtrace_events_total), lost $(metric pmtrace_events_lost_total), ENOENT counted in the kernel $(metric pmtrace_enoent_opens_counted_total), dropped from the window $(metric pmtrace_window_dropped_events_total)"
rss_max=$(tr ' ' '\n' <<<"$rss_series" | sort -n | tail -1)
rss_min=$(tr ' ' '\n' <<<"$rss_series" | grep . | sort -n | head -1)

verdict() { if awk "BEGIN {exit !($2)}"; then echo "PASS $1"; else echo "MISS $1"; fi; }
echo
verdict "watched gunicorn within 3% of untraced req/s (ratio $watch_ratio)" "$watch_ratio >= 0.97"
verdict "pmtrace under 1% of one core while the service is idle (${idle_pct}%)" "$idle_pct < 1"
verdict "pmtrace RSS under 50 MiB (peak $((pm_hwm / 1024)) MiB under load, $rss_max MiB in the flood)" "$pm_hwm < 51200 && $rss_max < 50"
verdict "memory flat under the flood (RSS $rss_min..$rss_max MiB)" "$rss_max - $rss_min <= 4"
