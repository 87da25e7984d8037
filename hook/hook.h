/* The gotune-hook commands; each is a thin adapter over lib/. */
#ifndef GOTUNE_HOOK_H
#define GOTUNE_HOOK_H

#include <stdbool.h>
#include <time.h>

#include "elapsed.h"
#include "err.h"
#include "fileio.h"
#include "notes.h"
#include "policy.h"
#include "prewarm.h"
#include "spec.h"

int cmd_precreate(int argc, char *argv[]);
int cmd_runtime(int argc, char *argv[]);
/* As gotune-runc / gotune-crun: argv is the runtime's command line. */
int cmd_runtime_direct(int argc, char *argv[], const char *prefer);
int cmd_plan(int argc, char *argv[]);
int cmd_prestart(int argc, char *argv[]);
int cmd_prewarm(int argc, char *argv[]);

/* The policy file named by --policy, else $GOTUNE_POLICY, else the default
 * path (where a missing file means defaults: *missing_ok). */
const char *hook_policy_path(const char *explicit_path, bool *missing_ok);

/* Loads the policy named by --policy, else $GOTUNE_POLICY, else the default
 * path (where a missing file means defaults). */
int hook_load_policy(const char *explicit_path, struct gt_policy *p, gt_err_t *err);


/* Parses the only options of the hook entry points (--policy FILE, --help).
 * Returns -1 to go on, or the exit status (0 after --help, 2 on a usage
 * error: an unknown option or a stray argument). */
int hook_policy_option(int argc, char *argv[], const char *usage, const char **policy_path);

/* Confines this process for a phase when the policy asks (the default);
 * a failure is logged and work goes on. */
void hook_confine(const struct gt_policy *p, int phase);

int cmd_confine_check(int argc, char *argv[]);
int cmd_record(int argc, char *argv[]);
int cmd_profile(int argc, char *argv[]);
int cmd_nri(int argc, char *argv[]);
int cmd_nri_install(int argc, char *argv[]);
int cmd_nri_status(int argc, char *argv[]);
int cmd_doctor(int argc, char *argv[]);

#endif
