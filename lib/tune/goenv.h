/* How a Go program reads GOMEMLIMIT, GOMAXPROCS and GOGC at start, so a
 * value the container already sets can be judged the way its runtime will
 * judge it. Checked against the runtime sources of Go 1.19
 * (runtime/string.go atoi64 and parseByteCount, proc.go schedinit,
 * mgcpacer.go readGOGC and readGOMEMLIMIT) and Go 1.26 (the same functions
 * on internal/strconv.ParseInt, which also takes a leading '+'; Go 1.25
 * still used its own Atoi32, without '+').
 *
 * Only GOMEMLIMIT can stop a program: a malformed value makes the runtime
 * throw "malformed GOMEMLIMIT" before main. A GOMAXPROCS that is not a
 * positive int32, or a GOGC that is not "off" or an int32, is ignored: Go
 * goes on with its own default. */
#ifndef GOTUNE_GOENV_H
#define GOTUNE_GOENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gt_go_verdict {
	GT_GO_USED,	/* Go takes the value */
	GT_GO_IGNORED,	/* Go ignores it and uses its default */
	GT_GO_ABORTS,	/* Go aborts at start */
};

/* minor is the entrypoint's Go 1.x minor version, or -1 when unknown (then
 * the strictest reading of the supported versions, Go 1.19 to 1.25). why
 * gets a short reason for anything but GT_GO_USED. For GOMEMLIMIT, *bytes
 * is the limit Go uses (INT64_MAX for "off" or empty). */
enum gt_go_verdict gt_go_memlimit(const char *v, int minor, uint64_t *bytes, char *why, size_t whysz);
enum gt_go_verdict gt_go_maxprocs(const char *v, int minor, char *why, size_t whysz);
enum gt_go_verdict gt_go_gogc(const char *v, int minor, char *why, size_t whysz);

#endif
