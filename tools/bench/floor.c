// The floor of tools/bench/run.sh: loads bpf/floor.bpf.c (an empty program
// on every tracepoint pmtrace attaches to), attaches it, says so on stdout
// ("floor attached: N programs") and holds it until SIGINT or SIGTERM. The
// workloads measured meanwhile pay what attached tracepoints cost by
// themselves, with no program doing anything.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "pmtrace_floor_bpf.skel.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(void) {
  struct floor_bpf *skel = floor_bpf__open_and_load();
  if (!skel) {
    fprintf(stderr, "floor: cannot load the floor programs: %s (root, BTF and tracefs needed)\n", strerror(errno));
    return 2;
  }
  int err = floor_bpf__attach(skel);
  if (err) {
    fprintf(stderr, "floor: cannot attach: %s\n", strerror(-err));
    floor_bpf__destroy(skel);
    return 2;
  }
  int n = 0;
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, skel->obj) n++;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  printf("floor attached: %d programs\n", n);
  fflush(stdout);
  while (!stop) pause();
  floor_bpf__destroy(skel);
  return 0;
}
