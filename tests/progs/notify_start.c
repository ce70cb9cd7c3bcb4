/* Plays systemd's start job for a Type=notify unit, the part users wrap with
 * `systemctl start` (src/core/service.c): a notification socket, the main
 * process forked into the unit's cgroup with NOTIFY_SOCKET set, READY=1
 * accepted only from the main process (NotifyAccess=main), and at
 * TimeoutStartSec "start operation timed out. Terminating.": SIGTERM to the
 * main process, SIGKILL after TimeoutStopSec. It blocks, as systemctl start
 * does, until the service is ready (exit 0) or the start failed (exit 1).
 * With --stop-after it stays on as the manager and runs a stop job that long
 * after READY=1 (SIGTERM to the main process, as `systemctl stop` makes it).
 *
 * notify_start --cgroup DIR --timeout-start MS [--stop-after MS]
 *              [--env-file F] [--chdir D] -- PROG ARGS...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit_env.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The main process's end, waited for up to ms; 1 when it ended. */
static int reap(pid_t pid, long long ms, int *status)
{
	long long until = now_ms() + ms;

	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		if (now_ms() >= until)
			return 0;
		usleep(20000);
	}
}

static void stop(pid_t pid, const char *why)
{
	int status;

	fprintf(stderr, "notify_start: %s. Terminating.\n", why);
	kill(pid, SIGTERM);
	if (!reap(pid, 5000, &status)) {
		fprintf(stderr, "notify_start: State 'stop-sigterm' timed out. Killing.\n");
		kill(pid, SIGKILL);
		reap(pid, 5000, &status);
	}
}

int main(int argc, char **argv)
{
	const char *cgroup = NULL, *env_file = NULL, *dir = NULL;
	long long timeout = 90000, stop_after = -1;
	int i = 1;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 >= argc)
			return 2;
		if (!strcmp(argv[i], "--cgroup"))
			cgroup = argv[++i];
		else if (!strcmp(argv[i], "--timeout-start"))
			timeout = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--stop-after"))
			stop_after = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--env-file"))
			env_file = argv[++i];
		else if (!strcmp(argv[i], "--chdir"))
			dir = argv[++i];
		else
			return 2;
	}
	if (!cgroup || i + 1 >= argc)
		return 2;

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/pmtest-notify-%d.sock", getpid());
	unlink(addr.sun_path);
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
		perror("notify socket");
		return 1;
	}
	chmod(addr.sun_path, 0777);

	long long started = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		char procs[4096];
		int fd;

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
		fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(219); /* CGROUP */
		close(fd);
		if (env_file)
			load_env(env_file);
		setenv("NOTIFY_SOCKET", addr.sun_path, 1);
		if (dir && chdir(dir) != 0)
			_exit(200); /* CHDIR */
		execv(argv[i + 1], argv + i + 1);
		_exit(203); /* EXEC */
	}

	int ready = 0, status;
	while (!ready) {
		long long left = started + timeout - now_ms();
		if (left <= 0) {
			stop(pid, "start operation timed out");
			fprintf(stderr, "notify_start: Failed with result 'timeout'.\n");
			unlink(addr.sun_path);
			return 1;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "notify_start: Main process exited, status=%d\n",
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			unlink(addr.sun_path);
			return 1;
		}
		struct pollfd p = {.fd = sock, .events = POLLIN};
		if (poll(&p, 1, left < 100 ? (int)left : 100) <= 0)
			continue;
		char buf[4096], cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(sock, &msg, 0);
		if (n < 0)
			continue;
		buf[n] = 0;
		pid_t sender = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
				sender = ((struct ucred *)CMSG_DATA(c))->pid;
		if (sender != pid) {
			fprintf(stderr, "notify_start: Got notification message from PID %d, but reception only "
					"permitted for main PID %d\n", (int)sender, (int)pid);
			continue;
		}
		if (strstr(buf, "READY=1"))
			ready = 1;
	}
	fprintf(stderr, "notify_start: Started (main PID %d).\n", (int)pid);
	if (stop_after >= 0) {
		if (reap(pid, stop_after, &status)) {
			fprintf(stderr, "notify_start: Main process exited\n");
			unlink(addr.sun_path);
			return 1;
		}
		stop(pid, "Stopping");
	}
	unlink(addr.sun_path);
	return 0;
}
