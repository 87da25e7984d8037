#include "report.h"
#include "memfmt.h"

#include <inttypes.h>
#include <string.h>

void gt_plan_summary(const struct gt_plan *plan, char *out, size_t outsz)
{
	size_t len = 0;
	out[0] = '\0';
	for (int v = 0; v < GT_NVARS && len < outsz; v++) {
		const struct gt_decision *d = &plan->d[v];
		/* Quiet about what nobody asked for. */
		if (d->action == GT_ACT_SKIPPED && (v == GT_GOGC || v == GT_GODEBUG))
			continue;
		/* Audit mode changes nothing: the line says what it would. */
		bool would = plan->settings.audit && (d->action == GT_ACT_SET || d->action == GT_ACT_REPLACED ||
						      d->action == GT_ACT_MERGED);
		int w = snprintf(out + len, outsz - len, "%s%s%s%s (%s%s: %s%s%s%s)", len ? " " : "", gt_var_names[v],
				 d->value[0] ? "=" : "", d->value, would ? "would " : "", gt_action_name(d->action), d->reason,
				 d->basis[0] ? " [" : "", d->basis, d->basis[0] ? "]" : "");
		if (w < 0)
			break;
		len += (size_t)w;
	}
	for (size_t i = 0; i < plan->notes.n && len < outsz; i++) {
		int w = snprintf(out + len, outsz - len, "; warning: %s", plan->notes.text[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static void limit_rows(const struct gt_limits *l, const struct gt_settings *s, FILE *f)
{
	char mem[32];
	fprintf(f, "limits:\n");
	if (l->has_quota)
		fprintf(f, "  cpu quota     %" PRId64 " per %" PRIu64 " us period%s%s%s\n", l->quota, l->period,
			l->period_from_spec ? "" : " (default)", l->quota_from[0] ? " from " : "", l->quota_from);
	else
		fprintf(f, "  cpu quota     none%s%s%s\n", l->quota_from[0] ? " (" : "", l->quota_from,
			l->quota_from[0] ? ")" : "");
	if (l->cpuset_listed > 0 && l->cpuset_listed != l->cpuset_cpus)
		fprintf(f, "  cpuset        %d CPUs (%d listed, %d of them online)\n", l->cpuset_cpus, l->cpuset_listed,
			l->cpuset_cpus);
	else if (l->cpuset_cpus > 0)
		fprintf(f, "  cpuset        %d CPUs\n", l->cpuset_cpus);
	else
		fprintf(f, "  cpuset        none\n");
	if (l->has_shares && l->weight > 0)
		fprintf(f, "  cpu shares    %" PRIu64 " (from unified cpu.weight %" PRIu64 ")\n", l->shares, l->weight);
	else if (l->has_shares)
		fprintf(f, "  cpu shares    %" PRIu64 "\n", l->shares);
	if (l->has_memory) {
		gt_memhuman((uint64_t)l->memory, mem, sizeof(mem));
		fprintf(f, "  memory limit  %" PRId64 " bytes (%s)%s%s\n", l->memory, mem, l->memory_from[0] ? " from " : "",
			l->memory_from);
	} else {
		fprintf(f, "  memory limit  none%s%s%s\n", l->memory_from[0] ? " (" : "", l->memory_from,
			l->memory_from[0] ? ")" : "");
	}
	if (l->has_high) {
		gt_memhuman((uint64_t)l->high, mem, sizeof(mem));
		fprintf(f, "  memory.high   %" PRId64 " bytes (%s) from %s\n", l->high, mem, l->high_from);
	}
	if (l->n_tmpfs > 0) {
		uint64_t counted = gt_tmpfs_counted(l, s->tmpfs);
		gt_memhuman(l->tmpfs_bytes, mem, sizeof(mem));
		char c[32];
		gt_memhuman(counted, c, sizeof(c));
		fprintf(f, "  tmpfs         %s in %zu mount%s, %s subtracted (gomemlimit.tmpfs %s)\n", mem,
			l->n_tmpfs + l->tmpfs_more, l->n_tmpfs + l->tmpfs_more == 1 ? "" : "s", c,
			gt_tmpfs_mode_name(s->tmpfs));
		for (size_t i = 0; i < l->n_tmpfs; i++) {
			const struct gt_tmpfs *t = &l->tmpfs[i];
			bool in = s->tmpfs == GT_TMPFS_ALL || (s->tmpfs == GT_TMPFS_VOLUMES && !t->standard);
			gt_memhuman(t->size, mem, sizeof(mem));
			fprintf(f, "                %s %s (%s)%s\n", t->dest, mem, t->how,
				in ? "" : t->standard && s->tmpfs == GT_TMPFS_VOLUMES ? ", not counted: the runtime's own" : ", not counted");
		}
	}
	if (l->pod[0] != '\0')
		fprintf(f, "  pod           %s\n", l->pod);
	else if (!s->pod_limits)
		fprintf(f, "  pod           not read (pod_limits off)\n");
	fprintf(f, "  host CPUs     %d online\n", l->host_cpus);
	if (l->affinity_cpus > 0 && l->affinity_cpus < l->host_cpus)
		fprintf(f, "  affinity      %d CPUs for this process; %s\n", l->affinity_cpus,
			s->affinity_inherit ? "a cap (gomaxprocs.affinity=inherit)"
					    : "not a cap: runc >= 1.2.7 and crun >= 1.9.2 reset it in the container "
					      "(gomaxprocs.affinity=inherit for older ones)");
}

static void image_row(const struct gt_image *img, FILE *f)
{
	const struct gt_goinfo *g = &img->go;
	if (!img->inspected)
		fprintf(f, "\nimage:   %s\n", img->note[0] ? img->note : "image not inspected");
	else if (!g->is_go)
		fprintf(f, "\nimage:   %s: not a Go binary\n", img->note);
	else
		fprintf(f, "\nimage:   %s: Go %s, module %s, CGO_ENABLED=%s, %s/%s%s%s\n", img->note, g->version,
			g->mod[0] ? g->mod : "-", g->cgo_enabled[0] ? g->cgo_enabled : "?", g->goos, g->goarch,
			g->default_godebug[0] ? ", DefaultGODEBUG=" : "", g->default_godebug);
}

void gt_plan_table(const struct gt_plan *plan, FILE *f)
{
	limit_rows(&plan->limits, &plan->settings, f);
	image_row(&plan->image, f);
	fprintf(f, "\n%-11s %-9s %-14s %s\n", "VARIABLE", "DECISION", "VALUE", "REASON");
	for (int v = 0; v < GT_NVARS; v++) {
		const struct gt_decision *d = &plan->d[v];
		fprintf(f, "%-11s %-9s %-14s %s\n", gt_var_names[v], gt_action_name(d->action),
			d->value[0] ? d->value : "-", d->reason);
		if (d->basis[0])
			fprintf(f, "%-36s go: %s\n", "", d->basis);
	}
	for (size_t i = 0; i < plan->notes.n; i++)
		fprintf(f, "warning: %s\n", plan->notes.text[i]);
	if (plan->notes.dropped)
		fprintf(f, "warning: %zu more warnings not shown\n", plan->notes.dropped);
}

static void gen_int(yajl_gen g, const char *k, long long v)
{
	gt_gen_str(g, k);
	yajl_gen_integer(g, v);
}

void gt_plan_json(const struct gt_plan *plan, yajl_gen g)
{
	const struct gt_limits *l = &plan->limits;
	gt_gen_kv(g, "mode", plan->settings.audit ? "audit" : "enforce");
	gt_gen_str(g, "limits");
	yajl_gen_map_open(g);
	if (l->has_quota) {
		gen_int(g, "cpu_quota", l->quota);
		gen_int(g, "cpu_period", (long long)l->period);
	}
	if (l->cpuset_cpus > 0)
		gen_int(g, "cpuset_cpus", l->cpuset_cpus);
	if (l->has_shares)
		gen_int(g, "cpu_shares", (long long)l->shares);
	if (l->quota_from[0])
		gt_gen_kv(g, "cpu_quota_from", l->quota_from);
	if (l->cpuset_listed > 0)
		gen_int(g, "cpuset_listed", l->cpuset_listed);
	if (l->pod_cpus > 0)
		gen_int(g, "pod_cpus", l->pod_cpus);
	if (l->weight > 0)
		gen_int(g, "cpu_weight", (long long)l->weight);
	if (l->has_memory)
		gen_int(g, "memory_limit", l->memory);
	if (l->memory_from[0])
		gt_gen_kv(g, "memory_limit_from", l->memory_from);
	if (l->has_high)
		gen_int(g, "memory_high", l->high);
	if (l->high_from[0])
		gt_gen_kv(g, "memory_high_from", l->high_from);
	if (l->n_tmpfs > 0) {
		gen_int(g, "tmpfs_bytes", (long long)l->tmpfs_bytes);
		gen_int(g, "tmpfs_subtracted", (long long)gt_tmpfs_counted(l, plan->settings.tmpfs));
		gt_gen_str(g, "tmpfs");
		yajl_gen_array_open(g);
		for (size_t i = 0; i < l->n_tmpfs; i++) {
			yajl_gen_map_open(g);
			gt_gen_kv(g, "destination", l->tmpfs[i].dest);
			gen_int(g, "bytes", (long long)l->tmpfs[i].size);
			gt_gen_kv(g, "how", l->tmpfs[i].how);
			gt_gen_str(g, "standard");
			yajl_gen_bool(g, l->tmpfs[i].standard);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	if (l->pod[0])
		gt_gen_kv(g, "pod", l->pod);
	gen_int(g, "host_cpus", l->host_cpus);
	if (l->affinity_cpus > 0)
		gen_int(g, "affinity_cpus", l->affinity_cpus);
	yajl_gen_map_close(g);

	const struct gt_image *img = &plan->image;
	gt_gen_str(g, "image");
	yajl_gen_map_open(g);
	gt_gen_str(g, "inspected");
	yajl_gen_bool(g, img->inspected);
	gt_gen_kv(g, "note", img->note);
	gt_gen_str(g, "go");
	yajl_gen_bool(g, img->go.is_go);
	if (img->go.is_go) {
		gt_gen_kv(g, "go_version", img->go.version);
		gt_gen_kv(g, "module", img->go.mod);
		gt_gen_kv(g, "default_godebug", img->go.default_godebug);
		gt_gen_kv(g, "cgo_enabled", img->go.cgo_enabled);
		gt_gen_kv(g, "goos", img->go.goos);
		gt_gen_kv(g, "goarch", img->go.goarch);
	}
	yajl_gen_map_close(g);

	gt_gen_str(g, "vars");
	yajl_gen_map_open(g);
	for (int v = 0; v < GT_NVARS; v++) {
		const struct gt_decision *d = &plan->d[v];
		gt_gen_str(g, gt_var_names[v]);
		yajl_gen_map_open(g);
		gt_gen_kv(g, "action", gt_action_name(d->action));
		if (d->value[0])
			gt_gen_kv(g, "value", d->value);
		gt_gen_kv(g, "reason", d->reason);
		if (d->basis[0])
			gt_gen_kv(g, "basis", d->basis);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);

	gt_gen_str(g, "warnings");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < plan->notes.n; i++)
		gt_gen_str(g, plan->notes.text[i]);
	yajl_gen_array_close(g);
}
