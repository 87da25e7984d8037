#include "pwreport.h"
#include "memfmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned pct(uint64_t part, uint64_t whole)
{
	return whole == 0 ? 0 : (unsigned)(part * 100 / whole);
}

void gt_pw_table(const struct gt_pw_set *set, const struct gt_pw_report *rep, FILE *f)
{
	fprintf(f, "%-10s %8s %9s %9s  %s\n", "SIZE", "PAGES", "BEFORE", "AFTER", "FILE");
	for (size_t i = 0; i < set->n; i++) {
		const struct gt_pw_file *pf = &set->files[i];
		char size[32];
		gt_memhuman(pf->size, size, sizeof(size));
		fprintf(f, "%-10s %8llu %8u%% ", size, (unsigned long long)pf->pages,
			pct(pf->resident_before, pf->pages));
		if (rep->mode == GT_PW_BACKGROUND || rep->mode == GT_PW_OFF)
			fprintf(f, "%9s", "-");
		else
			fprintf(f, "%8u%%", pct(pf->resident_after, pf->pages));
		fprintf(f, "  %s%s%s%s\n", pf->name, pf->skipped ? " (" : "", pf->skipped ? pf->skipped : "",
			pf->skipped ? ")" : "");
	}
	char sum[256];
	gt_pw_summary(set, rep, sum, sizeof(sum));
	fprintf(f, "%s\n", sum);
}

void gt_pw_summary(const struct gt_pw_set *set, const struct gt_pw_report *rep, char *out, size_t outsz)
{
	uint64_t total = 0;
	for (size_t i = 0; i < set->n; i++)
		total += set->files[i].size;
	char sz[32], req[32];
	gt_memhuman(total, sz, sizeof(sz));
	gt_memhuman(rep->requested, req, sizeof(req));
	int n = snprintf(out, outsz, "prewarm %s: %zu files (%u duplicate names) %s, requested %s, resident %u%%",
			 gt_pw_mode_name(rep->mode), set->n, set->duplicates, sz, req,
			 pct(rep->resident_before, rep->pages));
	if (n > 0 && (size_t)n < outsz && rep->mode != GT_PW_BACKGROUND && rep->mode != GT_PW_OFF)
		n += snprintf(out + n, outsz - (size_t)n, " -> %u%%", pct(rep->resident_after, rep->pages));
	if (n > 0 && (size_t)n < outsz)
		n += snprintf(out + n, outsz - (size_t)n, ", %.2fms", rep->ms);
	if (n > 0 && (size_t)n < outsz && rep->in_order > 0) {
		char ord[32];
		gt_memhuman(rep->in_order, ord, sizeof(ord));
		n += snprintf(out + n, outsz - (size_t)n, ", %s of it read in order", ord);
	}
	if (n > 0 && (size_t)n < outsz && rep->io_idle)
		n += snprintf(out + n, outsz - (size_t)n, ", idle I/O class%s",
			      rep->in_order_own_class ? " for what it queued" : "");
	if (n > 0 && (size_t)n < outsz && rep->stopped != NULL)
		n += snprintf(out + n, outsz - (size_t)n, ", stopped by %s", rep->stopped);
	/* Files read short and why (a budget, a file that shrank), each
	 * reason once: what was not warmed must be in the line too. */
	for (size_t i = 0; i < set->n && n > 0 && (size_t)n < outsz; i++) {
		const char *why = set->files[i].skipped;
		if (why == NULL || (rep->stopped != NULL && strcmp(why, rep->stopped) == 0))
			continue;
		bool first = true;
		unsigned count = 0;
		for (size_t k = 0; k < set->n; k++) {
			const char *w = set->files[k].skipped;
			if (w != NULL && strcmp(w, why) == 0) {
				first = first && k >= i;
				count++;
			}
		}
		if (first)
			n += snprintf(out + n, outsz - (size_t)n, ", %u file%s short: %s", count, count == 1 ? "" : "s", why);
	}
}
