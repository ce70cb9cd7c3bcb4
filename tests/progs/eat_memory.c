/* Touches MIB mebibytes of memory, one at a time: eat_memory MIB */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int i, mib = argc > 1 ? atoi(argv[1]) : 256;
	for (i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);
		if (!p)
			return 3;
		memset(p, 0x5a, 1 << 20);
	}
	printf("ate %d MiB\n", mib);
	return 0;
}
