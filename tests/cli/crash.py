#!/usr/bin/env python3
"""Crash safety of the config.json rewrite: the wrapper is SIGKILLed at
random points while it rewrites a real containerd spec in a disk-backed
bundle. After every kill config.json must be the old or the new document,
whole; a temp file a kill leaves behind must be gone after the next run.
TAP output."""

import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

hook = os.environ["GOTUNE_HOOK"]
fixtures = os.environ["GOTUNE_FIXTURES"]
iterations = int(os.environ.get("CRASH_ITERATIONS", "300"))
n = failed = 0


def ok(cond, what):
    global n, failed
    n += 1
    failed += 0 if cond else 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))


# Disk, not tmpfs: fsync takes long enough there for kills to land mid-write.
base = "/var/tmp" if os.path.isdir("/var/tmp") else None
work = tempfile.mkdtemp(prefix="gotune-crash-", dir=base)
bundle = os.path.join(work, "bundle")
os.mkdir(bundle)
cfg = os.path.join(bundle, "config.json")
spec = json.load(open(os.path.join(fixtures, "containerd-config.json")))
spec.setdefault("linux", {}).setdefault("resources", {})["memory"] = {"limit": 209715200}
old = json.dumps(spec, indent=1).encode()
policy = os.path.join(work, "policy.json")
open(policy, "w").write("{}")
env = dict(os.environ, GOTUNE_POLICY=policy)
cmd = [hook, "runtime", "--runtime", "/bin/true", "--", "create", "--bundle", bundle, "ctr"]

# The tuned document, from an uninterrupted run.
open(cfg, "wb").write(old)
subprocess.run(cmd, env=env, check=True, stderr=subprocess.DEVNULL)
new = open(cfg, "rb").read()
ok(new != old and b"GOMEMLIMIT=180MiB" in new, "an uninterrupted run tunes the spec")

# Kills spread over a whole run, however long this build takes to get there
# (a sanitizer build starts 10x slower than the release one).
durations = []
for _ in range(3):
    open(cfg, "wb").write(old)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stderr=subprocess.DEVNULL)
    durations.append(time.perf_counter() - t0)
window = sorted(durations)[1]
print("# an uninterrupted run takes %.1f ms: kills land in [0, %.1f] ms" % (window * 1e3, window * 1.2e3))
rng = random.Random(int(os.environ.get("CRASH_SEED", "1")))
seen = {"old": 0, "new": 0, "temp left": 0}
bad = []
for i in range(iterations):
    open(cfg, "wb").write(old)
    p = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, window * 1.2))
    p.send_signal(signal.SIGKILL)
    p.wait()
    got = open(cfg, "rb").read()
    if got == old:
        seen["old"] += 1
    elif got == new:
        seen["new"] += 1
    else:
        bad.append(i)
    if glob.glob(os.path.join(bundle, ".config.json.gotune-*")):
        seen["temp left"] += 1

ok(not bad, "after %d SIGKILLs config.json was always whole: old %d, new %d (bad at %s)" %
   (iterations, seen["old"], seen["new"], bad[:5]))
print("# kills that left a temp file (landed mid-rewrite): %d" % seen["temp left"])
ok(seen["old"] > 0 and seen["new"] > 0, "kills landed both before and after the rename")

# A killed wrapper's tuning child is not killed with it (it finishes its
# rewrite on its own): let the last ones end before "the next run".
for _ in range(100):
    if subprocess.run(["pgrep", "-f", bundle], capture_output=True).returncode != 0:
        break
    time.sleep(0.05)

# A leftover from a kill is cleared by the next run; a live writer's is not.
stale = os.path.join(bundle, ".config.json.gotune-deadbeef0000")
open(stale, "w").write("partial")
open(cfg, "wb").write(old)
subprocess.run(cmd, env=env, check=True, stderr=subprocess.DEVNULL)
ok(not glob.glob(os.path.join(bundle, ".config.json.gotune-*")), "the next run removes temp files of killed runs")
import fcntl  # noqa: E402
live = os.path.join(bundle, ".config.json.gotune-0123456789ab")
fd = os.open(live, os.O_CREAT | os.O_WRONLY, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
open(cfg, "wb").write(old)
subprocess.run(cmd, env=env, check=True, stderr=subprocess.DEVNULL)
ok(os.path.exists(live) and open(cfg, "rb").read() == new, "a temp file whose writer is alive (locked) is left alone")
os.close(fd)

shutil.rmtree(work, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if failed else 0)
