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

/* Options of exec that take a separate value (runc 1.1, crun 1.8); --env
 * and --process are read on their own. */
static const char *const exec_with_value[] = {
	"--console-socket", "--pidfd-socket", "--pid-file", "--cwd", "--user", "-u", "--additional-gids", "-g",
	"--process-label", "--apparmor", "--cap", "-c", "--preserve-fds", "--cgroup", NULL,
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

/* The bundle and config options as both runc and crun read them, checked
 * against crun 1.8 and runc 1.1: "--bundle X", "--bundle=X", "-b X", and
 * crun's attached "-bX" (runc refuses that form, so crun's reading is the
 * only one that creates a container); the same for --config / -f (crun
 * only). Any other form starting with -b, -f, --b or --f is read
 * differently by the two ("-b=X": crun's bundle is "=X"; "-bundle X":
 * runc's is X, crun's "undle"; "--bun X": crun's abbreviation, an error for
 * runc), so the wrapper names it in refuse and tunes nothing. Returns true
 * when argv[*i] was such an option. */
static bool bundle_or_config(int argc, char *const argv[], int *i, struct gt_rt_args *out)
{
	const char *a = argv[*i];
	static const struct { const char *lng, *shrt; } opts[] = { { "--bundle", "-b" }, { "--config", "-f" } };
	for (int k = 0; k < 2; k++) {
		const char **slot = k == 0 ? &out->bundle : &out->config;
		size_t ln = strlen(opts[k].lng);
		const char *v = NULL;
		if (strcmp(a, opts[k].lng) == 0 || strcmp(a, opts[k].shrt) == 0) {
			if (*i + 1 >= argc) {
				out->refuse = a;
				return true;
			}
			v = argv[++*i];
		} else if (strncmp(a, opts[k].lng, ln) == 0 && a[ln] == '=') {
			v = a + ln + 1;
		} else if (a[1] != '-' && strncmp(a + 1, opts[k].lng + 2, ln - 2) == 0) {
			out->refuse = a;	/* -bundle, -config: Go's single-dash long form */
			return true;
		} else if (strncmp(a, opts[k].shrt, 2) == 0) {
			if (a[2] == '=') {
				out->refuse = a;
				return true;
			}
			v = a + 2;
		} else if (a[1] == '-' && strcspn(a, "=") >= 3 && strncmp(opts[k].lng, a, strcspn(a, "=")) == 0) {
			out->refuse = a;	/* --bun, --conf=X: crun's abbreviations */
			return true;
		} else {
			continue;
		}
		*slot = v;
		return true;
	}
	return false;
}

/* A long option of exec written with one dash (Go's flag packages take
 * -pid-file for --pid-file): not crun's attached -pFILE. */
static bool single_dash_long(const char *a)
{
	for (const char *const *l = exec_with_value; *l != NULL; l++)
		if ((*l)[1] == '-' && strcmp(*l + 1, a) == 0)
			return true;
	return false;
}

/* crun's attached value of a short option: -pFILE, -eK=V. */
static const char *attached(const char *a, char opt)
{
	if (a[0] != '-' || a[1] != opt || a[2] == '\0' || a[2] == '=' || single_dash_long(a))
		return NULL;
	return a + 2;
}

/* exec [OPTIONS] ID [COMMAND...]: the options end at the id, after which
 * everything is the command's. -p/--process and -e/--env in every form
 * either runtime takes (crun's attached -pFILE and -eK=V too). */
static void parse_exec(int argc, char *const argv[], int i, struct gt_rt_args *out)
{
	out->exec = true;
	for (; i < argc; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc)
				out->id = argv[i + 1];
			return;
		}
		if (a[0] != '-' || a[1] == '\0') {
			out->id = a;
			return;
		}
		if ((v = flag_value(argc, argv, &i, "process", "p")) != NULL || (v = attached(a, 'p')) != NULL) {
			out->process = v;
		} else if ((v = flag_value(argc, argv, &i, "env", "e")) != NULL || (v = attached(a, 'e')) != NULL) {
			if (out->n_exec_env == GT_RT_MAX_ENV) {
				out->refuse = a;
				return;
			}
			out->exec_env[out->n_exec_env++] = v;
		} else if (strchr(a, '=') == NULL && (in(exec_with_value, a) || single_dash_long(a))) {
			i++;
		}
	}
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
		else if ((v = flag_value(argc, argv, &i, "root", NULL)) != NULL)
			out->root = v;
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
	if (strcmp(cmd, "exec") == 0) {
		parse_exec(argc, argv, i + 1, out);
		return;
	}
	if (strcmp(cmd, "delete") == 0) {
		/* delete [--force|-f] ID: runc and crun have no option with a
		 * value here. */
		for (i++; i < argc && out->id == NULL; i++)
			if (strcmp(argv[i], "--") == 0)
				out->id = i + 1 < argc ? argv[i + 1] : NULL;
			else if (argv[i][0] != '-' || argv[i][1] == '\0')
				out->id = argv[i];
		out->delete_ = out->id != NULL;
		return;
	}
	if (!out->tunes)
		return;
	for (i++; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0') {
			if (out->id == NULL)
				out->id = a;
			continue;
		}
		if (bundle_or_config(argc, argv, &i, out))
			continue;
		if (strchr(a, '=') == NULL && in(create_with_value, a))
			i++;
	}
}

int gt_runtime_args_take(int argc, char *argv[], const char *name, const char **value)
{
	size_t n = strlen(name);
	for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
		int drop = 0;
		if (strcmp(argv[i], name) == 0 && i + 1 < argc) {
			*value = argv[i + 1];
			drop = 2;
		} else if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') {
			*value = argv[i] + n + 1;
			drop = 1;
		} else if (strchr(argv[i], '=') == NULL && in(global_with_value, argv[i])) {
			i++;
			continue;
		} else {
			continue;
		}
		/* argv[argc] is NULL and moves down with the rest. */
		memmove(&argv[i], &argv[i + drop], (size_t)(argc - i - drop + 1) * sizeof(*argv));
		argc -= drop;
		i--;
	}
	return argc;
}
