/* Plays systemd's part in starting a unit's main process, the steps that can
 * fail before gunicorn runs (systemd's exec_child in src/core/execute.c):
 * joins the unit's cgroup, renames itself "(NAME)", reads EnvironmentFile=
 * (simplified: lines systemd accepts as NAME=value; anything else, such as
 * `export NAME=value`, is ignored as systemd ignores an invalid name), enters
 * WorkingDirectory= (exit 200, CHDIR), drops to User=/Group= (217), and
 * execs ExecStart= (exit 203, EXEC).
 *
 * svc_start --cgroup DIR [--env-file F] [--chdir D] [--uid N --gid N] -- PROG ARGS...
 */
#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "unit_env.h"

int main(int argc, char **argv)
{
	const char *cgroup = NULL, *env_file = NULL, *dir = NULL;
	long uid = -1, gid = -1;
	int i = 1;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 >= argc)
			return 2;
		if (!strcmp(argv[i], "--cgroup"))
			cgroup = argv[++i];
		else if (!strcmp(argv[i], "--env-file"))
			env_file = argv[++i];
		else if (!strcmp(argv[i], "--chdir"))
			dir = argv[++i];
		else if (!strcmp(argv[i], "--uid"))
			uid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--gid"))
			gid = atol(argv[++i]);
		else
			return 2;
	}
	if (i + 1 >= argc || !cgroup)
		return 2;
	char **cmd = argv + i + 1;

	char path[4096];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0\n", 2) != 2) {
		perror(path);
		return 219; /* CGROUP */
	}
	close(fd);
	const char *base = strrchr(cmd[0], '/');
	char name[16];
	snprintf(name, sizeof(name), "(%s)", base ? base + 1 : cmd[0]);
	prctl(PR_SET_NAME, name);

	if (env_file)
		load_env(env_file);
	if (dir && chdir(dir) != 0) {
		perror(dir);
		return 200; /* CHDIR */
	}
	if (gid >= 0 && (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0))
		return 216; /* GROUP */
	if (uid >= 0 && setuid((uid_t)uid) != 0)
		return 217; /* USER */
	execv(cmd[0], cmd);
	perror(cmd[0]);
	return 203; /* EXEC */
}
