/* The NRI API messages the plugin reads and writes (package
 * nri.pkg.api.v1alpha1). Field numbers checked against pkg/api/api.proto
 * of containerd/nri v0.2.0 through v0.12.2; they have not moved, messages
 * only grew. Decoders skip fields they do not know. */
#ifndef GOTUNE_NRI_MSG_H
#define GOTUNE_NRI_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pbwire.h"

#define GT_NRI_API "nri.pkg.api.v1alpha1"
#define GT_NRI_PLUGIN_SERVICE GT_NRI_API ".Plugin"
#define GT_NRI_RUNTIME_SERVICE GT_NRI_API ".Runtime"

/* Events CREATE_CONTAINER = 4, UPDATE_CONTAINER = 8; a subscription sets
 * bit (event - 1). */
#define GT_NRI_EVENT_CREATE_CONTAINER 4
#define GT_NRI_EVENT_UPDATE_CONTAINER 8
#define GT_NRI_MASK(ev) (1u << ((ev) - 1))
/* What the plugin subscribes to: CreateContainer to tune, UpdateContainer
 * to say when an in-place resize made a value it set stale. */
#define GT_NRI_EVENTS (GT_NRI_MASK(GT_NRI_EVENT_CREATE_CONTAINER) | GT_NRI_MASK(GT_NRI_EVENT_UPDATE_CONTAINER))

/* Bounds on one request: far above any real pod, low enough that a broken
 * peer cannot make the plugin allocate much. */
#define GT_NRI_ENV_MAX 4096u
#define GT_NRI_ANNOTATIONS_MAX 4096u
#define GT_NRI_MOUNTS_MAX 1024u
#define GT_NRI_MOUNT_OPTIONS_MAX 64u

struct gt_nri_kv {
	char *key, *value;
};

struct gt_nri_configure {
	char *config;		/* the plugin's config text; "" when none */
	char *runtime_name, *runtime_version;
};

/* LinuxResources: the parts gotune reads. */
struct gt_nri_res {
	bool has_quota, has_period, has_shares, has_memory;
	int64_t quota, memory;
	uint64_t period, shares;
	char *cpus;		/* cpuset list; NULL or "" when unset */
	struct gt_nri_kv *unified;	/* cgroup v2 files, in the order sent */
	size_t n_unified;
};

struct gt_nri_mount {
	char *dest, *type, *source;
	char **options;
	size_t n_options;
};

struct gt_nri_create {
	char *pod_id, *pod_name, *pod_namespace;
	char *id, *name;
	char **env;		/* "K=V" as the container has them */
	size_t n_env;
	struct gt_nri_kv *annotations, *pod_annotations;
	size_t n_annotations, n_pod_annotations;
	struct gt_nri_res res;	/* Container.linux.resources */
	/* PodSandbox.linux.pod_resources: what the kubelet sends as the
	 * pod's resources (CRI LinuxPodSandboxConfig.resources, from the
	 * pod-level limits or the sum of the containers'). */
	bool has_pod_res;
	struct gt_nri_res pod_res;
	/* Container.linux.cgroups_path and PodSandbox.linux.cgroup_parent:
	 * where the pod's cgroup, which exists before its containers, is. */
	char *cgroups_path, *pod_cgroup_parent;
	struct gt_nri_mount *mounts;
	size_t n_mounts;
};

int gt_nri_configure_decode(const uint8_t *data, size_t len, struct gt_nri_configure *c, gt_err_t *err);
void gt_nri_configure_free(struct gt_nri_configure *c);

/* SynchronizeRequest.more (NRI >= v0.8); false for older runtimes. */
int gt_nri_synchronize_more(const uint8_t *data, size_t len, bool *more, gt_err_t *err);

/* SynchronizeRequest {pods = 1, containers = 2}: fn is called with each
 * container that has not stopped (Container.state = 4, STOPPED = 4) beside
 * its pod, as a CreateContainerRequest {pod = 1, container = 2} for
 * gt_nri_create_decode; at most GT_NRI_SYNC_MAX containers, each pod
 * looked for among the first GT_NRI_SYNC_MAX pods of the same message (the
 * runtime may split a large synchronization: a container whose pod came in
 * another message is counted in *no_pod). Returns how many were passed to
 * fn, or -1. */
#define GT_NRI_SYNC_MAX 1024u
typedef void gt_nri_sync_fn(void *ctx, const uint8_t *req, size_t len);
int gt_nri_synchronize_each(const uint8_t *data, size_t len, gt_nri_sync_fn *fn, void *ctx, size_t *no_pod,
			    gt_err_t *err);

int gt_nri_create_decode(const uint8_t *data, size_t len, struct gt_nri_create *c, gt_err_t *err);
void gt_nri_create_free(struct gt_nri_create *c);

/* UpdateContainerRequest: the container as it runs (its env and, in c.res,
 * the resources it was created with) and the resources asked for now. */
struct gt_nri_update {
	struct gt_nri_create c;
	bool has_new_res;
	struct gt_nri_res new_res;
};

int gt_nri_update_decode(const uint8_t *data, size_t len, struct gt_nri_update *u, gt_err_t *err);
void gt_nri_update_free(struct gt_nri_update *u);

/* What the plugin asks for one container. */
#define GT_NRI_ADJUST_ENV_MAX 8u
struct gt_nri_adjust {
	size_t n_env;
	struct {
		const char *key, *value;
	} env[GT_NRI_ADJUST_ENV_MAX];
	const char *prestart_hook;	/* host path, NULL for none */
	/* The annotation gotune.io/env: JSON text recording the variables
	 * added, so that `plan` and the prestart audit on the bundle tell
	 * gotune's values from the user's. NULL for none. */
	const char *record;
};

void gt_nri_register_encode(struct gt_pb_writer *w, const char *name, const char *idx);

/* The runtime's side, for `nri-install`, which starts the plugin as a
 * runtime would and checks that it registers: RegisterPluginRequest
 * {plugin_name = 1, plugin_idx = 2} read, ConfigureRequest {config = 1,
 * runtime_name = 2, runtime_version = 3, registration_timeout = 4,
 * request_timeout = 5} written, ConfigureResponse {events = 2} read. */
int gt_nri_register_decode(const uint8_t *data, size_t len, char *name, size_t namesz, char *idx, size_t idxsz,
			   gt_err_t *err);
void gt_nri_configure_encode(struct gt_pb_writer *w, const char *config, const char *runtime_name,
			     const char *runtime_version, int64_t registration_timeout_ms, int64_t request_timeout_ms);
int gt_nri_configure_response_decode(const uint8_t *data, size_t len, uint32_t *events, gt_err_t *err);
void gt_nri_configure_response_encode(struct gt_pb_writer *w, uint32_t events);
void gt_nri_synchronize_response_encode(struct gt_pb_writer *w, bool more);
void gt_nri_create_response_encode(struct gt_pb_writer *w, const struct gt_nri_adjust *a);

#endif
