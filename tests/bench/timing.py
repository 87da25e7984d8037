#!/usr/bin/env python3
"""Alternating wall-clock comparison of two commands.

usage: timing.py RUNS NAME-A 'CMD-A' NAME-B 'CMD-B' [--stdin FILE] [--setup 'CMD']

Runs A and B alternately RUNS times each (A first in even rounds, B first in
odd ones, so drift and cache effects hit both alike), each exec'd directly
(or through /bin/sh -c when it uses shell syntax) with stdin from FILE (or /dev/null) and stdout/stderr discarded, and
prints the median, p10/p90 of each, the ratio of medians B/A and the median
of the per-round differences B - A (each round's pair ran back to back, in
ABBA order: steadier than the difference of medians on a busy machine),
with /proc/loadavg before and after. A command
failing aborts the run: a benchmark of a broken command measures nothing.
--setup runs before every single measurement, untimed. '{i}' in a command
is replaced by the round number (unique container names).
"""
import shlex
import statistics
import subprocess
import sys
import time


def argv_of(cmd):
    # Plain commands are exec'd directly, so the shell's own start-up does
    # not dilute the difference being measured.
    if any(c in cmd for c in "|&;<>()$`\\\"'*?[]#~=%"):
        return ["/bin/sh", "-c", cmd]
    return shlex.split(cmd)


def run(cmd, stdin_path):
    with open(stdin_path, "rb") as stdin:
        argv = argv_of(cmd)
        t0 = time.perf_counter_ns()
        p = subprocess.run(argv, stdin=stdin,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = time.perf_counter_ns()
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {cmd}\n{p.stderr.decode(errors='replace')}")
    return (t1 - t0) / 1e6


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    args = sys.argv[1:]
    stdin_path, setup = "/dev/null", None
    if "--stdin" in args:
        i = args.index("--stdin")
        stdin_path = args[i + 1]
        del args[i:i + 2]
    if "--setup" in args:
        i = args.index("--setup")
        setup = args[i + 1]
        del args[i:i + 2]
    runs, name_a, cmd_a, name_b, cmd_b = int(args[0]), *args[1:5]
    times = {name_a: [], name_b: []}
    load0 = load()
    for i in range(runs):
        order = [(name_a, cmd_a), (name_b, cmd_b)]
        if i % 2:
            order.reverse()
        for name, cmd in order:
            if setup:
                subprocess.run(["/bin/sh", "-c", setup], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(run(cmd.replace("{i}", str(i)), stdin_path))
    ma, mb = statistics.median(times[name_a]), statistics.median(times[name_b])
    for name in (name_a, name_b):
        t = times[name]
        print(f"{name:<24} median {statistics.median(t):8.3f} ms  p10 {pct(t, .1):8.3f}  p90 {pct(t, .9):8.3f}  (n={len(t)})")
    print(f"ratio {name_b}/{name_a} of medians: {mb / ma:.3f}  (difference {mb - ma:+.3f} ms)")
    diffs = [b - a for a, b in zip(times[name_a], times[name_b])]
    print(f"paired: median of {name_b} - {name_a} per round {statistics.median(diffs):+.3f} ms"
          f"  (p25 {pct(diffs, .25):+.3f}, p75 {pct(diffs, .75):+.3f}; loadavg {load0} -> {load()})")


if __name__ == "__main__":
    main()
