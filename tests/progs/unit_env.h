/* EnvironmentFile= as the test programs playing systemd read it (simplified:
 * lines systemd accepts as NAME=value, quotes around a whole value removed;
 * anything else, such as `export NAME=value`, ignored as systemd ignores an
 * invalid name). Shared by svc_start and notify_start. */
#ifndef PM_PROGS_UNIT_ENV_H
#define PM_PROGS_UNIT_ENV_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_name(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static void load_env(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];

	if (!f) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');
		size_t len = strlen(line);

		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (!eq || line[0] == '#' || line[0] == ';')
			continue;
		if (!valid_name(line, (size_t)(eq - line)))
			continue;
		*eq = 0;
		char *v = eq + 1;
		size_t vl = strlen(v);
		if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
			v[vl - 1] = 0;
			v++;
		}
		setenv(line, v, 1);
	}
	fclose(f);
}

#endif
