#!/usr/bin/env python3
"""The issue-27 table from one `tests/bench/run --table` directory: the
wrapper's cost per run and per exec (tests/bench/wrapper.sh), the cold
starts with replay (tests/bench/coldstart.py) and the NRI round trip
(tests/bench/nri.py), each figure with the load it was measured under.

usage: table.py OUTDIR   (reads wrapper.txt, coldstart.txt, nri.md; prints Markdown)
"""
import re
import sys


def wrapper_rows(text):
    """(title, baseline median, gotune median, paired difference, load) per case."""
    rows = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        if len(lines) < 5 or lines[0].startswith("#"):
            continue
        med = {m[0]: float(m[1]) for m in re.findall(r"^(\S+)\s+median\s+([0-9.]+) ms", block, re.M)}
        paired = re.search(r"per round ([+-][0-9.]+) ms .*loadavg ([0-9. ]+) ->", block)
        other = "gotune-runc" if "gotune-runc" in med else "floor"
        if "runc" in med and other in med and paired:
            rows.append((lines[0], med["runc"], med[other], float(paired[1]), paired[2].strip()))
    return rows


def coldstart_rows(text):
    """(program, readahead, case, median ms, paired ratio) per case, and the
    header line of each section."""
    rows, sections = [], []
    for sec in re.split(r"\n(?=\S+ \([0-9.]+ MiB closure\), read_ahead_kb)", text):
        sec = sec.strip()
        head = re.match(r"(\S+) \(([0-9.]+) MiB closure\), read_ahead_kb (\d+)(?:, loadavg ([0-9. ]+) at)?", sec.strip())
        if not head:
            continue
        sections.append(head[0])
        for m in re.finditer(r"^(\S+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s", sec, re.M):
            if m[1] != "case":
                rows.append((head[1], int(head[3]), m[1], float(m[2]), float(m[4]), head[4] or "-"))
    return rows, sections


def main():
    out = sys.argv[1]
    read = lambda name: open(f"{out}/{name}").read() if __import__("os").path.exists(f"{out}/{name}") else ""
    w, c, n = read("wrapper.txt"), read("coldstart.txt"), read("nri.md")
    print("| figure | baseline | with gotune (or the floor) | result | load (1/5/15 min) |")
    print("|---|---|---|---|---|")
    for title, base, got, diff, load in wrapper_rows(w):
        print(f"| {title.rstrip(':')} | {base:.1f} ms | {got:.1f} ms | {diff:+.2f} ms (median of paired differences) | {load} |")
    rows, _ = coldstart_rows(c)
    by, loads = {}, {}
    for prog, ra, case, med, paired, load in rows:
        by.setdefault((prog, ra), {})[case] = (med, paired)
        loads[(prog, ra)] = load
    names = {"default-profile": "replay from prestart (README's setup)",
             "default-profile:settled": "replay from prestart (README's setup), rounds whose profile had settled",
             "default-wrapper-record": "replay from the wrapper (README's setup)",
             "default-wrapper-record:settled": "replay from the wrapper (README's setup), rounds whose profile had settled",
             "replay-floor": "the profile read whole before the start (the floor of any replay)",
             "hook-floor": "a do-nothing static hook in README's place (the floor of any hook)",
             "wrapper-floor": "a static wrapper that forks once and execs runc (the floor of any wrapper)",
             "warm": "warm cache (the bound)"}
    for (prog, ra), cases in by.items():
        none = cases.get("none", (0, 1))[0]
        for case, label in names.items():
            if case in cases:
                med, paired = cases[case]
                print(f"| {prog} cold start, {label}, read_ahead_kb {ra} | {none:.1f} ms | {med:.1f} ms "
                      f"| x{paired:.3f} (median of paired ratios) | {loads[(prog, ra)]} |")
    rt = re.search(r"CreateContainer round trip median / p99 \| (\d+) / (\d+) us", n)
    base = re.search(r"baseline round trip \(Synchronize\) median / p99 \| (\d+) / (\d+) us", n)
    rss = re.findall(r"RSS [^|]*\| (\d+) KiB", n)
    if rt and base:
        print(f"| NRI CreateContainer round trip (median / p99) | {base[1]} / {base[2]} us (Synchronize) "
              f"| {rt[1]} / {rt[2]} us | RSS {' -> '.join(rss)} KiB | - |")


if __name__ == "__main__":
    main()
