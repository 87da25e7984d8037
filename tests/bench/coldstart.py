#!/usr/bin/env python3
"""Cold-start benchmark of prewarm: time from `runc run` to the program's
first output, with the page cache dropped before every run, for each prewarm
mode against no hook, alternating within each round.

usage (root): coldstart.py HOOK [--rounds N] [--ra KB,...] [--work DIR] [--cases none,default,...] [--programs perl,clang]
                            [--against OLDHOOK]

Two containers are built from binaries on this machine, each with its ELF
closure copied in: `perl -e` (about 7 MiB of code) and `clang --version`
(about 220 MiB). gotune runs as a createRuntime hook. Everything runs in a
private mount namespace that is a new user's host: gotune's state directory
does not exist yet, /etc/gotune holds no policy, /dev/log is no socket (the
hooks' lines go to the fallback log). Cases:
  none      no hook
  default   the hook, default prewarm settings (willneed, listed files only: none here)
  default-profile   README "Working-set profiles" verbatim: the default
            policy (no policy file at all), config.json's one createRuntime
            hook (which replays, and records gotune.io/record=true) and the
            annotation; the profile was recorded by that setup from a warm
            start, and every measured start records again until the profile
            settles, as a user's would
  default-replay    the same once the annotation is gone: the replay alone
  default-wrapper   `runc run` through gotune-runc, default policy, no hook:
            the wrapper replays that profile
  default-wrapper-record   README's setup for an engine driven through
            gotune-runc: the wrapper replays, and gotune.io/record=true is
            left on with no hook: the wrapper starts the recorder itself
            (every start is recorded again until the profile settles)
  default-wrapper-recordhook   the setup README showed before 2026-12-07:
            the same with a `gotune-hook record` createRuntime hook, which
            runc waits for on every start
  CASE:settled   a row after the table for each of the two above: only
            the rounds whose profile was found settled (it no longer
            changes: the hook starts no recorder, or the record hook's
            recorder only marks it used), paired with the
            same rounds of none: what every start costs once recording stops
  willneed, populate, background   that mode on the whole closure, no set-size limit
  profile-willneed, profile-populate, profile-background   hand-tuned: the
            working set one earlier run touched (recorded by the hook into a
            profile directory of the bench's), no budgets, that mode
  wrapper, wrapper-populate, wrapper-profile   `runc run` through gotune-runc
            (no hook): default prewarm settings; the whole closure; the
            hand-tuned profile, read by the wrapper's detached child while
            runc sets the container up
  replay-floor   the profile default-profile replays, read whole and waited
            for (a prestart hook run by hand, populate mode) after the drop
            and before `runc run` starts, untimed: the best any replay of
            that profile can do, however early it starts and however fast
            it reads (the profile's own misses remain)
  hook-floor   README's one createRuntime hook as a static program that
            reads its stdin and exits (tests/bench/floor.c): what any tool
            run as a hook costs per start, before it does anything
  wrapper-floor   `runc run` through a static program that forks once,
            waits and execs runc (floor.c): what any wrapper that parses in
            a confined child costs per start
  warm      no hook and no drop: the bound no prewarm can beat
  CASE+old  with --against OLDHOOK (another build's gotune-hook), each of
            the default-profile, default-replay, default-wrapper,
            default-wrapper-record and default-wrapper-recordhook cases
            asked for again with that build's
            hook and wrapper, in the same rounds: two builds compared
            against the same no-prewarm starts (the disk's speed drifts
            between runs by more than most changes gain)
runc's and gotune's own binaries, their libraries and gotune's policy file
are read back in after each drop (they are used for every container on a
node, so they are hot there): only the container's files start cold. The device's readahead (read_ahead_kb) is set to each --ra value in turn
(default: the current value and 128) and restored at the end.
Reports the median per case, its ratio to `none`'s median, the median of the
per-round ratios to `none` (paired: steadier when the disk's speed drifts),
the share of the cold penalty (none - warm) it removed, gotune's own median
wall time and the bytes it asked the kernel to read (from its JSON log and
the fallback log).
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ALL_CASES = ["none", "default", "default-profile", "default-replay", "default-wrapper", "default-wrapper-record",
             "default-wrapper-recordhook",
             "willneed", "populate",
             "background", "profile-willneed", "profile-populate", "profile-background", "wrapper", "wrapper-populate",
             "wrapper-profile", "replay-floor", "hook-floor", "wrapper-floor", "warm"]
FRESH_ENV = "GOTUNE_BENCH_FRESH_HOST"
CASES = list(ALL_CASES)
AGAINST_CASES = ("default-profile", "default-replay", "default-wrapper", "default-wrapper-record",
                 "default-wrapper-recordhook")
AGAINST = None  # --against: the other build's gotune-hook


def base_case(case):
    """The case a CASE+old row repeats, and the hook it runs with."""
    return (case[:-4], AGAINST) if case.endswith("+old") else (case, None)


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def closure(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    files = [binary]
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            files.append(parts[2])
        elif parts and parts[0].startswith("/"):
            files.append(parts[0])
    return files


def make_rootfs(root, binary):
    for f in closure(binary):
        dst = root + f
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(f), dst)
    for d in ("proc", "dev", "sys", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    size = sum(os.path.getsize(root + f) for f in closure(binary))
    return size


def readme_hooks(hook, policy=None, replay=True):
    """config.json's hooks as README "Working-set profiles" shows them: the
    replay hook, which records too (replay=False: the record hook, for
    gotune-runc, which replays itself)."""
    opt = ["--policy", policy] if policy else []
    cmd = "createRuntime" if replay else "record"
    return {"createRuntime": [{"path": hook, "args": ["gotune-hook", cmd] + opt, "timeout": 10}]}


FLOOR = None  # tests/bench/floor.c, built in main()


def make_bundle(bundle, root, args, hook, policy, case, record=False):
    case, other = base_case(case)
    hook = other or hook
    os.makedirs(bundle, exist_ok=True)
    cfg = os.path.join(bundle, "config.json")
    if os.path.exists(cfg):
        os.unlink(cfg)
    sh("runc", "spec", "--bundle", bundle)
    c = json.load(open(cfg))
    c["root"] = {"path": root, "readonly": True}
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    if case in ("default-profile", "default-replay"):
        # No policy anywhere: what a new user has.
        c["hooks"] = readme_hooks(hook)
    elif case == "default-wrapper-recordhook":
        c["hooks"] = readme_hooks(hook, replay=False)
    elif case == "hook-floor":
        c["hooks"] = {"createRuntime": [{"path": FLOOR, "args": ["floor", "hook"], "timeout": 10}]}
    elif case not in ("none", "warm", "replay-floor") and not case.startswith("wrapper") and not case.startswith("default-"):
        c["hooks"] = {"createRuntime": [{"path": hook, "args": ["gotune-hook", "createRuntime", "--policy", policy[case]],
                                         "timeout": 30}]}
    if record or case in ("default-profile", "default-wrapper-record", "default-wrapper-recordhook"):
        c["annotations"] = {"gotune.io/record": "true"}
    if record:
        c["hooks"] = readme_hooks(hook, policy.get(case))
    json.dump(c, open(cfg, "w"))


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def gotune_running():
    """Whether a gotune-hook or gotune-runc process is left (pgrep cannot
    match both names in one pattern: it refuses patterns over 15
    characters)."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() in ("gotune-hook", "gotune-runc"):
                        return True
            except OSError:
                pass
    return False


def run_once(bundle, cid, keep_hot, cold=True, runner=("runc",), env=None, before=None):
    if cold:
        drop_caches()
    # gotune runs for every container on a node, so its own binary is hot
    # there; only the container's files start cold.
    # The engine has just written config.json: it is hot too.
    for f in keep_hot + [os.path.join(bundle, "config.json")]:
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass
    if before is not None:
        before()
    t0 = time.perf_counter()
    p = subprocess.Popen([*runner, "run", "--bundle", bundle, cid], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    first = p.stdout.read(1)
    t1 = time.perf_counter()
    p.stdout.read()
    rc = p.wait()
    if rc != 0 or not first:
        sys.exit(f"container {cid} failed (exit {rc})")
    # A background reader may outlive its container: the next start must
    # not share the disk with it. The wrapper's detached reader and
    # recorder keep its name.
    for _ in range(300):
        if not gotune_running():
            break
        time.sleep(0.1)
    return (t1 - t0) * 1000


def readahead_path(path):
    st = os.stat(path)
    dev = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    for p in (f"/sys/dev/block/{dev}/bdi/read_ahead_kb", f"/sys/dev/block/{dev}/../bdi/read_ahead_kb"):
        if os.path.exists(p):
            return p
    return None


def private_namespace():
    """Runs this script again in a private mount namespace (see
    fresh_host), unless it is there already."""
    if os.environ.get(FRESH_ENV) != "1":
        os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable] + sys.argv,
                   dict(os.environ, **{FRESH_ENV: "1"}))


def fresh_host(hook, work, name="fresh"):
    """Makes this private mount namespace a new user's host: an empty
    directory (WORK/NAME-anc) over the place of gotune's state directory
    (over its nearest existing ancestor), another (WORK/NAME-etc) over
    /etc/gotune, and /dev/log no socket. Called again with another name,
    the new directories are mounted over the last ones: another new host.
    Returns the state directory."""
    out = subprocess.run([hook, "--version"], capture_output=True, text=True, check=True).stdout
    state = [l[len("state directory "):] for l in out.splitlines() if l.startswith("state directory ")][0]
    anc = os.path.dirname(state)
    while not os.path.isdir(anc):
        anc = os.path.dirname(anc)
    for d in ("anc", "etc"):
        os.makedirs(os.path.join(work, f"{name}-{d}"))
    sh("mount", "--bind", os.path.join(work, f"{name}-anc"), anc)
    if os.path.isdir("/etc/gotune"):
        sh("mount", "--bind", os.path.join(work, f"{name}-etc"), "/etc/gotune")
    if os.path.exists("/dev/log"):
        open(os.path.join(work, "not-a-socket"), "w").close()
        sh("mount", "--bind", os.path.join(work, "not-a-socket"), "/dev/log")
    assert not os.path.exists(state), state
    return state


def events(*logs):
    """gotune's lines from its JSON logs and the fallback log, as dicts."""
    text = re.compile(r"^\S+ gotune\[\d+\] \w+: (\S+) id=(\S+) (\w+)(?:: (.*))? ([0-9.]+)ms$")
    for log in logs:
        if not os.path.exists(log):
            continue
        for line in open(log):
            if line.startswith("{"):
                yield json.loads(line)
            else:
                m = text.match(line.rstrip("\n"))
                if m:
                    yield {"entry": m[1], "id": m[2], "outcome": m[3], "detail": m[4] or "", "ms": float(m[5])}


def print_row(label, mine, nones, base, bound):
    """One row of a section's table: a case's times and the same rounds'
    times of `none`, against none's median (base) and warm's (bound)."""
    t = sorted(mine)
    m = statistics.median(t)
    # Each round runs every case once, back to back: the median of
    # per-round ratios is steadier than the ratio of medians when the
    # disk's speed drifts.
    paired = statistics.median(a / b for a, b in zip(mine, nones))
    # How much of the cold penalty (none - warm) it removed.
    gain = f"{(base - m) / (base - bound):8.2f}" if bound is not None and base > bound else f"{'-':>8}"
    print(f"{label:<18} {m:10.1f} {m / base:7.3f} {paired:7.3f} {t[len(t) // 10]:8.1f} "
          f"{t[min(len(t) - 1, len(t) * 9 // 10)]:8.1f} {gain}")


def main():
    global AGAINST
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    private_namespace()
    hook = os.path.abspath(args[0])
    rounds, ras, work, programs = 10, None, "/var/tmp/gotune-coldstart", ["perl", "clang"]
    for i, a in enumerate(args):
        if a == "--rounds":
            rounds = int(args[i + 1])
        elif a == "--ra":
            ras = [int(x) for x in args[i + 1].split(",")]
        elif a == "--work":
            work = args[i + 1]
        elif a == "--cases":
            keep = args[i + 1].split(",")
            CASES[:] = [c for c in CASES if c in keep or c == "none"]
        elif a == "--programs":
            programs = args[i + 1].split(",")
        elif a == "--against":
            AGAINST = os.path.abspath(args[i + 1])
    if AGAINST:
        CASES[:] = [x for c in CASES for x in ([c, c + "+old"] if c in AGAINST_CASES else [c])]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    state = fresh_host(hook, work)
    fallback = os.path.join(state, "gotune.log")
    log = os.path.join(work, "hook.jsonl")
    policy = {}
    profiles = os.path.join(work, "profiles")
    # Budgets out of the way: the whole closure or profile is warmed.
    unbounded = {"max_set_bytes": 1 << 40, "max_bytes": 1 << 30, "max_file_bytes": 1 << 30, "max_ms": 10000}
    global FLOOR
    FLOOR = os.path.join(work, "floor")
    sh(os.environ.get("CC", "cc"), "-O2", "-static-pie", "-fPIE", "-o", FLOOR,
       os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor.c"))
    for case in [c for c in ALL_CASES if c not in ("none", "warm", "replay-floor", "hook-floor", "wrapper-floor")
                 and not c.startswith("default-")]:
        profiled = case.startswith("profile") or case == "wrapper-profile"
        p = {"log_file": log, "profile": {"dir": profiles if profiled else os.path.join(work, "none")}}
        if case.startswith("wrapper"):
            # The wrapper's reader is detached already: populate reads in order.
            mode = None if case == "wrapper" else "populate"
        else:
            mode = None if case == "default" else case.split("-")[-1]
        if mode is not None:
            p["prewarm"] = dict(unbounded, mode=mode, **({} if profiled else {"closure": True}))
        policy[case] = os.path.join(work, f"policy-{case}.json")
        json.dump(p, open(policy[case], "w"))

    # The floor: default-profile's profile (the default profile directory),
    # read whole and waited for.
    policy["replay-floor"] = os.path.join(work, "policy-replay-floor.json")
    json.dump({"log_file": log, "prewarm": dict(unbounded, mode="populate")}, open(policy["replay-floor"], "w"))

    workloads = []
    for name, binary, argv in (("perl", "/usr/bin/perl", ["/usr/bin/perl", "-e", "print qq(hello\\n)"]),
                               ("clang", "/usr/lib/llvm-14/bin/clang", ["/usr/lib/llvm-14/bin/clang", "--version"])):
        if name not in programs:
            continue
        if not os.path.exists(binary):
            print(f"# {name}: {binary} not installed, skipped")
            continue
        root = os.path.join(work, name, "rootfs")
        size = make_rootfs(root, binary)
        # One recorded run per image, before the measured ones: into the
        # bench's own profile directory with the hand-tuned policy, and as
        # README's steps do it with the default policy, from a warm start.
        rec = os.path.join(work, name, "record")
        make_bundle(rec, root, argv, hook, policy, "profile-willneed", record=True)
        drop_caches()
        subprocess.run(["runc", "run", "--bundle", rec, f"cs-{name}-record"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        time.sleep(1)
        for i in range(3):  # a warm start; a miss (a busy host) is retried
            make_bundle(rec, root, argv, hook, policy, "default-profile")
            subprocess.run(["runc", "run", "--bundle", rec, f"cs-{name}-default-record-{i}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            time.sleep(1)
            line = [e for e in events(fallback) if e["id"] == f"cs-{name}-default-record-{i}" and e["entry"] == "recorder"]
            print(f"# {name}: default policy, warm start {i + 1}: recorder {line[-1]['outcome']}: {line[-1]['detail']}"
                  if line else f"# {name}: default policy, warm start {i + 1}: no recorder line")
            if line and line[-1]["outcome"] == "recorded":
                break
        workloads.append((name, root, argv, size))

    wrapper = os.path.join(os.path.dirname(hook), "gotune-runc")
    hot = closure(hook) + closure(shutil.which("runc")) + list(policy.values()) + [FLOOR]
    if AGAINST:
        hot += closure(AGAINST)
    if os.path.exists("/etc/ld.so.cache"):  # runc is dynamically linked
        hot.append("/etc/ld.so.cache")
    ra_file = readahead_path(work)
    ra_orig = int(open(ra_file).read()) if ra_file else None
    if ras is None:
        ras = [ra_orig, 128] if ra_orig and ra_orig != 128 else [ra_orig or 128]
    print(f"# {os.uname().release}, runc {subprocess.run(['runc', '--version'], capture_output=True, text=True).stdout.split()[2]}, "
          f"{os.cpu_count()} CPUs, rootfs on {work}, readahead file {ra_file} (was {ra_orig} KiB), {rounds} rounds")
    try:
        for sec, ra in enumerate(ras):
            if ra_file:
                open(ra_file, "w").write(f"{ra}\n")
            for name, root, argv, size in workloads:
                times = {c: [] for c in CASES}
                for c in CASES:
                    make_bundle(os.path.join(work, name, c), root, argv, hook, policy, c)
                # Ids stay unique across readahead sections: the recorder's
                # lines are matched to their rounds by id below.
                for r in range(sec * rounds, (sec + 1) * rounds):
                    # Rotated, and reversed every other round: no case
                    # always runs right after another (ABBA).
                    order = CASES[r % len(CASES):] + CASES[:r % len(CASES)]
                    if r % 2:
                        order.reverse()
                    for c in order:
                        runner, env = ("runc",), None
                        bc, other = base_case(c)
                        if bc in ("default-wrapper", "default-wrapper-record", "default-wrapper-recordhook"):
                            runner, env = ((os.path.join(os.path.dirname(other or hook), "gotune-runc"),),
                                           {k: v for k, v in os.environ.items() if k != "GOTUNE_POLICY"})
                        elif c == "wrapper-floor":
                            runner = (FLOOR, "fork", shutil.which("runc"))
                        elif c.startswith("wrapper"):
                            runner, env = (wrapper,), dict(os.environ, GOTUNE_POLICY=policy[c])
                        before = None
                        if c == "replay-floor":
                            state = json.dumps({"ociVersion": "1.0.2", "id": f"cs-{name}-{c}-{r}", "status": "creating",
                                                "pid": 1, "bundle": os.path.join(work, name, c)}).encode()
                            before = lambda state=state: subprocess.run(
                                [hook, "prestart", "--policy", policy["replay-floor"]], input=state,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                        times[c].append(run_once(os.path.join(work, name, c), f"cs-{name}-{c}-{r}", hot, c != "warm",
                                                 runner, env, before))
                base = statistics.median(times["none"])
                bound = statistics.median(times["warm"]) if "warm" in times else None
                with open("/proc/loadavg") as f:
                    load = " ".join(f.read().split()[:3])
                print(f"\n{name} ({size / 2**20:.1f} MiB closure), read_ahead_kb {ra}, loadavg {load} at the end")
                print(f"{'case':<18} {'median ms':>10} {'ratio':>7} {'paired':>7} {'p10':>8} {'p90':>8} {'of bound':>8}")
                for c in CASES:
                    print_row(c, times[c], times["none"], base, bound)
                # README's setup records until the profile settles; the rounds
                # whose profile was found settled (the hook's line says so and
                # starts no recorder; a record hook's recorder says `settled`)
                # are what every later start costs. The recorders are
                # detached: let the last one finish.
                recorded = [c for c in CASES if base_case(c)[0] in ("default-profile", "default-wrapper-record",
                                                                    "default-wrapper-recordhook")]
                if recorded:
                    time.sleep(2)
                    said = {e["id"]: "settled" for e in events(fallback)
                            if (e.get("entry") == "recorder" and e.get("outcome") == "settled")
                            or re.search(r"not recorded: profile \S+ settled", e.get("detail", ""))}
                for c in recorded:
                    idx = [i for i in range(rounds)
                           if said.get(f"cs-{name}-{c}-{sec * rounds + i}") == "settled"]
                    print(f"# {c}: the profile was settled in {len(idx)} of {rounds} rounds")
                    if not idx:
                        continue
                    print_row(c + ":settled", [times[c][i] for i in idx], [times["none"][i] for i in idx], base, bound)
    finally:
        if ra_file and ra_orig:
            open(ra_file, "w").write(f"{ra_orig}\n")
    hook_ms = {}
    label = {"prewarm-reader": " (its detached reader)", "runtime-prewarm": " (the wrapper's detached reader)",
             "runtime": " (the wrapper's tuning, before runc)", "record": " (the record hook)",
             "recorder": " (its detached recorder)"}
    for e in events(log, fallback):
        parts = e.get("id", "").split("-")
        if len(parts) < 4 or parts[0] != "cs":
            continue
        key = parts[1] + " " + "-".join(parts[2:-1]) + label.get(e.get("entry"), "")
        # The hook lets the runtime go before its env audit and log line,
        # which a detached child finishes: the line says when.
        d = e.get("detail", "")
        i = d.find("returned to the runtime after ")
        if i >= 0:
            hook_ms.setdefault(key, []).append(float(d[i + 30:].split("ms")[0]))
            hook_ms.setdefault(key + " (with its audit child)", []).append(e["ms"])
        else:
            hook_ms.setdefault(key, []).append(e["ms"])
    print("\nwall time of gotune's own work per start (median ms; the runtime waits only for the hook):")
    for key, v in sorted(hook_ms.items()):
        print(f"  {key[:56]:<56} {statistics.median(v):8.2f}  (n={len(v)})")
    print("\nbytes each strategy asked the kernel to read (median per start, from the hook's log):")
    for name, size in sizes_by_case(log, fallback).items():
        print(f"  {name:<28} {size / 2**20:8.1f} MiB")


def sizes_by_case(*logs):
    """'requested 6.7MiB' in each prestart line, by workload and case."""
    units = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
    out = {}
    for e in events(*logs):
        if e.get("entry") in ("recorder", "record"):
            continue
        parts = e.get("id", "").split("-")
        if len(parts) < 4 or parts[0] != "cs":
            continue
        key = parts[1] + " " + "-".join(parts[2:-1])
        d = e.get("detail", "")
        i = d.find("requested ")
        if i < 0:
            continue
        tok = d[i + 10:].split(",")[0].strip()
        num = tok.rstrip("KMGiB")
        unit = tok[len(num):] or "B"
        try:
            out.setdefault(key, []).append(float(num) * units.get(unit, 1))
        except ValueError:
            continue
    return {k: statistics.median(v) for k, v in sorted(out.items())}


if __name__ == "__main__":
    main()
