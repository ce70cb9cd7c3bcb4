/* A syscall-heavy workload for measuring pmtrace's overhead (tools/bench/run.sh).
 *
 *   workload [-o FILE] [-d TEMPLATE] MODE N
 *
 * MODE is one of
 *   opens     N openat() calls that fail: even ones ENOENT (a missing file),
 *             odd ones EACCES (a root-owned 0600 file, opened with the
 *             effective uid switched to 65534; a mode-000 file when not root)
 *   connects  N connect() to a closed 127.0.0.1 port (ECONNREFUSED), each on
 *             a new socket, closed after
 *   signals   N kill(getpid(), SIGUSR1), caught by a handler
 *   mixed     N iterations of: one failing open (alternating as above), one
 *             refused connect, one signal, one small write(2) to stderr
 *             (which the workload points at /dev/null), and on every 100th
 *             iteration a fork whose child _exits at once and is waited for
 *
 * Only the loop is timed (CLOCK_MONOTONIC), so start-up, set-up and clean-up
 * are not counted. One line is printed, on stdout or appended to FILE:
 *   mode=opens n=200000 ns_per_op=812.3 elapsed_s=0.162
 * For mixed, an "op" is one iteration (an open, a refused connect, a signal
 * and a write, plus 1/100 of a fork).
 * The failing opens use a directory made by mkdtemp(TEMPLATE), by default
 * /tmp/pmtrace-bench.XXXXXX (a '-' in a path, as in site-packages or
 * x86_64-linux-gnu, is common in real failing opens; -d changes it).
 * Any unexpected result (an open that works, a connect that is not refused)
 * stops the workload with exit status 3: a benchmark of the wrong thing is
 * worse than none. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UNPRIVILEGED_UID 65534

static volatile sig_atomic_t g_caught;
static char g_dir[4096];
static const char *g_template = "/tmp/pmtrace-bench.XXXXXX";
static char g_missing[4200]; /* ENOENT */
static char g_denied[4200];  /* EACCES */
static struct sockaddr_in g_refused;
static int g_dropped;
static int g_errfd = 2; /* the original stderr, kept when mixed points fd 2 at /dev/null */

static void on_usr1(int sig)
{
	(void)sig;
	g_caught++;
}

static void die(const char *what)
{
	dprintf(g_errfd, "workload: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void wrong(const char *what)
{
	dprintf(g_errfd, "workload: %s\n", what);
	exit(3);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A directory with one file the workload cannot open and one name that does
 * not exist. As root, CAP_DAC_OVERRIDE opens anything, so the opens run with
 * the effective uid set to 65534 (the saved uid stays 0, to clean up). */
static void setup_opens(void)
{
	if (snprintf(g_dir, sizeof g_dir, "%s", g_template) >= (int)sizeof g_dir)
		wrong("-d TEMPLATE is too long");
	if (!mkdtemp(g_dir))
		die("mkdtemp");
	if (chmod(g_dir, 0755))
		die("chmod dir");
	snprintf(g_missing, sizeof g_missing, "%s/missing", g_dir);
	snprintf(g_denied, sizeof g_denied, "%s/denied", g_dir);
	int fd = open(g_denied, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		die("create the denied file");
	close(fd);
	if (geteuid() == 0) {
		if (seteuid(UNPRIVILEGED_UID))
			die("seteuid 65534");
		g_dropped = 1;
	} else if (chmod(g_denied, 0)) {
		die("chmod 000");
	}
	errno = 0;
	if (open(g_missing, O_RDONLY) >= 0 || errno != ENOENT)
		wrong("the missing file does not fail with ENOENT");
	errno = 0;
	if (open(g_denied, O_RDONLY) >= 0 || errno != EACCES)
		wrong("the denied file does not fail with EACCES");
}

static void cleanup_opens(void)
{
	if (g_dropped && seteuid(0))
		die("seteuid 0");
	unlink(g_denied);
	rmdir(g_dir);
}

/* A port nothing listens on: bind an ephemeral port, note it, close it. */
static void setup_connects(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	if (bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&a, &len))
		die("bind an ephemeral port");
	close(s);
	g_refused = a;
}

static void setup_signals(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		die("sigaction");
}

static inline void one_open(long i)
{
	const char *p = (i & 1) ? g_denied : g_missing;
	int want = (i & 1) ? EACCES : ENOENT;
	int fd = open(p, O_RDONLY);
	if (fd >= 0 || errno != want)
		wrong("an open did not fail as expected");
}

static inline void one_connect(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket");
	if (connect(s, (struct sockaddr *)&g_refused, sizeof g_refused) == 0 || errno != ECONNREFUSED)
		wrong("a connect was not refused (is something listening on the port?)");
	close(s);
}

static inline void one_signal(void)
{
	sig_atomic_t before = g_caught;
	if (kill(getpid(), SIGUSR1))
		die("kill");
	if (g_caught == before)
		wrong("the signal was not handled");
}

static inline void one_fork(void)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(0);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
}

int main(int argc, char **argv)
{
	const char *out_path = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "o:d:")) != -1) {
		if (opt == 'o') {
			out_path = optarg;
		} else if (opt == 'd') {
			g_template = optarg;
		} else {
			fprintf(stderr, "usage: workload [-o FILE] [-d TEMPLATE] opens|connects|signals|mixed N\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: workload [-o FILE] [-d TEMPLATE] opens|connects|signals|mixed N\n");
		return 2;
	}
	const char *mode = argv[optind];
	char *end;
	long n = strtol(argv[optind + 1], &end, 10);
	if (*end || n <= 0) {
		fprintf(stderr, "workload: N must be a positive integer\n");
		return 2;
	}
	/* Open the result file before anything drops privileges. */
	FILE *out = stdout;
	if (out_path && !(out = fopen(out_path, "a")))
		die(out_path);

	int m_opens = !strcmp(mode, "opens"), m_connects = !strcmp(mode, "connects");
	int m_signals = !strcmp(mode, "signals"), m_mixed = !strcmp(mode, "mixed");
	if (!(m_opens || m_connects || m_signals || m_mixed)) {
		fprintf(stderr, "workload: unknown mode %s\n", mode);
		return 2;
	}
	if (m_connects || m_mixed)
		setup_connects();
	if (m_signals || m_mixed)
		setup_signals();
	if (m_mixed) {
		int fd = open("/dev/null", O_WRONLY);
		g_errfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if (fd < 0 || g_errfd < 0 || dup2(fd, 2) < 0)
			die("stderr to /dev/null");
		close(fd);
	}
	if (m_opens || m_mixed)
		setup_opens(); /* last: it drops the effective uid */

	static const char line[] = "workload: a small line of stderr\n";
	double t0 = now_s();
	if (m_opens) {
		for (long i = 0; i < n; i++)
			one_open(i);
	} else if (m_connects) {
		for (long i = 0; i < n; i++)
			one_connect();
	} else if (m_signals) {
		for (long i = 0; i < n; i++)
			one_signal();
	} else {
		for (long i = 0; i < n; i++) {
			one_open(i);
			one_connect();
			one_signal();
			if (write(2, line, sizeof line - 1) != (ssize_t)(sizeof line - 1))
				die("write");
			if (i % 100 == 0)
				one_fork();
		}
	}
	double elapsed = now_s() - t0;

	if (m_opens || m_mixed)
		cleanup_opens();
	fprintf(out, "mode=%s n=%ld ns_per_op=%.1f elapsed_s=%.3f\n", mode, n, elapsed * 1e9 / (double)n,
		elapsed);
	if (fclose(out))
		die("write the result");
	return 0;
}
