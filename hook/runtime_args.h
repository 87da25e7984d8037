/* Reading a runc/crun command line the way the runtime will, to find the
 * subcommand and the bundle without changing a single argument. */
#ifndef GOTUNE_RUNTIME_ARGS_H
#define GOTUNE_RUNTIME_ARGS_H

#include <stdbool.h>

/* More --env options than this and the wrapper leaves an exec alone. */
#define GT_RT_MAX_ENV 64

struct gt_rt_args {
	int subcmd;		/* index of the subcommand in argv, or -1 */
	const char *bundle;	/* --bundle/-b value, NULL for the cwd */
	const char *config;	/* crun's --config/-f value, NULL for config.json */
	const char *id;		/* the container id (first positional after the subcommand) */
	bool tunes;		/* create or run: the spec is read now */
	const char *root;	/* the runtime's --root, or NULL for its default */
	const char *log;	/* the runtime's --log file, or NULL */
	bool log_json;		/* --log-format json */
	const char *refuse;	/* a -b/-f form runc and crun read differently: tune nothing */
	bool exec;		/* exec: the process gets the container's tuning */
	bool delete_;		/* delete: the container's exec record goes */
	const char *process;	/* exec --process/-p FILE; NULL for the inline form */
	const char *exec_env[GT_RT_MAX_ENV];	/* the inline form's --env/-e values */
	int n_exec_env;
};

/* argv[0] is the program; runtime arguments start at argv[first]. */
void gt_runtime_args_parse(int argc, char *const argv[], int first, struct gt_rt_args *out);

/* Removes "NAME VALUE" or "NAME=VALUE" from the global options (those
 * before the subcommand) of argv, sets *value to the last one, and returns
 * the new argc. For gotune-runc's own --runtime, an option neither runc nor
 * crun has. */
int gt_runtime_args_take(int argc, char *argv[], const char *name, const char **value);

#endif
