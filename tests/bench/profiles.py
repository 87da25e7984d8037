#!/usr/bin/env python3
"""What the recorder leaves behind, replayed: profiles of one program
recorded by one or two builds, each from a fresh host as README's wrapper
setup records it, then all of them replayed from the same wrapper in one
run, against no prewarm.

usage (root): profiles.py HOOK [--against OLDHOOK] [--profiles N] [--rounds R] [--ra KB,...] [--work DIR]

Why: a profile holds what its first recorded starts happened to catch
before the program exited, so two runs of coldstart.py compare two
recorders through two draws of that luck (2026-12-08: the replay floor of
one build moved from x0.29 to x0.42 between runs). Here each build records
N profiles and every profile is replayed in the same rounds.

Recording: `clang --version` in a container with its ELF closure
(coldstart.make_rootfs), `gotune.io/record=true`, cold starts through the
build's gotune-runc with the default policy on a fresh host (nothing in
gotune's state directory, no policy file), until the log says the profile
settled (at most 10 starts).
Replaying: HOOK's gotune-runc with the default policy on another fresh
host, one recorded start first so its content-ID cache names the
entrypoint, then R rounds in rotated ABBA order of none and every profile,
the profile file put in place before each cold start (the bundle has no
annotation: no recorder runs). A start whose line does not say the
profile was replayed fails the run.
Reports per profile its size, the starts it took to settle, the median
start, its ratio and the median of per-round ratios to none (paired), and
per build the median of its profiles' paired ratios.
"""
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coldstart as cs  # noqa: E402

PROGRAM = ("clang", "/usr/lib/llvm-14/bin/clang", ["/usr/lib/llvm-14/bin/clang", "--version"])


def said(state, cid):
    """What gotune's lines for container cid say (outcome and detail)."""
    return [f"{e.get('outcome', '')}: {e.get('detail', '')}"
            for e in cs.events(os.path.join(state, "gotune.log")) if e.get("id") == cid]


def profile_bytes(path):
    """The bytes a profile's ranges hold: the "OFF+LEN@T" fields of its
    file lines (profile.h)."""
    total = 0
    for line in open(path):
        cols = line.rstrip("\n").split("\t")
        if line.startswith("file ") and len(cols) > 4:
            total += sum(int(r.split("@")[0].split("+")[1]) for r in cols[4].split(",") if "+" in r)
    return total


def record(hook, work, name, root, hot):
    """Cold starts through hook's wrapper with gotune.io/record=true until
    the profile settles: (its path, the starts it took)."""
    state = cs.fresh_host(hook, work, name)
    wrapper = os.path.join(os.path.dirname(hook), "gotune-runc")
    env = {k: v for k, v in os.environ.items() if k != "GOTUNE_POLICY"}
    bundle = os.path.join(work, name, "bundle")
    cs.make_bundle(bundle, root, PROGRAM[2], hook, {}, "default-wrapper-record")
    for i in range(10):
        cid = f"pr-{name}-{i}"
        cs.run_once(bundle, cid, hot, True, (wrapper,), env)
        if any("settled" in l for l in said(state, cid)):
            break
    pdir = os.path.join(state, "profiles")
    found = [f for f in os.listdir(pdir) if f.endswith(".profile")]
    if len(found) != 1:
        sys.exit(f"{name}: expected one profile in {pdir}, found {found}")
    keep = os.path.join(work, "kept", f"{name}.profile")
    os.makedirs(os.path.dirname(keep), exist_ok=True)
    shutil.copy(os.path.join(pdir, found[0]), keep)
    return keep, found[0], i + 1


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    cs.private_namespace()
    hook = os.path.abspath(args[0])
    against, n, rounds, ras, work = None, 3, 12, None, "/var/tmp/gotune-profiles"
    for i, a in enumerate(args):
        if a == "--against":
            against = os.path.abspath(args[i + 1])
        elif a == "--profiles":
            n = int(args[i + 1])
        elif a == "--rounds":
            rounds = int(args[i + 1])
        elif a == "--ra":
            ras = [int(x) for x in args[i + 1].split(",")]
        elif a == "--work":
            work = args[i + 1]
    name, binary, argv = PROGRAM
    if not os.path.exists(binary):
        print(f"# {name}: {binary} not installed, skipped")
        return
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    root = os.path.join(work, "rootfs")
    cs.make_rootfs(root, binary)
    builds = [("new", hook)] + ([("old", against)] if against else [])
    hot = cs.closure(shutil.which("runc"))
    for _, h in builds:
        hot += cs.closure(h)
    if os.path.exists("/etc/ld.so.cache"):
        hot.append("/etc/ld.so.cache")

    ra_file = cs.readahead_path(work)
    ra_orig = int(open(ra_file).read()) if ra_file else None
    if ras is None:
        ras = [ra_orig] if ra_orig else [128]
    profiles = []  # (label, build, path, starts, bytes)
    key = None
    for b, h in builds:
        for k in range(n):
            label = f"{b}{k + 1}"
            path, base, starts = record(h, work, label, root, hot)
            if key not in (None, base):
                sys.exit(f"{label}: profile {base} is not {key}: the builds name the entrypoint differently")
            key = base
            profiles.append((label, b, path, starts, profile_bytes(path)))
            print(f"# {label}: {profiles[-1][4] / 2**20:.1f} MiB, settled after {starts} starts")

    state = cs.fresh_host(hook, work, "replay")
    wrapper = os.path.join(os.path.dirname(hook), "gotune-runc")
    env = {k: v for k, v in os.environ.items() if k != "GOTUNE_POLICY"}
    rec = os.path.join(work, "replay", "record")
    cs.make_bundle(rec, root, argv, hook, {}, "default-wrapper-record")
    # run_once waits for its detached recorder, which writes the cache
    cs.run_once(rec, "pr-replay-record", hot, True, (wrapper,), env)
    bundle = os.path.join(work, "replay", "bundle")
    cs.make_bundle(bundle, root, argv, hook, {}, "default-wrapper")
    pdir = os.path.join(state, "profiles")
    names = ["none"] + [p[0] for p in profiles]
    by_name = {p[0]: p for p in profiles}
    print(f"# {os.uname().release}, {os.cpu_count()} CPUs, {n} profiles per build, {rounds} rounds")
    try:
        for sec, ra in enumerate(ras):
            if ra_file:
                open(ra_file, "w").write(f"{ra}\n")
            times = {c: [] for c in names}
            for r in range(sec * rounds, (sec + 1) * rounds):
                order = names[r % len(names):] + names[:r % len(names)]
                if r % 2:
                    order.reverse()
                for c in order:
                    for f in os.listdir(pdir):
                        if f.endswith(".profile"):
                            os.unlink(os.path.join(pdir, f))
                    cid = f"pr-{c}-{r}"
                    if c == "none":
                        times[c].append(cs.run_once(bundle, cid, hot, True, ("runc",), env))
                        continue
                    shutil.copy(by_name[c][2], os.path.join(pdir, key))
                    times[c].append(cs.run_once(bundle, cid, hot, True, (wrapper,), env))
                    if not any(f"profile {key[:-len('.profile')]} replayed" in l for l in said(state, cid)):
                        sys.exit(f"{cid}: the wrapper did not replay the profile (see {state}/gotune.log)")
            base = statistics.median(times["none"])
            print(f"\n{name}, read_ahead_kb {ra}")
            print(f"{'profile':<10} {'MiB':>6} {'starts':>6} {'median ms':>10} {'ratio':>7} {'paired':>7}")
            paired = {}
            for c in names:
                pr = statistics.median(a / b for a, b in zip(times[c], times["none"]))
                paired[c] = pr
                mib, starts = (f"{by_name[c][4] / 2**20:.1f}", str(by_name[c][3])) if c != "none" else ("-", "-")
                print(f"{c:<10} {mib:>6} {starts:>6} {statistics.median(times[c]):>10.1f} "
                      f"{statistics.median(times[c]) / base:>7.3f} {pr:>7.3f}")
            for b, _ in builds:
                mine = [paired[p[0]] for p in profiles if p[1] == b]
                print(f"build {b}: median of its profiles' paired ratios x{statistics.median(mine):.3f} "
                      f"({' '.join(f'{x:.3f}' for x in mine)})")
    finally:
        if ra_file and ra_orig:
            open(ra_file, "w").write(f"{ra_orig}\n")


if __name__ == "__main__":
    main()
