/* A child that fails an open between fork and exec, then execs:
 *   fork_open PATH PROGRAM */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		open(argv[1], O_RDONLY);
		execl(argv[2], argv[2], (char *)NULL);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	printf("child %d done\n", (int)pid);
	return 0;
}
