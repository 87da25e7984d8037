/* Limits as engines write them: the kernel's value grammars, Go's reading
 * of user values, linux.resources with `unified` over it, memory-backed
 * mounts, and pod-level limits from a cgroup filesystem laid out as v1 and
 * as v2 in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "closure.h"
#include "rootfs.h"
#include "cgvalue.h"
#include "goenv.h"
#include "json.h"
#include "mountinfo.h"
#include "resources.h"
#include "tap.h"

static void kernel_values(void)
{
	uint64_t b;
	ok(gt_kmemparse("400m", &b) && b == 400ull << 20, "memparse 400m (Podman passes --cgroup-conf values verbatim)");
	ok(gt_kmemparse("1G", &b) && b == 1ull << 30, "memparse 1G");
	ok(gt_kmemparse("0x1000", &b) && b == 4096, "memparse hex");
	ok(gt_kmemparse("010", &b) && b == 8, "memparse: a leading 0 is octal, as simple_strtoull base 0");
	ok(!gt_kmemparse("1Gi", &b), "memparse: one suffix letter only");
	ok(!gt_kmemparse("", &b) && !gt_kmemparse("m", &b), "memparse: digits first");
	ok(gt_kmemparse("99999999999999999999E", &b) && b == UINT64_MAX, "memparse saturates");

	bool unl;
	ok(gt_cg_memory(" max\n", &unl, &b) == 0 && unl, "memory.max \"max\" (whitespace stripped)");
	ok(gt_cg_memory("209715200", &unl, &b) == 0 && !unl && b == 209715200, "memory.max bytes");
	ok(gt_cg_memory("", &unl, &b) < 0, "memory.max \"\" refused (would be a limit of 0)");
	ok(gt_cg_memory("MAX", &unl, &b) < 0, "memory.max: \"max\" is case-sensitive");

	struct gt_cpu_max cm;
	ok(gt_cg_cpu_max("max 100000", &cm) == 0 && cm.unlimited && cm.has_period && cm.period == 100000,
	   "cpu.max \"max 100000\"");
	ok(gt_cg_cpu_max("50000", &cm) == 0 && !cm.unlimited && cm.quota == 50000 && !cm.has_period,
	   "cpu.max quota alone keeps the cgroup's period");
	ok(gt_cg_cpu_max("25000 50000\n", &cm) == 0 && cm.quota == 25000 && cm.period == 50000, "cpu.max quota period");
	ok(gt_cg_cpu_max("1 2 3", &cm) < 0 && gt_cg_cpu_max("x", &cm) < 0 && gt_cg_cpu_max("", &cm) < 0,
	   "cpu.max malformed");
	ok(gt_cg_cpu_weight("100", &b) == 0 && b == 100 && gt_cg_cpu_weight("0", &b) < 0 &&
		   gt_cg_cpu_weight("10001", &b) < 0,
	   "cpu.weight 1..10000");
	is_int(gt_weight_to_shares(100), 1024, "weight 100 stands for 1024 shares (runc and crun's conversion)");
	is_int(gt_weight_to_shares(1), 2, "weight 1 -> 2 shares");
	is_int(gt_weight_to_shares(10000), 262144, "weight 10000 -> 262144 shares");
	ok(gt_tmpfs_size("65536k", 0, &b) == 0 && b == 64ull << 20, "tmpfs size=65536k");
	ok(gt_tmpfs_size("50%", 8ull << 30, &b) == 0 && b == 4ull << 30, "tmpfs size=50%% of RAM");
	ok(gt_tmpfs_size("10x", 0, &b) < 0, "tmpfs size garbage");
}

static void go_values(void)
{
	uint64_t b;
	char why[256];
	is_int(gt_go_memlimit("180MiB", -1, &b, why, sizeof(why)), GT_GO_USED, "GOMEMLIMIT=180MiB");
	is_int(b, 180ull << 20, "... 180 MiB");
	is_int(gt_go_memlimit("180M", -1, &b, why, sizeof(why)), GT_GO_ABORTS, "GOMEMLIMIT=180M aborts: %s", why);
	is_int(gt_go_memlimit("off", -1, &b, why, sizeof(why)), GT_GO_USED, "GOMEMLIMIT=off");
	is_int(gt_go_memlimit("", -1, &b, why, sizeof(why)), GT_GO_USED, "GOMEMLIMIT= (empty) means unset");
	is_int(gt_go_memlimit("-0", -1, &b, why, sizeof(why)), GT_GO_USED, "GOMEMLIMIT=-0 (atoi64 takes a '-', 0 is >= 0)");
	is_int(gt_go_memlimit("-1", -1, &b, why, sizeof(why)), GT_GO_ABORTS, "GOMEMLIMIT=-1 aborts");
	is_int(gt_go_memlimit("+5MiB", 25, &b, why, sizeof(why)), GT_GO_ABORTS, "go1.25: a '+' aborts");
	is_int(gt_go_memlimit("+5MiB", 26, &b, why, sizeof(why)), GT_GO_USED, "go1.26: strconv.ParseInt takes a '+'");
	is_int(gt_go_memlimit("+5MiB", -1, &b, why, sizeof(why)), GT_GO_ABORTS, "unknown Go: the strict reading");
	is_int(gt_go_memlimit("8589934591GiB", -1, &b, why, sizeof(why)), GT_GO_USED, "largest GiB that fits int64");
	is_int(gt_go_memlimit("8589934592GiB", -1, &b, why, sizeof(why)), GT_GO_ABORTS, "one more overflows");
	is_int(gt_go_memlimit("1KB", -1, &b, why, sizeof(why)), GT_GO_ABORTS, "KB is not KiB");
	is_int(gt_go_memlimit("180M", 18, &b, why, sizeof(why)), GT_GO_IGNORED, "go1.18 does not read GOMEMLIMIT");
	is_int(gt_go_maxprocs("4", -1, why, sizeof(why)), GT_GO_USED, "GOMAXPROCS=4");
	is_int(gt_go_maxprocs("0", -1, why, sizeof(why)), GT_GO_IGNORED, "GOMAXPROCS=0 ignored: %s", why);
	is_int(gt_go_maxprocs("two", -1, why, sizeof(why)), GT_GO_IGNORED, "GOMAXPROCS=two ignored");
	is_int(gt_go_maxprocs("2147483648", -1, why, sizeof(why)), GT_GO_IGNORED, "GOMAXPROCS past int32 ignored");
	is_int(gt_go_maxprocs("+2", 26, why, sizeof(why)), GT_GO_USED, "go1.26 GOMAXPROCS=+2");
	is_int(gt_go_gogc("off", -1, why, sizeof(why)), GT_GO_USED, "GOGC=off");
	is_int(gt_go_gogc("-1", -1, why, sizeof(why)), GT_GO_USED, "GOGC=-1 (negative is off)");
	is_int(gt_go_gogc("50%", -1, why, sizeof(why)), GT_GO_IGNORED, "GOGC=50%% ignored: %s", why);
}

static char tmp[256];

static void put(const char *rel, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	for (char *s = p + strlen(tmp) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	if (f == NULL) {
		printf("Bail out! cannot write %s\n", p);
		exit(1);
	}
	fputs(content, f);
	fclose(f);
}

static void limits_of(const char *json, const struct gt_host *h, bool pod, struct gt_limits *l, struct gt_notes *n)
{
	yajl_val tree = NULL;
	gt_err_t err = NULL;
	memset(n, 0, sizeof(*n));
	if (gt_json_parse(json, strlen(json), "test", &tree, &err) < 0) {
		printf("Bail out! %s\n", gt_err_msg(err));
		exit(1);
	}
	struct gt_limits_opts opts = { .pod_limits = pod };
	gt_limits_from_spec(tree, h, &opts, l, n);
	yajl_tree_free(tree);
}

static void spec_limits(void)
{
	struct gt_host h;
	gt_host_fixed(&h, 4);
	struct gt_limits l;
	struct gt_notes n;

	/* CRI-O writes period 0 for containers without a CPU limit. */
	limits_of("{\"linux\":{\"resources\":{\"cpu\":{\"quota\":0,\"period\":0}}}}", &h, false, &l, &n);
	ok(!l.has_quota && n.n == 0, "period 0 without a quota: no note (got %zu)", n.n);
	limits_of("{\"linux\":{\"resources\":{\"cpu\":{\"quota\":50000,\"period\":0}}}}", &h, false, &l, &n);
	ok(l.has_quota && l.period == 100000 && n.n == 1, "period 0 with a quota: the default period, and a note");

	/* The review case: runc writes the unified map last. */
	limits_of("{\"linux\":{\"resources\":{\"memory\":{\"limit\":1073741824},\"cpu\":{\"quota\":50000},"
		  "\"unified\":{\"memory.max\":\"max\",\"cpu.max\":\"max 100000\"}}}}",
		  &h, false, &l, &n);
	ok(!l.has_memory && !l.has_quota, "memory.limit 1GiB + quota 50000 under unified max/max: no limits");
	is_str(l.memory_from, "unified memory.max=\"max\" over memory.limit 1GiB", "and says which won");

	limits_of("{\"linux\":{\"resources\":{\"cpu\":{\"quota\":400000,\"period\":200000},"
		  "\"unified\":{\"cpu.max\":\"50000\",\"memory.max\":\"200M\",\"memory.high\":\"150M\"}}}}",
		  &h, false, &l, &n);
	ok(l.has_quota && l.quota == 50000 && l.period == 200000,
	   "cpu.max without a period keeps the one written before it (cpu.period 200000)");
	ok(l.has_memory && l.memory == 200 << 20 && l.has_high && l.high == 150 << 20,
	   "unified memory.max and memory.high, with memparse suffixes");
	is_str(l.quota_from, "unified cpu.max", "quota source");

	limits_of("{\"linux\":{\"resources\":{\"unified\":{\"cpu.max\":\"max\",\"cpu.max\":\"20000 100000\"}}}}", &h, false,
		  &l, &n);
	ok(l.has_quota && l.quota == 20000, "a repeated unified key: the last wins, as in Go's JSON decoding");

	limits_of("{\"linux\":{\"resources\":{\"unified\":{\"memory.max\":\"lots\",\"cpu.weight\":\"100\"}}}}", &h,
		  false, &l, &n);
	ok(!l.has_memory && n.n == 1 && strstr(n.text[0], "memory.max") != NULL, "a value the kernel refuses is noted");
	ok(l.has_shares && l.shares == 1024 && l.weight == 100, "cpu.weight 100 is 1024 shares");

	limits_of("{\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"2-9\"}}}}", &h, false, &l, &n);
	ok(l.cpuset_listed == 8 && l.cpuset_cpus == 2, "cpuset 2-9 on a 4-CPU host: 2 of them online");

	/* Mounts: sized, writable tmpfs; /dev and read-only ones are not. */
	limits_of("{\"mounts\":[{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"options\":[\"size=65536k\"]},"
		  "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"options\":[\"mode=1777\",\"size=65536k\"]},"
		  "{\"destination\":\"/scratch\",\"type\":\"tmpfs\",\"options\":[\"size=1m\",\"size=100m\"]},"
		  "{\"destination\":\"/ro\",\"type\":\"tmpfs\",\"options\":[\"size=100m\",\"ro\"]},"
		  "{\"destination\":\"/nosize\",\"type\":\"tmpfs\"}]}",
		  &h, false, &l, &n);
	is_int(l.n_tmpfs, 2, "/dev/shm and /scratch counted; /dev, read-only and unsized not");
	is_int(l.tmpfs_bytes, 164ull << 20, "64 MiB + 100 MiB (the last size= wins)");
	is_int(l.tmpfs_standard_bytes, 64ull << 20, "/dev/shm is the runtime's standard mount");
	is_int(gt_tmpfs_counted(&l, GT_TMPFS_VOLUMES), 100ull << 20, "volumes: /scratch only");
	is_int(gt_tmpfs_counted(&l, GT_TMPFS_ALL), 164ull << 20, "all: both");

	/* Binds of a tmpfs: known only from the host's mount table. */
	snprintf(tmp, sizeof(tmp), "/tmp/gt-limits-%d", (int)getpid());
	mkdir(tmp, 0755);
	put("mountinfo", "22 1 0:21 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
			 "30 22 0:40 / /var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/cache rw - tmpfs tmpfs rw,size=262144k\n"
			 "31 22 0:41 / /run/ctr/sandboxes/s1/shm rw,nosuid - tmpfs shm rw,size=65536k,mode=1777\n"
			 "32 22 0:42 / /var/lib/kubelet/pods/u1/volumes/kubernetes.io~secret/tok ro - tmpfs tmpfs rw,size=1048576k\n"
			 "33 22 0:43 /sub /data/dir rw - tmpfs tmpfs rw,size=1024k\n"
			 "34 22 0:44 / /with\\040space rw - tmpfs tmpfs rw,size=2048k\n");
	char mi[300];
	snprintf(mi, sizeof(mi), "%s/mountinfo", tmp);
	h.probe = true;
	h.mountinfo = mi;
	limits_of("{\"mounts\":["
		  "{\"destination\":\"/cache\",\"type\":\"bind\",\"source\":\"/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/cache\",\"options\":[\"rbind\",\"rw\"]},"
		  "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/run/ctr/sandboxes/s1/shm\",\"options\":[\"rbind\",\"rw\"]},"
		  "{\"destination\":\"/var/run/secrets/tok\",\"type\":\"bind\",\"source\":\"/var/lib/kubelet/pods/u1/volumes/kubernetes.io~secret/tok\",\"options\":[\"rbind\",\"ro\"]},"
		  "{\"destination\":\"/d\",\"source\":\"/data/dir\",\"options\":[\"bind\"]},"
		  "{\"destination\":\"/s\",\"source\":\"/with space\",\"options\":[\"bind\"]},"
		  "{\"destination\":\"/e\",\"type\":\"bind\",\"source\":\"/etc/hosts\",\"options\":[\"bind\"]}]}",
		  &h, false, &l, &n);
	is_int(l.n_tmpfs, 3, "emptyDir (Memory), the sandbox's /dev/shm and an escaped path; not the read-only secret, "
			     "nor a subdirectory of a tmpfs, nor a plain file");
	is_int(l.tmpfs_bytes, (256ull + 64 + 2) << 20, "256 MiB + 64 MiB + 2 MiB");
	is_str(l.tmpfs[0].how, "bind of a tmpfs, size=262144k", "and says how it was found");

	struct gt_mounts ms;
	gt_err_t err = NULL;
	ok(gt_mounts_read(mi, &ms, &err) == 0 && ms.n == 6, "mountinfo: 6 mounts");
	const struct gt_mount *m = gt_mounts_at(&ms, "/with space");
	ok(m != NULL && strcmp(m->fstype, "tmpfs") == 0, "\\040 is a space");
	gt_mounts_free(&ms);
}

static void cgroup_paths(void)
{
	char out[1024];
	gt_err_t err = NULL;
	ok(gt_cgroup_parent_path("/kubepods/burstable/pod1/ctr", out, sizeof(out), &err) == 0, "cgroupfs path");
	is_str(out, "/kubepods/burstable/pod1", "its parent");
	ok(gt_cgroup_parent_path("kubepods-burstable-pod1.slice:cri-containerd:abc", out, sizeof(out), &err) == 0,
	   "systemd slice:prefix:name");
	is_str(out, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
	       "the slice, expanded as runc's ExpandSlice");
	ok(gt_cgroup_parent_path(":docker:abc", out, sizeof(out), &err) == 0 && strcmp(out, "/system.slice") == 0,
	   "an empty slice is system.slice");
	ok(gt_cgroup_parent_path("/ctr", out, sizeof(out), &err) == 0 && out[0] == '\0', "no parent below the root");
	ok(gt_cgroup_parent_path("-.slice:p:n", out, sizeof(out), &err) == 0 && out[0] == '\0', "-.slice is the root");
	ok(gt_cgroup_parent_path("/a/../../etc/ctr", out, sizeof(out), &err) < 0, "\"..\" refused: %s", gt_err_msg(err));
	gt_err_free(&err);
	ok(gt_cgroup_parent_path("rel/ctr", out, sizeof(out), &err) < 0, "relative refused");
	gt_err_free(&err);
	ok(gt_cgroup_parent_path("a--b.slice:p:n", out, sizeof(out), &err) < 0, "a bad slice name refused");
	gt_err_free(&err);
	ok(gt_cgroup_parent_path("a:b", out, sizeof(out), &err) < 0, "one colon is neither form");
	gt_err_free(&err);
}

static void cgroup_read(void)
{
	struct gt_host h;
	gt_host_fixed(&h, 8);
	h.probe = true;
	struct gt_pod_limits pod;
	gt_err_t err = NULL;
	char root[300];

	/* v2: one tree, cgroup.controllers at its top. */
	snprintf(root, sizeof(root), "%s/v2", tmp);
	put("v2/cgroup.controllers", "cpuset cpu io memory pids\n");
	put("v2/kubepods.slice/kubepods-pod1.slice/memory.max", "536870912\n");
	put("v2/kubepods.slice/kubepods-pod1.slice/memory.high", "max\n");
	put("v2/kubepods.slice/kubepods-pod1.slice/cpu.max", "150000 100000\n");
	put("v2/kubepods.slice/kubepods-pod1.slice/cpuset.cpus.effective", "0-3\n");
	h.cgroupfs = root;
	ok(gt_cgroup_read_limits("/kubepods.slice/kubepods-pod1.slice", &h, NULL, &pod, &err) == 0, "v2 pod cgroup read");
	ok(pod.has_memory && pod.memory == 512ull << 20 && !pod.has_high, "v2 memory.max 512 MiB, memory.high max");
	ok(pod.has_quota && pod.quota == 150000 && pod.period == 100000 && pod.cpus == 4, "v2 cpu.max and cpuset");
	is_str(pod.where, "cgroup v2 /kubepods.slice/kubepods-pod1.slice", "where");
	ok(gt_cgroup_read_limits("/no/such", &h, NULL, &pod, &err) == 0 && !pod.has_memory && !pod.has_quota,
	   "a cgroup that does not exist has no limits");

	/* v1: a directory per controller (cpu,cpuacct joined as on many hosts). */
	snprintf(root, sizeof(root), "%s/v1", tmp);
	put("v1/memory/kubepods/burstable/pod2/memory.limit_in_bytes", "268435456\n");
	put("v1/cpu,cpuacct/kubepods/burstable/pod2/cpu.cfs_quota_us", "25000\n");
	put("v1/cpu,cpuacct/kubepods/burstable/pod2/cpu.cfs_period_us", "50000\n");
	put("v1/memory/kubepods/burstable/pod3/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1/cpu,cpuacct/kubepods/burstable/pod3/cpu.cfs_quota_us", "-1\n");
	h.cgroupfs = root;
	ok(gt_cgroup_read_limits("/kubepods/burstable/pod2", &h, NULL, &pod, &err) == 0 && pod.has_memory &&
		   pod.memory == 256ull << 20 && pod.has_quota && pod.quota == 25000 && pod.period == 50000,
	   "v1 pod cgroup: 256 MiB, 25000/50000");
	ok(gt_cgroup_read_limits("/kubepods/burstable/pod3", &h, NULL, &pod, &err) == 0 && !pod.has_memory && !pod.has_quota,
	   "v1 unlimited values are no limits");

	/* A link planted in the tree is not followed (to a cgroup with a
	 * limit, so following it would show). */
	char link[400], target[400];
	snprintf(link, sizeof(link), "%s/v1/memory/evil", tmp);
	snprintf(target, sizeof(target), "%s/v1/memory/kubepods/burstable/pod2", tmp);
	ok(symlink(target, link) == 0, "plant a link in the v1 tree");
	ok(gt_cgroup_read_limits("/evil", &h, NULL, &pod, &err) == 0 && !pod.has_memory, "a symlinked cgroup is not read");

	/* The pod bounds the container: used where lower or absent. */
	struct gt_limits l;
	struct gt_notes n;
	h.cgroupfs = root;
	limits_of("{\"linux\":{\"cgroupsPath\":\"/kubepods/burstable/pod2/ctr\",\"resources\":{\"memory\":{\"limit\":1073741824}}}}",
		  &h, true, &l, &n);
	ok(l.has_memory && l.memory == 256 << 20 && l.has_quota && l.quota == 25000 && l.period == 50000,
	   "container 1 GiB under a 256 MiB pod: 256 MiB; no quota of its own: the pod's");
	is_str(l.memory_from, "pod cgroup v1 /kubepods/burstable/pod2", "memory from the pod");
	limits_of("{\"linux\":{\"cgroupsPath\":\"/kubepods/burstable/pod2/ctr\",\"resources\":{\"cpu\":{\"quota\":10000,\"period\":100000}}}}",
		  &h, true, &l, &n);
	ok(l.quota == 10000 && l.period == 100000, "the container's own lower quota stays (0.1 CPU < 0.5 CPU)");
	limits_of("{\"linux\":{\"cgroupsPath\":\"/kubepods/burstable/pod2/ctr\"}}", &h, false, &l, &n);
	ok(!l.has_memory && l.pod[0] == '\0', "pod_limits off: nothing read");
	limits_of("{\"linux\":{\"cgroupsPath\":\"/kubepods/../../ctr\"}}", &h, true, &l, &n);
	ok(!l.has_memory && strstr(l.pod, "not read") != NULL, "a path with \"..\": not read (%s)", l.pod);

	/* The v2 pod's cpuset caps GOMAXPROCS for a container without one. */
	snprintf(root, sizeof(root), "%s/v2", tmp);
	h.cgroupfs = root;
	limits_of("{\"linux\":{\"cgroupsPath\":\"kubepods-pod1.slice:cri-containerd:x\"}}", &h, true, &l, &n);
	ok(l.pod_cpus == 4 && gt_limits_cpu_cap(&l, false) == 4, "cap: the pod cgroup's 4 CPUs of 8");
	l.affinity_cpus = 1;
	ok(gt_limits_cpu_cap(&l, false) == 4 && gt_limits_cpu_cap(&l, true) == 1,
	   "the hook's own affinity caps only with inherit");
	gt_err_free(&err);
}

/* A repeated PATH: the entrypoint is looked up with the last one, the one
 * the runtime leaves in the container. */
static void entry_path(void)
{
	put("root/first/app", "#!/bin/sh\n");
	put("root/last/app", "#!/bin/sh\n");
	char root[300], exe[400];
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(exe, sizeof(exe), "%s/first/app", root);
	chmod(exe, 0755);
	snprintf(exe, sizeof(exe), "%s/last/app", root);
	chmod(exe, 0755);
	struct gt_rootfs rfs;
	gt_err_t err = NULL;
	if (!ok(gt_rootfs_open(&rfs, root, &err) == 0, "rootfs opens"))
		return;
	const char *env[] = { "PATH=/first", "HOME=/", "PATH=/last" };
	struct gt_entry e = { .arg0 = "app", .env = env, .n_env = 3 };
	char found[256] = "";
	int fd = gt_entry_find(&rfs, &e, found, sizeof(found), &err);
	ok(fd >= 0 && strcmp(found, "/last/app") == 0, "PATH twice: args[0] found with the last PATH (%s)", found);
	if (fd >= 0)
		close(fd);
	gt_err_free(&err);
	gt_rootfs_close(&rfs);
}

/* The NRI plugin's watched mount table: the real /proc/self/mountinfo in a
 * mount namespace of this test's own, read again only after a mount or an
 * unmount there (the kernel's POLLPRI), so that a node busy mounting
 * containers costs the plugin no read of its own unchanged table. */
static void mounts_watch(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("ok %d - mount table watch # SKIP no mount namespace of its own here (%s): needs root\n", ++tap_n,
		       strerror(errno));
		return;
	}
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/watched", tmp);
	mkdir(dir, 0755);
	struct gt_mounts_watch w = GT_MOUNTS_WATCH_INIT;
	gt_err_t err = NULL;
	const struct gt_mounts *m = gt_mounts_watch_get(&w, NULL, &err);
	ok(m != NULL && m->n > 0 && w.reads == 1, "watch: the table read once (%zu mounts)", m != NULL ? m->n : 0);
	ok(m != NULL && gt_mounts_at(m, dir) == NULL, "watch: nothing mounted at %s yet", dir);
	m = gt_mounts_watch_get(&w, NULL, &err);
	is_int(w.reads, 1, "watch: unchanged, not read again");
	int rc = mount("gt", dir, "tmpfs", 0, "size=1m");
	if (!ok(rc == 0, "a tmpfs mounted%s%s", rc == 0 ? "" : ": ", rc == 0 ? "" : strerror(errno)))
		return;
	m = gt_mounts_watch_get(&w, NULL, &err);
	const struct gt_mount *t = m != NULL ? gt_mounts_at(m, dir) : NULL;
	ok(w.reads == 2 && t != NULL && strcmp(t->fstype, "tmpfs") == 0, "watch: a mount since, read again: the tmpfs is in it");
	m = gt_mounts_watch_get(&w, NULL, &err);
	is_int(w.reads, 2, "watch: unchanged again, not read");
	umount(dir);
	m = gt_mounts_watch_get(&w, NULL, &err);
	ok(w.reads == 3 && m != NULL && gt_mounts_at(m, dir) == NULL, "watch: unmounted, read again: gone");
	gt_mounts_watch_close(&w);
	ok(w.fd == -1 && w.m.n == 0, "watch: closed");
	gt_err_free(&err);
}

int main(void)
{
	kernel_values();
	go_values();
	spec_limits();
	cgroup_paths();
	cgroup_read();
	entry_path();
	mounts_watch();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return tap_done();
}
