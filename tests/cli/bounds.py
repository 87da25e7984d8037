#!/usr/bin/env python3
"""The work a tenant can cause through a spec is bounded: a 100,000-entry
PATH, LD_LIBRARY_PATH (prewarm.closure) costs no more CPU than a short one
in a spec of the same size (the JSON parse is the same), for `plan` (the
image inspection every entry point does) and the prestart hook (the
closure). CPU time (user + system, from wait4), medians of alternating
runs; a generous bound: the long one within 1.5x + 20 ms of the short.
Before the search lists were capped the long one cost 0.3-0.4 s of CPU.
TAP output."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HOOK = os.path.abspath(os.environ.get("GOTUNE_HOOK", "build/hook/gotune-hook"))
ENTRIES = 100000
ROUNDS = 7
n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, what))
    if not cond:
        failed += 1
        for line in str(detail).splitlines():
            print("#   " + line)


def cpu_of(args, stdin_text=None):
    """CPU seconds (user + system) of one run of args, and its status."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(r, 0)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(w)
        os.execv(args[0], args)
    os.close(r)
    os.write(w, (stdin_text or "").encode())
    os.close(w)
    _, status, ru = os.wait4(pid, 0)
    return ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


work = tempfile.mkdtemp(prefix="gotune-bounds-")
try:
    # A rootfs with /bin/true and its libraries, as the container sees them.
    root = os.path.join(work, "rootfs")
    true = os.path.realpath(shutil.which("true"))
    files = [true] + [ln.split()[2] if "=>" in ln else ln.split()[0]
                      for ln in subprocess.run(["ldd", true], capture_output=True, text=True).stdout.splitlines()
                      if "/" in ln]
    for f in files:
        dst = root + f
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(os.path.realpath(f), dst)
    long_list = ":".join("/d%d" % i for i in range(ENTRIES))
    policy = os.path.join(work, "policy.json")
    with open(policy, "w") as f:
        json.dump({"prewarm": {"closure": True, "mode": "willneed"}, "profile": {"dir": os.path.join(work, "none")}}, f)

    def bundle(name, arg0, var, long):
        b = os.path.join(work, name)
        os.makedirs(b)
        os.symlink(root, os.path.join(b, "rootfs"))
        env = ["%s=%s" % (var, long_list if long else "/bin"), "PAD=" + ("" if long else "x" * len(long_list))]
        if var != "PATH":
            env.append("PATH=/bin")
        spec = {"ociVersion": "1.0.2", "root": {"path": "rootfs"},
                "process": {"args": [arg0], "cwd": "/", "env": env},
                "linux": {"resources": {"cpu": {"quota": 50000, "period": 100000}, "memory": {"limit": 209715200}}}}
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(spec, f)
        return b

    cases = [
        ("plan, PATH", ["plan", "--bundle"], "true", "PATH"),
        ("prestart (closure), LD_LIBRARY_PATH", ["prestart", "--policy", policy], true, "LD_LIBRARY_PATH"),
        ("prestart (closure), PATH", ["prestart", "--policy", policy], "true", "PATH"),
    ]
    for i, (what, cmd, arg0, var) in enumerate(cases):
        short_b, long_b = bundle("s%d" % i, arg0, var, False), bundle("l%d" % i, arg0, var, True)
        if os.path.getsize(os.path.join(long_b, "config.json")) - os.path.getsize(os.path.join(short_b, "config.json")) > 64:
            ok(False, "the two specs are of one size")
        times = {short_b: [], long_b: []}
        codes = set()
        for _ in range(ROUNDS):
            for b in (short_b, long_b):
                if cmd[0] == "prestart":
                    state = json.dumps({"ociVersion": "1.0.2", "id": "b", "status": "creating", "pid": 1, "bundle": b})
                    t, rc = cpu_of([HOOK] + cmd, state)
                else:
                    t, rc = cpu_of([HOOK] + cmd + [b])
                times[b].append(t)
                codes.add(rc)
        s, l = median(times[short_b]), median(times[long_b])
        ok(codes == {0} and l <= 1.5 * s + 0.020,
           "%s: %d entries cost %.1f ms of CPU, a short one %.1f ms (median of %d; bound 1.5x + 20 ms)" % (
               what, ENTRIES, l * 1e3, s * 1e3, ROUNDS),
           "exit codes %s; long %s; short %s" % (codes, times[long_b], times[short_b]))
finally:
    shutil.rmtree(work, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if failed else 0)
