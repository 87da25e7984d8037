#!/usr/bin/env python3
"""The precreate filter's cost by spec size: a real runc spec (2.5 KB) and
the same padded with annotations to 16 KB ... 1 MB, `gotune-hook precreate` against `cat` of the
same file (the floor any filter pays: exec, read, write), alternating.
Reports medians, the overhead over cat and the ratio; writes a Markdown
table and, with gnuplot, a PNG.
    tests/bench/specsize.py [--hook PATH] [--runs N] [--out DIR]"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--hook", default=os.environ.get("GOTUNE_HOOK", "build/hook/gotune-hook"))
ap.add_argument("--runs", type=int, default=200)
ap.add_argument("--out", default="tests/bench/results")
a = ap.parse_args()
src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "runc-spec.json")
base = json.load(open(src))
base.setdefault("linux", {}).setdefault("resources", {})["memory"] = {"limit": 209715200}
work = tempfile.mkdtemp(prefix="gotune-specsize-")
policy = os.path.join(work, "policy.json")
open(policy, "w").write("{}")
sizes = [0, 16 << 10, 128 << 10, 1 << 20]  # 0: the spec as runc writes it


def spec_of(size):
    s = json.loads(json.dumps(base))
    ann = s.setdefault("annotations", {})
    # Each padding annotation serializes to the same number of bytes.
    per = len(json.dumps({"example.com/pad-00000": "x" * 100})) - 2 + 2
    n = max(0, (size - len(json.dumps(s))) // per)
    for i in range(n):
        ann["example.com/pad-%05d" % i] = "x" * 100
    return json.dumps(s)


def timed(argv, path):
    with open(path, "rb") as f:
        t0 = time.perf_counter()
        subprocess.run(argv, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return (time.perf_counter() - t0) * 1e3


rows = []
for size in sizes:
    path = os.path.join(work, "spec-%d.json" % size)
    text = spec_of(size)
    open(path, "w").write(text)
    out = subprocess.run([a.hook, "precreate", "--policy", policy], stdin=open(path, "rb"), capture_output=True,
                         check=True).stdout
    assert b"GOMEMLIMIT" in out, "precreate did not tune the padded spec"
    cat, hook = [], []
    for r in range(a.runs):
        pair = [("cat", ["cat"]), ("hook", [a.hook, "precreate", "--policy", policy])]
        if r % 2:
            pair.reverse()
        for name, argv in pair:
            (cat if name == "cat" else hook).append(timed(argv, path))
    mc, mh = statistics.median(cat), statistics.median(hook)
    rows.append((len(text), mc, mh, mh - mc, mh / mc))

os.makedirs(a.out, exist_ok=True)
lines = ["| spec size | cat median ms | precreate median ms | overhead ms | ratio |", "|---|---|---|---|---|"]
for n, mc, mh, d, ratio in rows:
    lines.append("| %d KB | %.3f | %.3f | %.3f | %.2f |" % (round(n / 1024), mc, mh, d, ratio))
table = "\n".join(lines)
print(table)
open(os.path.join(a.out, "specsize.md"), "w").write(
    "precreate vs cat by spec size (`tests/bench/specsize.py`, %d alternating runs each)\n\n%s\n" % (a.runs, table))
if shutil.which("gnuplot"):
    dat = os.path.join(work, "specsize.dat")
    with open(dat, "w") as f:
        for n, mc, mh, d, ratio in rows:
            f.write("%d %.4f %.4f\n" % (n // 1024, mc, mh))
    png = os.path.join(a.out, "specsize.png")
    subprocess.run(["gnuplot", "-e", """
set terminal pngcairo size 720,400; set output '%s';
set logscale x 2; set xlabel 'spec size (KB)'; set ylabel 'median ms per call';
set key left top; set grid;
plot '%s' using 1:2 with linespoints title 'cat (floor)', '' using 1:3 with linespoints title 'gotune-hook precreate'
""" % (png, dat)], check=False)
shutil.rmtree(work, ignore_errors=True)
