/* Wall time since a CLOCK_MONOTONIC start, for the ms of every log line. */
#ifndef GOTUNE_ELAPSED_H
#define GOTUNE_ELAPSED_H

#include <time.h>

double gt_elapsed_ms(const struct timespec *start);

#endif
