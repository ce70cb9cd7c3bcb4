/* Fails to open a path N times (default 1): open_fail PATH [N] */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int i, n = argc > 2 ? atoi(argv[2]) : 1;
	if (argc < 2)
		return 2;
	for (i = 0; i < n; i++) {
		int fd = open(argv[1], O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
