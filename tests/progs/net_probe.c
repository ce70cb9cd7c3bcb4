/* Network failures on loopback:
 *   net_probe refused PORT   connect to a closed port: ECONNREFUSED
 *   net_probe stall          connect to a listener whose accept queue is full:
 *                            the SYN is dropped, connect waits (2.5 s limit)
 *   net_probe inuse          bind a port a listener of ours already holds */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int listener(int backlog, int *port)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, backlog)) {
		perror("listener");
		exit(2);
	}
	getsockname(s, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: net_probe refused PORT | stall | inuse\n");
		return 2;
	}
	if (!strcmp(argv[1], "refused") && argc == 3) {
		struct sockaddr_in a = loopback(atoi(argv[2]));
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int r = connect(s, (struct sockaddr *)&a, sizeof(a));
		printf("connect: %s\n", r ? strerror(errno) : "ok");
		return r && errno == ECONNREFUSED ? 0 : 3;
	}
	if (!strcmp(argv[1], "stall")) {
		int port, i;
		int l = listener(0, &port); /* accept queue holds backlog+1 = 1 */
		struct sockaddr_in a = loopback(port);
		struct timeval tv = {2, 500000};
		(void)l;
		/* Fill the accept queue (never accepted). */
		for (i = 0; i < 2; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			struct timeval quick = {0, 300000};
			setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &quick, sizeof(quick));
			connect(s, (struct sockaddr *)&a, sizeof(a));
		}
		int s = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		int r = connect(s, (struct sockaddr *)&a, sizeof(a));
		printf("stalled connect to port %d: %s\n", port, r ? strerror(errno) : "ok");
		return 0;
	}
	if (!strcmp(argv[1], "inuse")) {
		int port;
		int l = listener(8, &port);
		struct sockaddr_in a = loopback(port);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int r = bind(s, (struct sockaddr *)&a, sizeof(a));
		printf("bind port %d: %s\n", port, r ? strerror(errno) : "ok");
		(void)l;
		return r && errno == EADDRINUSE ? 0 : 3;
	}
	fprintf(stderr, "net_probe: unknown mode %s\n", argv[1]);
	return 2;
}
