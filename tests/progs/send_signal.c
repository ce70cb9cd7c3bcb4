/* Sends a signal to a pid: send_signal SIG PID */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	if (kill(atoi(argv[2]), atoi(argv[1]))) {
		perror("kill");
		return 1;
	}
	return 0;
}
