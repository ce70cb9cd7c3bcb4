/* Moves itself into a cgroup (as a service manager does for a unit), then
 * execs a command: cg_exec CGROUP_DIR PROGRAM [ARGS...] */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	if (argc < 3)
		return 2;
	snprintf(path, sizeof(path), "%s/cgroup.procs", argv[1]);
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0\n", 2) != 2) {
		perror(path);
		return 2;
	}
	close(fd);
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
