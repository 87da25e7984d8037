#!/usr/bin/env bash
# gotune-hook doctor on fake host trees (--root DIR): a host wired as README
# says for every engine, the same host with a misspelled policy key, and
# the host after gotune's files were removed but the engines' settings were
# not (README: Uninstall, done halfway). Each finding is asserted on the text
# and on --json. TAP output. (The real engines: tests/e2e/docker.sh.)
set -u
hook=$(realpath "${GOTUNE_HOOK:?path to gotune-hook}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
diag() { sed 's/^/#   /' "$@"; }
# has FILE REGEX DESCRIPTION: one line of the report matches (grep -E)
has() { if grep -Eq -- "$2" "$1"; then ok 0 "$3"; else ok 1 "$3"; diag "$1"; fi; }
state=$("$hook" --version | sed -n 's/^state directory //p')
bin=/usr/local/bin

# A host as README sets it up, under $1.
make_host() {
	local r=$1
	mkdir -p "$r/etc/gotune" "$r$bin" "$r/usr/sbin" "$r/usr/bin" "$r/etc/docker" "$r/etc/containerd" \
		"$r/etc/crio/crio.conf.d" "$r/etc/containers" "$r/usr/local/share/gotune/podman-hooks.d" \
		"$r/opt/nri/plugins" "$r/etc/nri/conf.d" "$r$state"
	chmod 0700 "$r$state"
	printf '{\n  "gomemlimit": { "ratio": 0.9 },\n  "log_file": "/var/log/gotune.json"\n}\n' >"$r/etc/gotune/policy.json"
	cp "$hook" "$r$bin/gotune-hook"
	ln -s gotune-hook "$r$bin/gotune-runc"
	local x
	for x in usr/sbin/dockerd usr/bin/containerd usr/bin/crio usr/bin/podman; do printf '#!/bin/sh\n' >"$r/$x"; chmod +x "$r/$x"; done
	# README: Docker
	printf '{ "runtimes": { "gotune": { "path": "%s/gotune-runc" } }, "default-runtime": "gotune" }\n' "$bin" >"$r/etc/docker/daemon.json"
	# README: containerd (config version 3)
	cat >"$r/etc/containerd/config.toml" <<TOML
version = 3
# the runc runtime, through gotune
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
  BinaryName = "$bin/gotune-runc"
[plugins.'io.containerd.nri.v1.nri']
  disable = false
  socket_path = "/var/run/nri/nri.sock"
TOML
	# README: CRI-O
	printf '[crio.runtime.runtimes.runc]\nruntime_path = "%s/gotune-runc"\n\n[crio.nri]\nenable_nri = true\n' "$bin" \
		>"$r/etc/crio/crio.conf.d/10-gotune.conf"
	# README: Podman, hooks_dir in containers.conf (only Podman reads it)
	sed "s|@BINDIR@|$bin|" "$(dirname "$0")/../../hook/podman-precreate.json.in" \
		>"$r/usr/local/share/gotune/podman-hooks.d/gotune-precreate.json"
	printf '[engine]\nhooks_dir = [\n  "/usr/local/share/gotune/podman-hooks.d",\n]\n' >"$r/etc/containers/containers.conf"
	# README: Kubernetes, pre-installed
	ln -s "$bin/gotune-hook" "$r/opt/nri/plugins/50-gotune"
	printf '{"gomemlimit": {"ratio": 0.8}}\n' >"$r/etc/nri/conf.d/50-gotune.conf"
	# what gotune logged (no /dev/log in the tree: the fallback log)
	local now old
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	old=$(date -u -d '-3 days' +%Y-%m-%dT%H:%M:%S.000Z)
	{
		echo "$old gotune[1] info: precreate id=old tuned: GOMAXPROCS=1 (set: ...) 1.00ms"
		echo "$now gotune[2] info: precreate id=a tuned: GOMAXPROCS=1 (set: ...) 1.00ms"
		echo "$now gotune[3] info: precreate id=b tuned: GOMAXPROCS=1 (set: ...) 1.00ms"
		echo "$now gotune[4] warning: runtime id=c passthrough (policy /etc/gotune/policy.json:3:5: key) 0.20ms"
		echo "$now gotune[5] info: nri: registered as 50-gotune in 3 ms"
	} >"$r$state/gotune.log"
}

# --- a healthy host
h=$tmp/healthy
make_host "$h"
"$hook" doctor --root "$h" >"$tmp/out" 2>&1
rc=$?
ok "$rc" "healthy host: exit 0"
[ "$rc" -eq 0 ] || diag "$tmp/out"
has "$tmp/out" "^  ok +/etc/gotune/policy.json: valid, mode enforce, sha256 [0-9a-f]{12}$" "the policy: valid, its mode and sha256"
has "$tmp/out" "ok +dockerd: /etc/docker/daemon.json: runtime \"gotune\" is $bin/gotune-runc, the default-runtime: every container goes through gotune" \
	"docker: daemon.json's runtime and default-runtime"
has "$tmp/out" "ok +containerd: /etc/containerd/config.toml: runtime \"runc\" runs $bin/gotune-runc" "containerd: the CRI runtime's BinaryName"
has "$tmp/out" "ok +containerd: /etc/containerd/config.toml: NRI on \\(disable = false\\)" "containerd: NRI on"
has "$tmp/out" "ok +/etc/crio/crio.conf.d/10-gotune.conf: runtime \"runc\" runs $bin/gotune-runc" "cri-o: runtime_path"
has "$tmp/out" "ok +NRI on \\(enable_nri = true\\)" "cri-o: NRI on"
has "$tmp/out" "ok +/usr/local/share/gotune/podman-hooks.d/gotune-precreate.json: precreate \\(env tuning\\) runs $bin/gotune-hook" \
	"podman: the precreate drop-in in its hooks_dir"
has "$tmp/out" "ok +a precreate drop-in in a hooks directory Podman reads: every container is tuned" "podman: wired"
has "$tmp/out" "ok +/opt/nri/plugins/50-gotune: pre-installed plugin" "nri: the pre-installed plugin"
has "$tmp/out" "ok +plugin 50-gotune: policy /etc/nri/conf.d/50-gotune.conf valid" "nri: its policy"
has "$tmp/out" "ok +$state: root's, 0700" "the state directory"
has "$tmp/out" "lines go to $state/gotune.log \\(no /dev/log\\).*decisions to log_file /var/log/gotune.json" "where lines go"
grep -q "^decisions since" "$tmp/out"
ok $? "decisions: a section"
# An older install's record drop-in beside the prestart one: the prestart
# hook records by itself now, so doctor says the other can go.
sed "s|@BINDIR@|$bin|" "$(dirname "$0")/../../hook/prestart.json.in" >"$h/usr/local/share/gotune/podman-hooks.d/gotune-prestart.json"
printf '{"version": "1.0.0", "hook": {"path": "%s/gotune-hook", "args": ["gotune-hook", "record"]}, "when": {"annotations": {"^gotune\\\\.io/record$": "^true$"}}, "stages": ["createRuntime"]}\n' \
	"$bin" >"$h/usr/local/share/gotune/podman-hooks.d/gotune-record.json"
"$hook" doctor --root "$h" >"$tmp/out" 2>&1
has "$tmp/out" "info +/usr/local/share/gotune/podman-hooks.d: a createRuntime/poststart drop-in of gotune beside the prestart one is no longer needed" \
	"an older install's gotune-record.json beside gotune-prestart.json: named as no longer needed"
rm -f "$h/usr/local/share/gotune/podman-hooks.d/gotune-prestart.json" "$h/usr/local/share/gotune/podman-hooks.d/gotune-record.json"

# Decisions: counted since --since, from the fallback log (no log_file file yet)
rm -f "$h/etc/gotune/policy.json"
"$hook" doctor --root "$h" --since 1h >"$tmp/out" 2>&1
has "$tmp/out" "^  precreate +tuned 2$" "decisions since 1h: the two recent precreate lines, not the one 3 days old"
has "$tmp/out" "^  runtime +passthrough 1$" "... and the runtime's passthrough"
has "$tmp/out" "^ {8}[-0-9T:.]+Z runtime id=c passthrough \\(policy /etc/gotune/policy.json:3:5: key\\)" "... and the last ones, newest last"
"$hook" doctor --root "$h" --since 7d --json >"$tmp/j" 2>&1
jq -e '[.decisions.counts[] | select(.entry == "precreate" and .outcome == "tuned") | .count] == [3]' "$tmp/j" >/dev/null
ok $? "--since 7d --json: the old line counts too"
printf '{"log_file": "/var/log/gotune.json"}\n' >"$h/etc/gotune/policy.json"
mkdir -p "$h/var/log"
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
printf '{"time":"%s","entry":"nri","id":"ns/p/c","outcome":"audit","ms":0.1}\n{"time":"%s","entry":"nri","id":"ns/p/d","outcome":"tuned","ms":0.1}\n' \
	"$now" "$now" >"$h/var/log/gotune.json"
"$hook" doctor --root "$h" >"$tmp/out" 2>&1
has "$tmp/out" "^decisions since .* from /var/log/gotune.json$" "with log_file: decisions from it"
has "$tmp/out" "^  nri +audit 1, tuned 1$" "... counted by outcome"

# The counters file
printf '{"metrics": {"file": "/var/lib/node_exporter/gotune.prom"}}\n' >"$h/etc/gotune/policy.json"
mkdir -p "$h/var/lib/node_exporter"
printf 'gotune_containers_total{entry="runtime",outcome="tuned"} 7\ngotune_containers_total{entry="nri",outcome="tuned"} 2\ngotune_exec_total{outcome="tuned"} 3\n' \
	>"$h/var/lib/node_exporter/gotune.prom"
"$hook" doctor --root "$h" >"$tmp/out" 2>&1
has "$tmp/out" "ok +counters /var/lib/node_exporter/gotune.prom: containers tuned 9, kept 0, skipped 0, audit 0, passthrough 0; exec 3" \
	"the counters file, summed"

# --- the same host, the policy misspelled (the issue's "ratoi")
t=$tmp/typo
make_host "$t"
printf '{\n  "gomemlimit": {\n    "ratoi": 0.8\n  }\n}\n' >"$t/etc/gotune/policy.json"
"$hook" doctor --root "$t" >"$tmp/out" 2>&1
rc=$?
ok $(( rc != 1 )) "a misspelled policy key: exit 1 (got $rc)"
has "$tmp/out" '^  error +policy /etc/gotune/policy.json:3:5: key "gomemlimit.ratoi" is unknown; did you mean "gomemlimit.ratio"\?$' \
	"... named with file:line:column and the key meant"
has "$tmp/out" "^  error +every container passes through untuned until the policy is fixed" "... and what it does to containers"
"$hook" doctor --root "$t" --json >"$tmp/j"
jq -e '.errors == 2 and ([.findings[] | select(.level == "error" and .section == "policy")] | length) == 2' "$tmp/j" >/dev/null
ok $? "--json: two errors, both in section policy"

# --- after an uninstall done halfway: gotune's files removed, the engines' settings left
u=$tmp/uninstalled
make_host "$u"
rm -f "$u$bin/gotune-hook" "$u$bin/gotune-runc"
"$hook" doctor --root "$u" >"$tmp/out" 2>&1
rc=$?
ok $(( rc != 1 )) "after the binaries are removed: exit 1 (got $rc)"
has "$tmp/out" "error +dockerd: /etc/docker/daemon.json: runtime \"gotune\" is $bin/gotune-runc, which is not there \\(no such file\\): every docker run fails \\(\"fork/exec $bin/gotune-runc: no such file or directory\"\\)" \
	"docker: the leftover default-runtime gotune named, and what it breaks"
has "$tmp/out" "error +containerd: .*runtime \"runc\" has BinaryName $bin/gotune-runc, which is not there" "containerd: the leftover BinaryName"
has "$tmp/out" "error +/etc/crio/crio.conf.d/10-gotune.conf: runtime \"runc\" has runtime_path $bin/gotune-runc, which is not there" \
	"cri-o: the leftover runtime_path"
has "$tmp/out" "error +/usr/local/share/gotune/podman-hooks.d/gotune-precreate.json: hook $bin/gotune-hook is not there" \
	"podman: the leftover drop-in"
has "$tmp/out" "error +/opt/nri/plugins/50-gotune: no such file: containerd 1.7.0 to 1.7.25 exits" "nri: the dangling plugin link"
# daemon.json's runtime removed, default-runtime left
printf '{ "default-runtime": "gotune" }\n' >"$u/etc/docker/daemon.json"
"$hook" doctor --root "$u" >"$tmp/out" 2>&1
has "$tmp/out" "error +dockerd: /etc/docker/daemon.json: \"default-runtime\": \"gotune\" names no runtime in \"runtimes\": dockerd does not start" \
	"docker: a default-runtime left without its runtime"
# Everything undone as README's Uninstall sections say: nothing of gotune's left.
printf '{}\n' >"$u/etc/docker/daemon.json"
printf 'version = 3\n' >"$u/etc/containerd/config.toml"
rm -f "$u/etc/crio/crio.conf.d/10-gotune.conf" "$u/opt/nri/plugins/50-gotune" "$u/etc/nri/conf.d/50-gotune.conf" \
	"$u/etc/containers/containers.conf"
rm -rf "$u/usr/local/share/gotune" "$u/etc/gotune"
"$hook" doctor --root "$u" >"$tmp/out" 2>&1
rc=$?
ok "$rc" "after a whole uninstall: exit 0, nothing points at gotune"
[ "$rc" -eq 0 ] || diag "$tmp/out"
has "$tmp/out" "info +dockerd: /etc/docker/daemon.json: not wired" "... docker: not wired"

# --- wired in ways that break an engine
b=$tmp/broken
make_host "$b"
# containerd 1.x (config version 2) with only the options table: the runc
# runtime loses its runtime_type and every CRI pod fails (issue 25).
printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  BinaryName = "%s/gotune-runc"\n' \
	"$bin" >"$b/etc/containerd/config.toml"
"$hook" doctor --root "$b" >"$tmp/out" 2>&1
ok $(( $? != 1 )) "a containerd 1.x config whose runc table lost its runtime_type: exit 1"
has "$tmp/out" "error +containerd: /etc/containerd/config.toml: .*runtime_type" "... and doctor names the lost runtime_type"
make_host "$b"
mkdir -p "$b/usr/share/containers/oci/hooks.d"
cp "$b/usr/local/share/gotune/podman-hooks.d/gotune-precreate.json" "$b/usr/share/containers/oci/hooks.d/"
printf '{ "runtimes": { "gt": { "path": "%s/gotune-hook" } } }\n' "$bin" >"$b/etc/docker/daemon.json"
"$hook" doctor --root "$b" >"$tmp/out" 2>&1
has "$tmp/out" "error +/usr/share/containers/oci/hooks.d/gotune-precreate.json: stage precreate in a directory CRI-O reads" \
	"a precreate drop-in where CRI-O reads: named"
has "$tmp/out" "error +dockerd: runtime \"gt\" runs gotune-hook without runtimeArgs" "gotune-hook as a Docker runtime without runtimeArgs"
printf '{ "runtimes": { "gt": { "path": "%s/gotune-hook", "runtimeArgs": ["runtime", "--policy", "/etc/gotune/docker.json", "--"] } } }\n' \
	"$bin" >"$b/etc/docker/daemon.json"
printf '{"mode": "adit"}' >"$b/etc/gotune/docker.json"
"$hook" doctor --root "$b" >"$tmp/out" 2>&1
has "$tmp/out" "error +dockerd: runtime \"gt\": policy /etc/gotune/docker.json:1:2: key \"mode\" must be \"enforce\" or \"audit\"" \
	"a runtime's own --policy is checked too"
printf '{"mode": "audit"}' >"$b/etc/gotune/policy.json"
"$hook" doctor --root "$b" >"$tmp/out" 2>&1
has "$tmp/out" "warning +mode audit: gotune changes no container" "audit mode: a warning, so it is not forgotten"

"$hook" doctor --root "$tmp/nonexistent" >/dev/null 2>&1
ok $(( $? != 2 )) "a --root that is not there: a usage error (2)"
"$hook" doctor --since yesterday >/dev/null 2>&1
ok $(( $? != 2 )) "a --since it cannot read: a usage error (2)"

echo "1..$n"
[ "$failed" -eq 0 ]
