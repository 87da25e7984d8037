# shellcheck shell=bash
# shellcheck disable=SC2317 # functions run through gt_defer and wait_for
# tests/k8s/lib.sh - what the Kubernetes suites share: tests/k8s/run (one
# node) and tests/k8s/multinode (a control plane and two worker nodes).
# Sourced after tests/e2e/lib.sh. The functions read these globals, which
# the suite sets: K (the cluster's dir: pki, logs, manifests), KBIN (the
# Kubernetes binaries), KUBECTL (kubectl with the admin kubeconfig), NODE
# and NODE_IP (the node, or the control plane's address), PIDS (the
# processes started here), T0 (the start of the bring-up).

# k8s_enter SCRIPT ARGS...: the suite runs as root in a private mount and
# network namespace (it re-executes itself there); else it skips.
k8s_enter() {
	if [ -z "${GT_K8S_INNER:-}" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "1..0 # SKIP needs root"
			exit 0
		fi
		command -v unshare >/dev/null || { echo "1..0 # SKIP unshare not found"; exit 0; }
		export GT_K8S_INNER=1
		exec unshare --mount --net --propagation private -- "$@"
	fi
}

# elapsed: seconds since the start of the bring-up.
elapsed() { echo "$(date +%s.%N) $T0" | awk '{printf "%.1f", $1 - $2}'; }
# secs_since T: seconds since `date +%s.%N` said T.
secs_since() { echo "$(date +%s.%N) $1" | awk '{printf "%.1f", $1 - $2}'; }

# k8s_require: the pinned binaries (.ci/pins: ETCD_BIN, KBIN) and the CNI
# plugins are there, else the suite skips, saying why.
k8s_require() {
	# shellcheck source=/dev/null # the pinned versions
	. "$GT_SRCDIR/.ci/pins"
	KBIN=${GT_KUBERNETES_BIN:-$KUBERNETES_BIN}
	[ -x "$ETCD_BIN/etcd" ] || skip_all "etcd $ETCD_VERSION not built here ($ETCD_BIN/etcd; tests/k8s/deps builds it)"
	local b
	for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
		[ -x "$KBIN/$b" ] ||
			skip_all "Kubernetes $KUBERNETES_VERSION not built here ($KBIN/$b; tests/k8s/deps builds it)"
	done
	[ -x /usr/lib/cni/bridge ] || skip_all "no CNI plugins (/usr/lib/cni/bridge; package containernetworking-plugins)"
}

# cgroups_make [ROOT]: the kubelet's cgroup root (CG_ROOT), in every v1
# hierarchy (cpuset needs its cpus and mems filled in before anything can
# join a child).
cgroups_make() {
	local h r=${1:-$CG_ROOT}
	for h in /sys/fs/cgroup/*/; do
		[ -e "$h/cgroup.procs" ] || continue
		case $h in */unified/) continue ;; esac
		mkdir -p "$h$r" || return 1
		if [ -e "$h$r/cpuset.cpus" ]; then
			cat "${h}cpuset.cpus" >"$h$r/cpuset.cpus"
			cat "${h}cpuset.mems" >"$h$r/cpuset.mems"
		fi
	done
}
# cgroups_remove [ROOT]: every cgroup under the root, deepest first (the
# processes in them are gone by then).
cgroups_remove() {
	local h r=${1:-$CG_ROOT}
	for h in /sys/fs/cgroup/*/; do
		[ -d "$h$r" ] || continue
		find "$h$r" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}

# k8s_private_dirs: tmpfs over /run, /var/log and /var/lib in this mount
# namespace: the paths that containerd's shims (/run/containerd/s), the
# kubelet (/var/log/containers) and the CNI plugins (/var/lib/cni) use
# whatever their config says stay private. (Run in another mount namespace
# by `bash -c '. lib.sh; bail_out() {...}; k8s_private_dirs'`.)
k8s_private_dirs() {
	mount -t tmpfs -o mode=755 gt-k8s-run /run || bail_out "cannot mount a tmpfs on /run"
	mount -t tmpfs -o mode=755 gt-k8s-log /var/log || bail_out "cannot mount a tmpfs on /var/log"
	# The CNI plugins keep their state in /var/lib/cni whatever containerd's
	# config says; every other component here has its root under K.
	mount -t tmpfs -o mode=755 gt-k8s-lib /var/lib || bail_out "cannot mount a tmpfs on /var/lib"
}

# k8s_private_names "IP NAME"...: names resolve from a private /etc/hosts
# (localhost and these), and no resolver is reachable: nothing in the
# cluster looks anything up outside this namespace.
k8s_private_names() {
	{
		printf '127.0.0.1 localhost\n'
		printf '%s\n' "$@"
	} >"$K/hosts"
	printf 'nameserver 127.0.0.1\n' >"$K/resolv.conf"
	mount --bind "$K/hosts" /etc/hosts && mount --bind "$K/resolv.conf" /etc/resolv.conf ||
		bail_out "cannot bind /etc/hosts and /etc/resolv.conf"
}

# ---------------------------------------------------------------- certificates
# cert NAME SUBJECT [SAN]: NAME.key and NAME.crt signed by the CA, for client
# auth, and server auth too when SAN is given.
cert() {
	local n=$1 subj=$2 san=${3:-}
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		if [ -n "$san" ]; then
			echo "extendedKeyUsage=serverAuth,clientAuth"
			echo "subjectAltName=$san"
		else
			echo "extendedKeyUsage=clientAuth"
		fi
	} >"$n.ext"
	openssl genrsa -out "$n.key" 2048 2>/dev/null &&
		openssl req -new -key "$n.key" -subj "$subj" -out "$n.csr" &&
		openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile "$n.ext" -out "$n.crt" 2>/dev/null
}
# k8s_pki NODE[=IP]...: in K/pki, a CA, the API server's serving cert (for
# 127.0.0.1 and NODE_IP), client certs for admin, the controller manager,
# the scheduler and the API server's kubelet client, an RSA service-account
# key, and for each NODE the kubelet's client cert (pki/kubelet, or
# pki/kubelet-NODE when IP is given) and serving cert (for IP, default
# NODE_IP).
k8s_pki() {
	(
		cd "$K/pki" || exit 1
		openssl genrsa -out ca.key 2048 2>/dev/null &&
			openssl req -x509 -new -key ca.key -subj "/CN=gotune-test-ca" -days 2 -out ca.crt &&
			cert apiserver "/CN=kube-apiserver" \
				"IP:127.0.0.1,IP:$NODE_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" &&
			cert admin "/O=system:masters/CN=gotune-test-admin" &&
			cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" || exit 1
		local a n ip s
		for a in "$@"; do
			n=${a%%=*} ip=$NODE_IP s=
			[ "$a" = "$n" ] || { ip=${a#*=}; s=-$n; }
			cert "kubelet$s" "/O=system:nodes/CN=system:node:$n" &&
				cert "kubelet-serving$s" "/CN=$n" "IP:$ip,DNS:$n" || exit 1
		done
		cert controller-manager "/CN=system:kube-controller-manager" &&
			cert scheduler "/CN=system:kube-scheduler" &&
			openssl genrsa -out sa.key 2048 2>/dev/null &&
			openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
	) >"$K/logs/openssl.log" 2>&1 || {
		tap_diag_file openssl "$K/logs/openssl.log"
		bail_out "openssl could not make the certificates"
	}
}

# kubeconfig NAME [SERVER]: K/NAME.kubeconfig for the client cert pki/NAME,
# for the API server at SERVER (https://127.0.0.1:6443).
kubeconfig() {
	cat >"$K/$1.kubeconfig" <<-EOT
		apiVersion: v1
		kind: Config
		clusters:
		- name: gt
		  cluster: {server: "${2:-https://127.0.0.1:6443}", certificate-authority: "$K/pki/ca.crt"}
		users:
		- name: $1
		  user: {client-certificate: "$K/pki/$1.crt", client-key: "$K/pki/$1.key"}
		contexts:
		- name: gt
		  context: {cluster: gt, user: $1}
		current-context: gt
	EOT
}

# ---------------------------------------------------------------- processes
# start NAME CMD...: run CMD in the background, its output in logs/NAME.log.
start() {
	local n=$1
	shift
	"$@" </dev/null >>"$K/logs/$n.log" 2>&1 &
	PIDS+=($!)
	eval "PID_${n//-/_}=$!"
}
# stop NAME: SIGTERM to the process started as NAME, SIGKILL after 10 s;
# it is then forgotten (PIDS, PID_NAME), so that `start NAME` can run it
# again.
stop() {
	local v=PID_${1//-/_} p i
	p=${!v:-}
	[ -n "$p" ] || return 0
	gt_stop_pid "$p"
	for i in "${!PIDS[@]}"; do
		[ "${PIDS[i]}" = "$p" ] && unset 'PIDS[i]'
	done
	PIDS=(${PIDS[@]+"${PIDS[@]}"})
	eval "$v="
}
# stop_all: SIGTERM to every process started here, last first, then SIGKILL.
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		gt_stop_pid "${PIDS[i]}" 50
	done
	return 0
}
# wait_for NAME TRIES CMD...: retry CMD every 0.5 s until it succeeds (0),
# or TRIES times, or the process started as NAME has exited (1).
wait_for() {
	local n=$2 pidvar=PID_${1//-/_}
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		if [ -n "${!pidvar:-}" ] && ! kill -0 "${!pidvar}" 2>/dev/null; then
			return 1
		fi
		sleep 0.5
	done
	return 1
}
# fail_log NAME DESC: the tail of logs/NAME.log, then bail out.
fail_log() {
	tail -n 40 "$K/logs/$1.log" >"$K/logs/$1.tail" 2>/dev/null
	tap_diag_file "$1 log (tail)" "$K/logs/$1.tail" 40
	bail_out "$2"
}

# k8s_control_plane: etcd, kube-apiserver (advertising NODE_IP, serving on
# every address of this namespace), kube-controller-manager and
# kube-scheduler, each waited for where it answers. Sets P (K/pki).
k8s_control_plane() {
	# etcd
	start etcd "$ETCD_BIN/etcd" --name gt --data-dir "$K/etcd" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster gt=http://127.0.0.1:2380 --log-level warn
	wait_for etcd 60 curl -sf http://127.0.0.1:2379/health || fail_log etcd "etcd does not answer"
	tap_diag "etcd $ETCD_VERSION up at $(elapsed) s"

	# kube-apiserver
	P=$K/pki
	start kube-apiserver "$KBIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
		--advertise-address=$NODE_IP --secure-port=6443 --cert-dir="$K/apiserver-certs" \
		--tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
		--client-ca-file="$P/ca.crt" --authorization-mode=Node,RBAC \
		--service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-cluster-ip-range=10.96.0.0/24 \
		--kubelet-client-certificate="$P/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$P/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types=InternalIP,Hostname \
		--allow-privileged=true --profiling=false
	readyz() { curl -sf --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" https://127.0.0.1:6443/readyz; }
	wait_for kube-apiserver 240 readyz || fail_log kube-apiserver "kube-apiserver is not ready"
	tap_diag "kube-apiserver $KUBERNETES_VERSION ready at $(elapsed) s"

	# kube-controller-manager, kube-scheduler
	start kube-controller-manager "$KBIN/kube-controller-manager" \
		--kubeconfig="$K/controller-manager.kubeconfig" \
		--authentication-kubeconfig="$K/controller-manager.kubeconfig" \
		--authorization-kubeconfig="$K/controller-manager.kubeconfig" \
		--bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
		--service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
		--cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
		--cert-dir="$K/kcm-certs" --profiling=false
	start kube-scheduler "$KBIN/kube-scheduler" --kubeconfig="$K/scheduler.kubeconfig" \
		--authentication-kubeconfig="$K/scheduler.kubeconfig" \
		--authorization-kubeconfig="$K/scheduler.kubeconfig" \
		--bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

# k8s_cni SUBNET: a CNI config containerd (GT_CTRD2_DIR) can load, Debian's
# bridge and host-local plugins giving pods an address in SUBNET.
k8s_cni() {
	mkdir -p "$GT_CTRD2_DIR/cni/conf" "$GT_CTRD2_DIR/cni/bin"
	ln -s /usr/lib/cni/* "$GT_CTRD2_DIR/cni/bin/"
	cat >"$GT_CTRD2_DIR/cni/conf/10-gt.conflist" <<-EOT
		{"cniVersion": "1.0.0", "name": "gt", "plugins": [
		  {"type": "bridge", "bridge": "gtcni0", "isGateway": true, "ipMasq": false,
		   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$1"}]]}}]}
	EOT
}

# kubelet_config FILE IP CGROUP_ROOT SERVING PODLOGS [EXTRA]: the kubelet's
# configuration: cgroupfs driver under CGROUP_ROOT, cgroup v1 allowed
# (failCgroupV1: false), swap allowed, serving on IP with pki/SERVING.crt,
# CRI at containerd's GT_CTRD2_SOCK, pod logs in PODLOGS, EXTRA lines
# appended.
kubelet_config() {
	cat >"$1" <<-EOT
		apiVersion: kubelet.config.k8s.io/v1beta1
		kind: KubeletConfiguration
		address: $2
		port: 10250
		readOnlyPort: 0
		healthzBindAddress: 127.0.0.1
		healthzPort: 10248
		authentication:
		  anonymous: {enabled: false}
		  webhook: {enabled: true}
		  x509: {clientCAFile: "$P/ca.crt"}
		authorization: {mode: Webhook}
		tlsCertFile: "$P/$4.crt"
		tlsPrivateKeyFile: "$P/$4.key"
		cgroupDriver: cgroupfs
		cgroupRoot: $3
		failCgroupV1: false
		failSwapOn: false
		containerRuntimeEndpoint: unix://$GT_CTRD2_SOCK
		podLogsDir: $5
		rotateCertificates: false
		serverTLSBootstrap: false
		registerNode: true
		staticPodPath: ""
		imageGCHighThresholdPercent: 100
		imageGCLowThresholdPercent: 99
		evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
	EOT
	[ -z "${6:-}" ] || printf '%s\n' "$6" >>"$1"
}

# node_ready [NODE]: the node (NODE) is Ready.
node_ready() {
	[ "$("${KUBECTL[@]}" get node "${1:-$NODE}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

# k8s_plugin_image: IMG (the manifest's image name) in PB/plugin.tar: the
# image hook/nri/Containerfile builds with podman (its own storage under
# the temp dir), saved as an OCI archive; without podman, the same single
# file by oci_archive.py. Its import is the caller's.
k8s_plugin_image() {
	mkdir -p "$PB/ctx"
	cp "$GOTUNE_HOOK" "$PB/ctx/gotune-hook"
	if command -v podman >/dev/null; then
		PODMAN=(podman --root "$PB/root" --runroot "$PB/runroot" --cgroup-manager cgroupfs --events-backend file
			--storage-driver vfs)
		"${PODMAN[@]}" build -f "$GT_SRCDIR/hook/nri/Containerfile" -t "$IMG" "$PB/ctx" >"$K/logs/podman.log" 2>&1 &&
			"${PODMAN[@]}" save --format oci-archive -o "$PB/plugin.tar" "$IMG" >>"$K/logs/podman.log" 2>&1 ||
			fail_log podman "podman cannot build hook/nri/Containerfile"
		tap_diag "plugin image $IMG built by $(podman --version) from hook/nri/Containerfile"
	else
		mkdir -p "$PB/rootfs" && cp "$GOTUNE_HOOK" "$PB/rootfs/gotune-hook"
		python3 "$GT_LIBDIR/oci_archive.py" "$PB/rootfs" "$IMG" "$PB/plugin.tar" /gotune-hook nri ||
			bail_out "cannot make the plugin image"
		tap_diag "plugin image $IMG made by oci_archive.py (no podman here)"
	fi
}

# ------------------------------------------------------------------- pods
phase() { "${KUBECTL[@]}" get pod "$1" -o jsonpath='{.status.phase}'; }
pod_done() { case $(phase "$1") in Succeeded | Failed) return 0 ;; esac; return 1; }
# not_pending POD: the pod has left Pending (running, or refused).
not_pending() { case $(phase "$1") in '' | Pending) return 1 ;; esac; }
