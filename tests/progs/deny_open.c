/* Drops to an unprivileged user, then opens a file it may not read: EACCES.
 *   deny_open UID PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: deny_open UID PATH\n");
		return 2;
	}
	uid_t uid = (uid_t)atoi(argv[1]);
	if (setgid(uid) || setuid(uid)) {
		perror("setuid");
		return 2;
	}
	int fd = open(argv[2], O_WRONLY | O_APPEND);
	if (fd >= 0) {
		fprintf(stderr, "deny_open: open unexpectedly worked\n");
		return 3;
	}
	fprintf(stderr, "deny_open: %s: %s\n", argv[2], strerror(errno));
	return errno == EACCES ? 0 : 4;
}
