#!/usr/bin/env python3
"""gotune-hook nri against an in-tree NRI runtime peer (nripeer.py): the
handshake, adjustments computed here from the same rules, frames over the
4096-byte limit both ways, malformed input, a runtime restart, an unknown
method, a plugin the runtime starts itself, SIGTERM. TAP output."""

import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nripeer as P  # noqa: E402

HOOK = os.environ.get("GOTUNE_HOOK", "build/hook/gotune-hook")
n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, what))
    else:
        failed += 1
        print("not ok %d - %s" % (n, what))
        if detail:
            for line in str(detail).splitlines():
                print("#   " + line)


def go_bytes(v):
    """A GOMEMLIMIT value as Go parses it: digits, optional KiB..TiB or B."""
    for i, unit in enumerate(["KiB", "MiB", "GiB", "TiB"]):
        if v.endswith(unit):
            return int(v[:-3]) << (10 * (i + 1))
    return int(v[:-1]) if v.endswith("B") else int(v)


def env_of(payload):
    """The adjustment's env, with GOMEMLIMIT read as bytes."""
    env = dict(P.adjustment(payload)["env"])
    if "GOMEMLIMIT" in env:
        env["GOMEMLIMIT"] = str(go_bytes(env["GOMEMLIMIT"]))
    return env


def expected_maxprocs(quota, period, cpus):
    return max(1, math.ceil(quota / period)) if quota > 0 else None


work = tempfile.mkdtemp(prefix="gotune-nri-")
sock = os.path.join(work, "nri.sock")
policy = os.path.join(work, "policy.json")
with open(policy, "w") as f:
    json.dump({}, f)
host_cpus = os.cpu_count()
# A copy of a cgroup v1 host's tree (the cgroupfs driver): pod A's cgroup
# has limits (every container declared one), pod B's has none (an app
# without limits beside a sidecar with them: the kubelet limits the pod
# cgroup only when all declare, cm.ResourceConfigForPod).
cg = os.path.join(work, "cg")
for ctl, files in (("memory", {"A": {"memory.limit_in_bytes": "536870912"},
                               "B": {"memory.limit_in_bytes": "9223372036854771712"}}),
                   ("cpu", {"A": {"cpu.cfs_quota_us": "100000", "cpu.cfs_period_us": "100000"},
                            "B": {"cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000"}})):
    for pod, fs in files.items():
        d = os.path.join(cg, ctl, "kubepods", "burstable", "pod" + pod)
        os.makedirs(d)
        for name, value in fs.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(value + "\n")
rt = P.Runtime(sock)
plugin = P.start_plugin(HOOK, sock, policy, extra=("--cgroupfs", cg))
try:
    c = rt.accept()
    name, idx, events, more = c.handshake()
    ok((name, idx) == ("gotune", "50"), "registers as 50-gotune", (name, idx))
    ok(events == 0x88, "subscribes to CreateContainer and UpdateContainer (mask 0x88)", events)
    ok(more == 1, "Synchronize echoes more=true", more)
    code, _, out, _ = c.call("Synchronize", b"")
    ok(code == 0 and P.fields(out, 2) == [], "Synchronize without more answers without more")

    # Quota and memory: the default rules, computed here.
    quota, period, mem = 50000, 100000, 256 << 20
    code, _, out, dt = c.call("CreateContainer", P.create_request(
        container={"env": ["PATH=/usr/bin"], "quota": quota, "period": period, "memory": mem}))
    want = {}
    if host_cpus > 1:
        want["GOMAXPROCS"] = str(expected_maxprocs(quota, period, host_cpus))
    want["GOMEMLIMIT"] = str(mem * 9 // 10)
    ok(code == 0 and env_of(out) == want, "quota + memory limit -> GOMAXPROCS and GOMEMLIMIT",
       "got %r want %r" % (env_of(out), want))
    ok(dt < 2.0, "answers well within the runtime's 2 s request timeout (%.2f ms)" % (dt * 1000))

    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"env": ["PATH=/bin"]}))
    ok(code == 0 and out == b"", "no limits -> empty response", out)

    # Only absent variables are added; pod annotations apply.
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"annotations": {"gotune.io/gogc": "200"}},
        container={"env": ["GOMEMLIMIT=100MiB", "GOMAXPROCS=3"], "memory": mem, "quota": 50000}))
    ok(env_of(out) == {"GOGC": "200"}, "keeps the container's own GOMEMLIMIT/GOMAXPROCS; pod annotation adds GOGC",
       env_of(out))

    # Two gotune plugins registered at once (a DaemonSet rolling with
    # maxSurge: 1): NRI applies the first one's answer to the request
    # before it calls the second, which finds the first's record there and
    # answers nothing, even where its own policy would add a variable (a
    # key both claimed would fail the container).
    code, _, first, _ = c.call("CreateContainer", P.create_request(
        container={"env": ["PATH=/bin"], "memory": mem, "quota": 50000}))
    ann = {b"".join(P.fields(e, 1)).decode(): b"".join(P.fields(e, 2)).decode()
           for a in P.fields(first, 1) for e in P.fields(a, 2)}
    applied = ["PATH=/bin"] + ["%s=%s" % kv for kv in P.adjustment(first)["env"]]
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"annotations": {"gotune.io/gogc": "200"}},
        container={"env": applied, "annotations": ann, "memory": mem, "quota": 50000}))
    ok(code == 0 and "gotune.io/env" in ann and out == b"",
       "the request as NRI passes it on after another gotune plugin's answer (its gotune.io/env record "
       "applied): an empty answer, also where this plugin's policy would add GOGC", (ann, out))

    # A synchronization (a reconnect, a runtime restart) lists the
    # containers that run: the plugin names those it would tune that hold
    # no gotune record (created while no gotune plugin was registered). In
    # two messages (more), one tuned, one untuned, one stopped, one with no
    # limits, one disabled.
    def sync_part(pod, ctr, state=None):
        req = P.create_request(pod=pod, container=ctr)
        pb, cb = P.fields(req, 1)[0], P.fields(req, 2)[0]
        return P.f_bytes(1, pb) + P.f_bytes(2, cb + (P.f_varint(4, state) if state else b""))
    sync1 = (sync_part({"id": "pA", "name": "tuned-pod"}, {"id": "a", "name": "a", "env": applied,
                                                           "annotations": ann, "memory": mem, "quota": 50000}, 3) +
             sync_part({"id": "pB", "name": "late-pod"}, {"id": "b", "name": "b", "memory": mem, "quota": 50000}, 3) +
             P.f_varint(3, 1))
    sync2 = (sync_part({"id": "pC", "name": "gone-pod"}, {"id": "c", "name": "c", "memory": mem}, 4) +
             sync_part({"id": "pD", "name": "free-pod"}, {"id": "d", "name": "d"}, 3) +
             sync_part({"id": "pE", "name": "off-pod", "annotations": {"gotune.io/disable": "true"}},
                       {"id": "e", "name": "e", "memory": mem}, 3))
    code1, _, out1, _ = c.call("Synchronize", sync1)
    code2, _, out2, _ = c.call("Synchronize", sync2)
    ok(code1 == 0 and P.fields(out1, 2) == [1] and code2 == 0 and P.fields(out2, 2) == [],
       "a synchronization in two messages is answered (more echoed)", (code1, out1, code2, out2))

    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"annotations": {"gotune.io/disable": "true"}},
        container={"annotations": {"gotune.io/disable": "false"}, "memory": mem}))
    ok(env_of(out) == {"GOMEMLIMIT": str(mem * 9 // 10)}, "a container annotation wins over its pod's", env_of(out))

    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"annotations": {"gotune.io/disable": "true"}}, container={"memory": mem}))
    ok(code == 0 and out == b"", "gotune.io/disable=true on the pod -> no adjustment", out)

    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"quota": 150000, "cpus": "0"}))
    ok(code == 0 and out == b"", "a one-CPU cpuset caps GOMAXPROCS at what Go picks anyway", env_of(out))

    # Limits as clusters write them (issue 17): unified over the v1-style
    # fields (runc and crun write the map last), memory.high, the pod's
    # resources (PodSandbox.linux.pod_resources), sized tmpfs mounts.
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={
        "quota": 50000, "period": 100000, "memory": 1 << 30,
        "unified": {"memory.max": "max", "cpu.max": "max 100000"}}))
    ok(code == 0 and out == b"", "unified memory.max=max, cpu.max=\"max 100000\" over 1GiB / 0.5 CPU: unlimited", out)
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={
        "memory": 256 << 20, "unified": {"memory.high": "255012864", "memory.min": "134217728"}}))
    ok(env_of(out) == {"GOMEMLIMIT": str(255012864 * 9 // 10)}, "GOMEMLIMIT = 0.9 x min(limit, unified memory.high)",
       env_of(out))
    # Pod-level limits (issue 24): only what the pod's cgroup enforces.
    mesh = {"resources": {"memory": 1 << 30, "quota": 200000, "period": 100000, "shares": 2048}}
    code, _, out, _ = c.call("CreateContainer", P.create_request(pod=mesh, container={"shares": 2, "quota": -1}))
    ok(code == 0 and out == b"",
       "pod resources alone (the sum of declared limits: a sidecar's) are not a limit: the app is untouched",
       env_of(out) if out else out)
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod=mesh, container={"shares": 2, "quota": -1, "cgroups_path": "/kubepods/burstable/podB/app"}))
    ok(code == 0 and out == b"", "the mesh pattern: the pod's cgroup has no limit, the app is untouched",
       env_of(out) if out else out)
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"resources": {"memory": 512 << 20, "quota": 100000, "period": 100000}},
        container={"shares": 256, "cgroups_path": "/kubepods/burstable/podA/debug"}))
    want = {"GOMEMLIMIT": str((512 << 20) // 10)}
    if host_cpus > 1:
        want["GOMAXPROCS"] = "1"
    ok(env_of(out) == want, "a container without limits in a limited pod cgroup (kubectl debug) gets what the "
       "others' GOMEMLIMITs leave: 512MiB x 0.1; GOMAXPROCS from the pod's quota", env_of(out))
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"resources": {"memory": 512 << 20, "quota": 100000, "period": 100000},
             "cgroup_parent": "/kubepods/burstable/podA"}, container={"shares": 256}))
    ok(env_of(out) == want, "the pod's cgroup found from the sandbox's cgroup_parent alone", env_of(out))
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"resources": {"memory": 512 << 20}},
        container={"memory": 128 << 20, "cgroups_path": "/kubepods/burstable/podA/app"}))
    want = {"GOMEMLIMIT": str((128 << 20) * 9 // 10)}
    if host_cpus > 1:
        want["GOMAXPROCS"] = "1"
    ok(env_of(out) == want, "a container's own lower limit stays; the pod cgroup's quota bounds it", env_of(out))
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"resources": {"memory": 512 << 20}}, container={"cgroups_path": "/kubepods/burstable/podZ/app"}))
    ok(code == 0 and out == b"", "a pod cgroup that is not there: pod limits not counted", out)
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={
        "memory": 200 << 20, "mounts": [("/scratch", "tmpfs", "tmpfs", ["size=40m"]),
                                        ("/dev/shm", "tmpfs", "shm", ["size=65536k"]),
                                        ("/ro", "tmpfs", "tmpfs", ["size=100m", "ro"])]}))
    ok(env_of(out) == {"GOMEMLIMIT": str((160 << 20) * 9 // 10)},
       "a sized tmpfs volume comes out of the budget (not /dev/shm, not a read-only one)", env_of(out))
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={
        "env": ["GOMEMLIMIT=180M"], "memory": 200 << 20}))
    ok(code == 0 and out == b"", "a GOMEMLIMIT Go aborts on is the container's: NRI only adds", out)

    # Kubernetes has no per-container annotations: the pod's
    # "<key>.gotune.io/container.<name>" is for that container alone (NRI's
    # convention), between the container's own and the pod-wide one.
    pod_ann = {"gotune.io/memory-ratio": "0.8", "memory-ratio.gotune.io/container.app": "0.5",
               "disable.gotune.io/container.other": "true"}
    for name, ann, want, what in (
            ("app", {}, {"GOMEMLIMIT": str(mem // 2)}, "the pod's memory-ratio.gotune.io/container.app wins for app"),
            ("app2", {}, {"GOMEMLIMIT": str(mem * 8 // 10)}, "... not for app2 (the whole name must match)"),
            ("other", {}, None, "the pod's disable.gotune.io/container.other leaves other alone"),
            ("app", {"gotune.io/memory-ratio": "0.7"}, {"GOMEMLIMIT": str(mem * 7 // 10)},
             "a container's own gotune.io/memory-ratio wins over the pod's per-container one")):
        code, _, out, _ = c.call("CreateContainer", P.create_request(
            pod={"annotations": pod_ann}, container={"name": name, "annotations": ann, "memory": mem}))
        got = env_of(out) if out else None
        ok(code == 0 and got == want, what, "got %r want %r" % (got, want))

    # An in-place resize (UpdateContainer): never a change (a running
    # process keeps its env), one line when what gotune set went stale.
    was_env = ["PATH=/bin", "GOMEMLIMIT=" + str(mem * 9 // 10)]
    if host_cpus > 1:
        was_env.append("GOMAXPROCS=" + str(expected_maxprocs(50000, 100000, host_cpus)))
    created = {"name": "resized", "env": was_env, "quota": 50000, "period": 100000, "memory": mem}
    grown = {"quota": 150000, "period": 100000, "memory": 384 << 20}
    for i in range(2):
        code, msg, out, _ = c.call("UpdateContainer", P.update_request(container=created, resources=grown))
        ok(code == 0 and out == b"", "UpdateContainer (resize to 1.5 CPU / 384 MiB) -> an empty answer, call %d" % (i + 1),
           (code, msg, out))
    # The pod's resources as the sandbox was created (what containerd 2.4
    # sends in an update) do not hold the grown container back.
    code, msg, out, _ = c.call("UpdateContainer", P.update_request(
        pod={"resources": {"quota": 50000, "period": 100000, "memory": mem}},
        container=dict(created, id="ctr-in-pod", name="in-pod"), resources=grown))
    ok(code == 0 and out == b"", "UpdateContainer with the pod's resources as created -> an empty answer")
    # The kubelet's way: memory first, then CPU, the second update still
    # naming the first's change (the container's own resources as created).
    two = dict(created, id="ctr-two", name="two")
    for r in ({"quota": 50000, "period": 100000, "memory": 384 << 20}, grown):
        code, msg, out, _ = c.call("UpdateContainer", P.update_request(container=two, resources=r))
        ok(code == 0 and out == b"", "UpdateContainer as the kubelet sends a resize -> an empty answer")
    code, msg, out, _ = c.call("UpdateContainer", P.update_request(
        container=dict(created, name="same"), resources={"quota": 50000, "period": 100000, "memory": mem}))
    ok(code == 0 and out == b"", "UpdateContainer to the same limits -> an empty answer")
    code, msg, out, _ = c.call("UpdateContainer", P.update_request(
        container=dict(created, name="users", env=["GOMEMLIMIT=100MiB"]), resources=grown))
    ok(code == 0 and out == b"", "UpdateContainer of a container with its own GOMEMLIMIT -> an empty answer")
    code, msg, out, _ = c.call("UpdateContainer", b"\x1a\xff\xff\xff\x0f")
    ok(code == 0 and out == b"", "a malformed UpdateContainer -> an empty answer, never an error", (code, msg))

    # A request spread over many frames, and frames larger than 4096.
    big_env = ["VAR%04d=%s" % (i, "x" * 100) for i in range(300)]
    req = P.create_request(pod={"annotations": {"note": "y" * 20000}},
                           container={"env": big_env, "memory": mem})
    code, _, out, _ = c.call("CreateContainer", req)
    ok(env_of(out) == {"GOMEMLIMIT": str(mem * 9 // 10)}, "a %d-byte request in 4096-byte frames" % len(req))
    code, _, out, _ = c.call("CreateContainer", req, frame_max=1 << 20)
    ok(env_of(out) == {"GOMEMLIMIT": str(mem * 9 // 10)}, "the same request in one large frame")

    code, msg, out, _ = c.call("NoSuchMethod", b"")
    ok(code == 12, "an unknown method -> Unimplemented (12)", (code, msg))
    code, msg, out, _ = c.call("CreateContainer", b"", service="some.Other")
    ok(code == 12, "an unknown service -> Unimplemented (12)", (code, msg))
    code, msg, out, _ = c.call("CreateContainer", b"\x12\xff\xff\xff\x0f")
    ok(code == 0 and out == b"", "a malformed CreateContainer payload -> empty adjustment, never an error",
       (code, msg, out))
    code, msg, out, _ = c.call("StateChange", b"")
    ok(code == 0, "StateChange is acknowledged", code)

    # protoc's own decoder reads what the plugin encoded.
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"quota": 50000, "memory": mem}))
    protoc = shutil.which("protoc")
    if protoc:
        raw = subprocess.run([protoc, "--decode_raw"], input=out, capture_output=True).stdout.decode()
        ok('4 {' in raw and '1: "GOMEMLIMIT"' in raw and '2: "%d"' % (mem * 9 // 10) in raw,
           "protoc --decode_raw reads the response as adjust{env{key,value}}", raw)
    else:
        print("ok %d # SKIP protoc not installed (Debian protobuf-compiler)" % (n + 1))
        globals()["n"] += 1

    # NRI v0.12 (containerd 2.2 to 2.4): the fields api.proto gained since
    # v0.4, every one set, and the new Plugin methods. The plugin must skip
    # what it does not know, answer as it answers v0.4, and put nothing in
    # its answer that an older runtime would not take.
    code, _, out, _ = c.call("Configure", P.f_str(2, "containerd") + P.f_str(3, "v2.4.2") +
                             P.f_varint(4, 5000) + P.f_varint(5, 2000) + P.f_str(6, "v0.12.3"))
    ok(code == 0 and P.fields(out, 2) == [0x88], "a v0.12 Configure (timeouts, NRI_version) -> events 0x88 alone",
       (code, P.parse(out) if out else out))
    base = P.create_request(pod={"annotations": {"gotune.io/gogc": "100"}},
                            container={"quota": 50000, "period": 100000, "memory": mem})
    code, _, want_out, _ = c.call("CreateContainer", base)
    pod12 = P.f_str(10, "10.0.0.7") + P.f_str(10, "fd00::7")
    ctr12 = (P.f_varint(14, 1764633600000000000) + P.f_varint(15, 1) + P.f_varint(16, 2) +
             P.f_varint(17, 1) + P.f_str(18, "Completed") + P.f_str(19, "done") +
             P.f_bytes(20, P.f_str(1, "vendor.com/dev=0")) +
             P.f_bytes(21, P.f_varint(1, 1000) + P.f_varint(2, 1000) + P.f_varint(3, 10)) +
             P.f_bytes(22, P.f_str(1, "registry.k8s.io/app:1") + P.f_str(2, "sha256:" + "a" * 64) +
                       P.f_str(3, "sha256:" + "b" * 64)))
    linux12 = (P.f_bytes(6, P.f_varint(1, 2) + P.f_varint(2, 4)) +
               P.f_bytes(7, P.f_varint(1, 2) + P.f_str(2, "profiles/x.json")) +
               P.f_bytes(8, P.f_str(1, "SCMP_ACT_ERRNO") + P.f_str(3, "SCMP_ARCH_X86_64")) +
               P.map_entry(9, "net.ipv4.ip_forward", "1") +
               P.f_bytes(10, P.f_str(1, "eth1") + P.f_bytes(2, P.f_str(1, "net1"))) +
               P.f_bytes(11, P.f_varint(1, 1) + P.f_varint(2, 5)) +
               P.f_bytes(12, P.f_bytes(1, P.f_str(1, "gold"))))
    pids = P.f_bytes(3, P.f_bytes(8, P.f_varint(1, 100)))
    # Appended fields of a message merge with the earlier ones (protobuf):
    # the same request as base, with every v0.12 field besides.
    req12 = base + P.f_bytes(1, pod12) + P.f_bytes(2, ctr12 + P.f_bytes(11, linux12 + pids))
    code, msg, out, _ = c.call("CreateContainer", req12)
    ok(code == 0 and out == want_out and out != b"",
       "a v0.12 CreateContainer (pod ips, container 14-22, linux 6-12, pids) -> the v0.4 answer, byte for byte",
       (code, msg, out, want_out))
    top = sorted(set(num for num, _, _ in P.parse(out)))
    adj_fields = sorted(set(num for a in P.fields(out, 1) for num, _, _ in P.parse(a)))
    ok(top == [1] and adj_fields == [2, 4],
       "the answer holds only adjust.annotations and adjust.env (fields v0.2 defined), nothing a v0.4 runtime "
       "would refuse", (top, adj_fields))
    ann = {b"".join(P.fields(e, 1)).decode(): b"".join(P.fields(e, 2)).decode()
           for a in P.fields(out, 1) for e in P.fields(a, 2)}
    rec = json.loads(ann.get("gotune.io/env", "null"))
    ok(rec == {k: {"wrote": v} for k, v in P.adjustment(out)["env"]},
       "the annotation gotune.io/env records exactly the variables added (plan and prestart read it)", (ann, rec))
    for m in ("RunPodSandbox", "UpdatePodSandbox", "PostUpdatePodSandbox", "StopPodSandbox", "RemovePodSandbox",
              "PostCreateContainer", "StartContainer", "PostStartContainer", "PostUpdateContainer",
              "RemoveContainer", "ValidateContainerAdjustment"):
        code, msg, out, _ = c.call(m, req12)
        if code != 12:
            break
    ok(code == 12, "v0.12 methods it did not subscribe to -> Unimplemented, the connection kept", (m, code, msg))
    code, _, out, _ = c.call("CreateContainer", base)
    ok(code == 0 and out == want_out, "... and the next CreateContainer is answered as before")

    ok(all(sz <= P.FRAME_MAX for sz in c.frames_in), "every frame the plugin sent is <= 4096 bytes",
       max(c.frames_in))
    ok(c.plugin_streams == [1], "the plugin's own calls use odd stream ids from 1", c.plugin_streams)

    code, _, out, _ = c.call("Shutdown", b"")
    ok(code == 0, "Shutdown is answered")

    # Malformed ttrpc: the plugin drops the connection and comes back.
    c.send_ttrpc(1, 101, 1, b"\xff\xff\xff")
    try:
        c.recv_ttrpc()
        dropped = False
    except P.Closed:
        dropped = True
    except TimeoutError:
        dropped = False
    ok(dropped, "a malformed ttrpc request drops the connection")
    c.close()
    c = rt.accept()
    name, idx, events, _ = c.handshake()
    ok(events == 0x88 and plugin.poll() is None, "the plugin reconnects and registers again")

    # A frame larger than anything legitimate.
    c.send_raw(struct.pack(">II", 1, 64 << 20))
    try:
        c.recv_ttrpc()
        dropped = False
    except (P.Closed, TimeoutError) as e:
        dropped = isinstance(e, P.Closed)
    ok(dropped and plugin.poll() is None, "a 64 MiB frame header drops the connection, not the plugin")
    c.close()

    # A runtime restart: the socket goes away and comes back.
    c = rt.accept()
    c.handshake()
    c.close()
    rt.stop()
    time.sleep(2.0)
    rt.listen()
    t0 = time.monotonic()
    c = rt.accept(timeout=15)
    dt = time.monotonic() - t0
    name, idx, events, _ = c.handshake()
    # It dials every 0.1 s for 10 s after losing a registered connection
    # (a doubling backoff from 0.5 s would come 1.5 s after this listen).
    ok(events == 0x88 and dt < 1.0,
       "after a runtime restart (2 s down) the plugin reconnects %.2f s after the socket is back" % dt)

    # Policy from the runtime's plugin config, and a bad one.
    c.close()
    c = rt.accept()
    c.serve_register()
    c.call("Configure", P.f_str(1, json.dumps({"gomemlimit": {"ratio": 0.5}})))
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": mem}))
    ok(env_of(out) == {"GOMEMLIMIT": str(mem // 2)}, "the Configure config is the policy", env_of(out))
    code, _, out, _ = c.call("Configure", P.f_str(1, '{"gomemlimit": {"ratio": "lots"}}'))
    ok(code == 0 and P.fields(out, 2) == [0x88], "a bad config is logged and Configure still succeeds")
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": mem}))
    ok(env_of(out) == {"GOMEMLIMIT": str(mem * 9 // 10)}, "... and the policy file applies", env_of(out))
    # go_only needs an image to inspect, and NRI gives none: the rules apply
    # (it used to tune nothing, saying the entrypoint was not Go).
    c.call("Configure", P.f_str(1, json.dumps({"go_only": True})))
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": mem}))
    ok(env_of(out) == {"GOMEMLIMIT": str(mem * 9 // 10)}, "go_only under NRI: the rules apply", env_of(out))

    c.call("Configure", P.f_str(1, json.dumps({"pod_limits": False})))
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"resources": {"memory": 512 << 20}}, container={}))
    ok(code == 0 and out == b"", "pod_limits false: the pod's resources are not used", out)

    # A response over one frame: a long prestart hook path and many GODEBUG keys.
    hook_path = "/opt/" + "h" * 3900 + "/gotune-hook"
    c.call("Configure", P.f_str(1, json.dumps({"nri": {"prestart_hook": hook_path}})))
    godebug = ",".join("k%02d=%s" % (i, "v" * 60) for i in range(12))
    before = len(c.frames_in)
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"annotations": {"gotune.io/godebug": godebug}}, container={"memory": mem}))
    adj = P.adjustment(out)
    frames = c.frames_in[before:]
    ok(len(out) > P.FRAME_MAX and len(frames) >= 2 and max(frames) <= P.FRAME_MAX,
       "a %d-byte response goes out in %d frames of <= 4096 bytes" % (len(out), len(frames)), frames)
    ok(adj["prestart"] == [(hook_path, ["gotune-hook", "prestart"])], "nri.prestart_hook adds the prestart hook",
       adj["prestart"][:1])
    ok(dict(adj["env"]).get("GODEBUG", "") == godebug, "all 12 GODEBUG keys arrive")

    # No forged line: a pod annotation with a newline and ESC, and names
    # holding them, come out escaped on the plugin's one line (what
    # `kubectl logs` of the DaemonSet shows). (A NUL in a string field is
    # refused by the decoder: that container alone is passed through.)
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        pod={"name": "forge\nFAKE gotune: nri id=x/y/z tuned: GOMAXPROCS=64", "namespace": "ns\x1b[2J",
             "annotations": {"gotune.io/rounding": "x\nFAKE gotune: nri id=a/b/c error\x1b]0;t\x07"}},
        container={"name": "c\rFAKE", "memory": mem}))
    ok(code == 0 and "GOMEMLIMIT" in dict(P.adjustment(out)["env"]), "a forging pod is tuned as any other")
    c.close()

    # SIGTERM: a prompt, clean exit.
    c = rt.accept()
    c.handshake()
    plugin.send_signal(signal.SIGTERM)
    try:
        rc = plugin.wait(timeout=5)
    except subprocess.TimeoutExpired:
        rc = None
    ok(rc == 0, "SIGTERM -> exit 0", rc)
    c.close()
finally:
    if plugin.poll() is None:
        plugin.kill()
    log = plugin.stderr.read().decode(errors="replace")
    rt.stop()

ok("nri id=default/pod/app tuned: " in log, "one log line per decision", log[-2000:])
forged = [ln for ln in log.splitlines() if "forge" in ln]
ok(len(forged) == 1 and not any(ln.startswith("FAKE") for ln in log.splitlines()) and
   not any(ch in log for ch in "\x1b\x07\r\x00") and
   "ns\\x1b[2J/forge\\nFAKE gotune: nri id=x/y/z tuned: GOMAXPROCS=64/c\\rFAKE" in forged[0] and
   "x\\nFAKE gotune: nri id=a/b/c error\\x1b]0;t\\x07" in forged[0],
   "newline, CR, ESC and BEL in names and annotations: one line, escaped, none forged", forged or log[-2000:])
lines = [ln for ln in log.splitlines() if "nri: synchronized: 4 containers run" in ln]
want = "1 of them without what gotune plans for them: default/late-pod/b ("
ok(len(lines) == 1 and want in lines[0] and "GOMEMLIMIT=%d)" % (mem * 9 // 10) in lines[0] and
   "restart them to tune them" in lines[0] and "gone-pod" not in lines[0],
   "after a synchronization, one line names the running container it would tune that holds no gotune "
   "record (not the tuned, stopped, limitless or disabled ones)", "\n".join(lines) or log[-1500:])
# 1.5 CPU plans GOMAXPROCS=2, or none where the host has 2 CPUs (Go picks 2).
stale = ["default/pod/resized resized: "]
if host_cpus > 1:
    was, now = expected_maxprocs(50000, 100000, host_cpus), expected_maxprocs(150000, 100000, host_cpus)
    stale.append("GOMAXPROCS=%d no longer matches the new limits (they plan %s" % (
        was, "%d)" % now if now < host_cpus else "none: "))
stale.append("GOMEMLIMIT=%d no longer matches the new limits (they plan %d); " % (mem * 9 // 10, (384 << 20) * 9 // 10))
lines = [ln for ln in log.splitlines() if "pod/resized resized" in ln]
ok(len(lines) == 1 and all(p in lines[0] for p in stale) and "restart the container to retune it" in lines[0],
   "a resize: one line names what went stale, once for the same update sent twice", lines)
ok(any("pod/in-pod resized: " in ln and stale[-1] in ln for ln in log.splitlines()),
   "... also when the update carries the pod's resources as created (containerd 2.4)", log[-2000:])
two = [ln for ln in log.splitlines() if "pod/two resized" in ln]
ok(len(two) == (2 if host_cpus > 1 else 1) and "GOMEMLIMIT=" in two[0] and "GOMAXPROCS=" not in two[0] and
   all("GOMEMLIMIT=" not in ln for ln in two[1:]),
   "memory then CPU in two updates: each change is said once (GOMEMLIMIT, then GOMAXPROCS alone)", two)
ok("pod/same resized" not in log and "pod/users resized" not in log,
   "no line for a resize that changes nothing gotune set, nor for the user's own value", log[-2000:])
ok("user set GOMEMLIMIT=180M; Go aborts at start" in log, "the log line says why GOMEMLIMIT=180M is a problem",
   log[-2000:])

# Started by the runtime: NRI_PLUGIN_SOCKET names a connected fd.
a, b = socket.socketpair()
# NRI up to v0.4 (containerd 1.7, CRI-O 1.26) names the plugin by its file
# name, index included; later versions by the name alone.
env = {"NRI_PLUGIN_SOCKET": "3", "NRI_PLUGIN_NAME": "07-tuner", "NRI_PLUGIN_IDX": "07", "GOTUNE_POLICY": policy}
# The fd is moved to 3 in the child before the other fds are closed.
child = subprocess.Popen([HOOK, "nri"], pass_fds=(3, b.fileno()), env=env, stderr=subprocess.PIPE,
                         preexec_fn=lambda: os.dup2(b.fileno(), 3))
b.close()
c = P.Conn(a)
name, idx, events, _ = c.handshake()
ok((name, idx) == ("tuner", "07"),
   "a runtime-started plugin takes its name and index from the env (file name 07-tuner: name tuner)", (name, idx))
code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": 1 << 30}))
ok(env_of(out) == {"GOMEMLIMIT": str((1 << 30) * 9 // 10)}, "... and serves fd 3", env_of(out))
c.close()
try:
    rc = child.wait(timeout=5)
except subprocess.TimeoutExpired:
    child.kill()
    rc = None
ok(rc == 0, "... and exits 0 when the runtime closes it", rc)

# Started by the runtime with a corrupt policy file: it must still register
# (NRI <= v0.6 stops the runtime when a pre-installed plugin does not).
bad = os.path.join(work, "bad-policy.json")
with open(bad, "w") as f:
    f.write('{ "gomemlimit": ')
a, b = socket.socketpair()
env = {"NRI_PLUGIN_SOCKET": "3", "NRI_PLUGIN_NAME": "gotune", "NRI_PLUGIN_IDX": "50", "GOTUNE_POLICY": bad}
child = subprocess.Popen([HOOK, "nri"], pass_fds=(3, b.fileno()), env=env, stderr=subprocess.PIPE,
                         preexec_fn=lambda: os.dup2(b.fileno(), 3))
b.close()
c = P.Conn(a)
try:
    name, idx, events, _ = c.handshake()
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": 1 << 30}))
    ok(events == 0x88 and env_of(out) == {"GOMEMLIMIT": str((1 << 30) * 9 // 10)},
       "runtime-started with a corrupt policy file: registers anyway, with the defaults", env_of(out))
except Exception as e:  # noqa: BLE001
    ok(False, "runtime-started with a corrupt policy file: registers anyway, with the defaults", repr(e))
c.close()
try:
    child.wait(timeout=5)
except subprocess.TimeoutExpired:
    child.kill()
err = child.stderr.read().decode(errors="replace")
ok("bad-policy.json" in err and "built-in defaults" in err, "... and says why", err[-500:])
ok("decided by the built-in defaults" in err, "... and each container's line says the defaults decided it", err[-800:])



# A policy as a Kubernetes ConfigMap volume holds it: DIR/policy.json ->
# ..data/policy.json, ..data -> ..<timestamp>; an update writes a new
# timestamped directory and renames a new ..data link over the old one.
class ConfigMap:
    def __init__(self, d):
        self.d = d
        self.gen = 0
        os.makedirs(d)
        os.symlink("..data/policy.json", os.path.join(d, "policy.json"))

    def write(self, text):
        self.gen += 1
        ts = "..2026_12_04_00_00_%02d.%d" % (self.gen, os.getpid())
        os.makedirs(os.path.join(self.d, ts))
        with open(os.path.join(self.d, ts, "policy.json"), "w") as f:
            f.write(text)
        os.symlink(ts, os.path.join(self.d, "..data_tmp"))
        os.rename(os.path.join(self.d, "..data_tmp"), os.path.join(self.d, "..data"))

    @property
    def path(self):
        return os.path.join(self.d, "policy.json")


def status_of(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def nri_status(path):
    r = subprocess.run([HOOK, "nri-status", "--status", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode, r.stdout.decode(errors="replace")


cm = ConfigMap(os.path.join(work, "cm"))
cm.write(json.dumps({"gomemlimit": {"ratio": 0.9}}))
status = os.path.join(work, "run", "nri.status")
metrics = os.path.join(work, "metrics", "gotune.prom")
errlog = open(os.path.join(work, "reload.err"), "w+")
rt = P.Runtime(sock)
plugin = P.start_plugin(HOOK, sock, cm.path, extra=("--status", status), stderr=errlog)
mem = 256 << 20
try:
    c = rt.accept()
    c.handshake()
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": mem}))
    ok(env_of(out) == {"GOMEMLIMIT": str(mem * 9 // 10)}, "reload: the ConfigMap's first policy (ratio 0.9)", env_of(out))
    rc, text = nri_status(status)
    ok(rc == 0 and text.startswith("ready: registered"), "nri-status: ready once registered", text)

    # The ConfigMap edited: the very next container gets the new policy.
    cm.write(json.dumps({"gomemlimit": {"ratio": 0.5}, "metrics": {"file": metrics}}))
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": mem}))
    ok(env_of(out) == {"GOMEMLIMIT": str(mem // 2)}, "reload: the next container after an edit gets ratio 0.5, "
       "no restart", env_of(out))
    ok(plugin.poll() is None, "... the plugin is the same process")

    # A broken edit: the last good policy stays in force, and it says so.
    cm.write('{"gomemlimit": {"ratoi": 0.7}}')
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": mem}))
    ok(env_of(out) == {"GOMEMLIMIT": str(mem // 2)}, "a broken edit: containers keep the last good policy (0.5)",
       env_of(out))
    st = status_of(status)
    ok(st.get("ready") is False and st.get("registered") is True and "invalid now" in st.get("reason", ""),
       "... the status says not ready, registered, and why", st)
    rc, text = nri_status(status)
    ok(rc == 1 and "gomemlimit.ratoi" in text and "last good policy stays in force" in text,
       "... nri-status exits 1 and names the key", text)
    # Counted with the policy in force (its metrics file).
    code, _, out, _ = c.call("CreateContainer", P.create_request(
        container={"memory": mem, "annotations": {"gotune.io/mode": "audit"}}))
    ok(code == 0 and out == b"", "gotune.io/mode=audit: no adjustment", out)
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"env": ["GOMEMLIMIT=1MiB"], "memory": mem}))
    with open(metrics) as f:
        prom = f.read()
    ok('gotune_containers_total{entry="nri",outcome="tuned"} 2' in prom and
       'gotune_containers_total{entry="nri",outcome="audit"} 1' in prom and
       'gotune_containers_total{entry="nri",outcome="kept"} 1' in prom,
       "counters: nri tuned 2, audit 1, kept 1", prom)

    # Fixed again, and in audit mode for every container.
    cm.write(json.dumps({"mode": "audit", "gomemlimit": {"ratio": 0.5}}))
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": mem}))
    ok(code == 0 and out == b"", "policy mode audit: no adjustment", out)
    time.sleep(0.1)
    rc, text = nri_status(status)
    ok(rc == 0, "a fixed policy: ready again", text)
    # An edit while idle is seen within the idle tick (2 s), without a request.
    cm.write('{"gomaxprocs": {"rounding": "sideways"}}')
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and status_of(status).get("ready", True):
        time.sleep(0.2)
    ok(status_of(status).get("ready") is False, "an edit while idle is seen within the idle tick")
    c.close()
    plugin.send_signal(signal.SIGTERM)
    plugin.wait(timeout=5)
    ok(not os.path.exists(status), "a stopped plugin leaves no status file (not ready)")
finally:
    if plugin.poll() is None:
        plugin.kill()
    rt.stop()
errlog.seek(0)
log = errlog.read()
ok("reloaded (sha256" in log, "the log says when the policy was reloaded", log[-1500:])
ok("gomemlimit.ratoi\" is unknown; did you mean \"gomemlimit.ratio\"?; keeping the policy in force" in log,
   "the log says a broken edit keeps the policy in force, with the key", log[-1500:])
ok("tuned: GOMAXPROCS (skipped: no CPU quota [image not inspected]) GOMEMLIMIT=128MiB (set: memory limit 256MiB x "
   "0.50); warning: the policy file is invalid (see the plugin's warning); decided by the last good policy, sha256 " in log,
   "while the file is broken, each container's line says it was decided by the last good policy", log[-1500:])
ok("nri id=default/pod/app audit: GOMAXPROCS (skipped: no CPU quota [image not inspected]) GOMEMLIMIT=128MiB (would set" in log, "an audit line says what it would set",
   log[-1500:])

# An invalid policy at start: the plugin does not register, stays up, not
# ready, says why; once the file is fixed it registers.
cm2 = ConfigMap(os.path.join(work, "cm2"))
cm2.write('{"gomemlimit": {"ratoi": 0.5}}')
status2 = os.path.join(work, "run", "nri2.status")
errlog2 = open(os.path.join(work, "start.err"), "w+")
rt = P.Runtime(sock)
plugin = P.start_plugin(HOOK, sock, cm2.path, extra=("--status", status2), stderr=errlog2)
try:
    try:
        rt.accept(timeout=3)
        ok(False, "an invalid policy at start: the plugin does not dial the runtime")
    except socket.timeout:
        ok(plugin.poll() is None, "an invalid policy at start: the plugin stays up and does not register")
    rc, text = nri_status(status2)
    ok(rc == 1 and "not registering with the runtime until the policy is fixed" in text and "ratoi" in text,
       "... nri-status: not ready, and why", text)
    cm2.write(json.dumps({"gomemlimit": {"ratio": 0.5}}))
    t0 = time.monotonic()
    c = rt.accept(timeout=10)
    c.handshake()
    code, _, out, _ = c.call("CreateContainer", P.create_request(container={"memory": mem}))
    ok(env_of(out) == {"GOMEMLIMIT": str(mem // 2)},
       "... fixed: it registers (%.1f s) and tunes with the fixed policy" % (time.monotonic() - t0), env_of(out))
    rc, text = nri_status(status2)
    ok(rc == 0, "... and is ready", text)
    c.close()
finally:
    plugin.send_signal(signal.SIGTERM)
    try:
        plugin.wait(timeout=5)
    except subprocess.TimeoutExpired:
        plugin.kill()
    rt.stop()
errlog2.seek(0)
log = errlog2.read()
ok("not registering with the runtime until it is fixed" in log and "valid now" in log,
   "the log says why it waits, and when it registers", log[-1500:])
rc, text = nri_status(os.path.join(work, "run", "none.status"))
ok(rc == 1 and text.startswith("not ready"), "nri-status without a status file: not ready", text)

shutil.rmtree(work, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if failed else 0)
