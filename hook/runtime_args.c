#include "runtime_args.h"

#include <stddef.h>
#include <string.h>

/* Global options of runc and crun that take a separate value; an unknown
 * option is taken as boolean, and if that is wrong the worst outcome is an
 * untuned container, never a changed command line. */
static const char *const global_with_value[] = {
	"--log", "--log-format", "--log-level", "--root", "--criu", "--rootless", "--cgroup-manager", NULL,
};

/* Options of create/run that take a separate value (bundle and config are
 * handled on their own). */
static const char *const create_with_value[] = {
	"--console-socket", "--pid-file", "--preserve-fds", "--pidfd-socket", NULL,
};

static bool in(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* Matches -name / --name with a separate value or with "=value" (Go's flag
 * packages accept one or two dashes). Returns the value, or NULL. */
static const char *flag_value(int argc, char *const argv[], int *i, const char *lng, const char *shrt)
{
	const char *a = argv[*i];
	const char *body = a[1] == '-' ? a + 2 : a + 1;
	size_t n;
	const char *names[] = { lng, shrt };
	for (int k = 0; k < 2; k++) {
		if (names[k] == NULL)
			continue;
		n = strlen(names[k]);
		if (strncmp(body, names[k], n) != 0)
			continue;
		if (body[n] == '=')
			return body + n + 1;
		if (body[n] == '\0' && *i + 1 < argc) {
			(*i)++;
			return argv[*i];
		}
	}
	return NULL;
}

void gt_runtime_args_parse(int argc, char *const argv[], int first, struct gt_rt_args *out)
{
	memset(out, 0, sizeof(*out));
	out->subcmd = -1;
	int i;
	for (i = first; i < argc; i++) {
		const char *a = argv[i], *v;
		if (a[0] != '-')
			break;
		if (strcmp(a, "--") == 0)
			return;
		if ((v = flag_value(argc, argv, &i, "log", NULL)) != NULL)
			out->log = v;
		else if ((v = flag_value(argc, argv, &i, "log-format", NULL)) != NULL)
			out->log_json = strcmp(v, "json") == 0;
		else if (strchr(a, '=') == NULL && in(global_with_value, a))
			i++;
	}
	if (i >= argc)
		return;
	out->subcmd = i;
	const char *cmd = argv[i];
	out->tunes = strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0;
	if (!out->tunes)
		return;
	for (i++; i < argc; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0') {
			if (out->id == NULL)
				out->id = a;
			continue;
		}
		if ((v = flag_value(argc, argv, &i, "bundle", "b")) != NULL)
			out->bundle = v;
		else if ((v = flag_value(argc, argv, &i, "config", "f")) != NULL)
			out->config = v;
		else if (strchr(a, '=') == NULL && in(create_with_value, a))
			i++;
	}
}
