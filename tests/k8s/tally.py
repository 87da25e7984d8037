#!/usr/bin/env python3
"""tests/k8s/tally.py - what a crowd of witness pods saw, pod by pod, for
tests/k8s/multinode.

  tally.py pods PODS.json EVENTS.json NODE=PODLOGS... --plugin-logs DIR
           --expect K=V... [--since EPOCH --until EPOCH]
  tally.py plugins CONTAINERD.log FROM UNTIL

pods: for each pod of PODS.json (kubectl get pods -o json), the witness
output of its current container (the kubelet's CRI log file
PODLOGS/NS_NAME_UID/witness/RESTARTS.log on the pod's node), checked
against --expect (the checks gt_expect makes: KEY=VALUE); the gotune lines
naming that container in every plugin log of DIR (a VALUE of --expect may
list alternatives, "A|B": what two policies plan), (NODE.POD.log: one per
plugin pod, followed for as long as it ran): "tuned" decisions, and
"unchanged" ones where the plugin stepped aside for another gotune plugin;
the plugin's time per container (its own "ms"); the pod's warning events.
Prints one JSON object: a row per pod and the totals.

plugins: from containerd's log, how many gotune plugins were registered
between FROM and UNTIL (epoch seconds): the time with none, and with two.
"""

import glob
import json
import os
import re
import sys
from datetime import datetime

STEP_ASIDE = "the gotune plugin NRI called before this one decided"
LINE = re.compile(r"nri id=(\S+) (tuned|unchanged|passthrough)\b.*? ([0-9.]+)ms$")


def epoch(ts):
    """RFC 3339 (Kubernetes, containerd) to epoch seconds, nanoseconds cut to micro."""
    if not ts:
        return None
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", ts)
    if not m:
        return None
    frac = (m.group(2) or ".0")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + frac + tz).timestamp()


def cri_lines(path):
    """The text of a CRI log file: 'TIME STREAM TAG TEXT' lines."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(" ", 3)
                if len(parts) == 4:
                    out.append(parts[3])
    except OSError:
        pass
    return out


def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def plugin_logs(d):
    """{node: [(plugin pod, line), ...]} from DIR/NODE.POD.log."""
    by_node = {}
    for path in sorted(glob.glob(os.path.join(d, "*.log"))):
        node, pod = os.path.basename(path)[:-4].split(".", 1)
        with open(path, errors="replace") as f:
            by_node.setdefault(node, []).extend((pod, ln.rstrip("\n")) for ln in f)
    return by_node


def cmd_pods(args):
    pods_json, events_json = args[0], args[1]
    podlogs, expect, plugin_dir, since, until = {}, {}, None, None, None
    i = 2
    while i < len(args):
        a = args[i]
        if a == "--plugin-logs":
            plugin_dir = args[i + 1]
            i += 2
        elif a == "--expect":
            i += 1
            while i < len(args) and not args[i].startswith("--"):
                k, v = args[i].split("=", 1)
                expect[k] = v
                i += 1
        elif a in ("--since", "--until"):
            v = float(args[i + 1])
            since, until = (v, until) if a == "--since" else (since, v)
            i += 2
        else:
            node, d = a.split("=", 1)
            podlogs[node] = d
            i += 1
    pods = json.load(open(pods_json))["items"]
    events = json.load(open(events_json))["items"] if events_json != "-" else []
    logs = plugin_logs(plugin_dir) if plugin_dir else {}
    warn = {}
    for e in events:
        if e.get("type") == "Warning":
            o = e.get("involvedObject", {})
            warn.setdefault(o.get("name"), []).append("%s: %s" % (e.get("reason"), e.get("message", "")[:300]))
    rows, ms, ms_node = [], [], {}
    for p in pods:
        md, st = p["metadata"], p.get("status", {})
        name, node = md["name"], p["spec"].get("nodeName", "")
        cs = next((c for c in st.get("containerStatuses", []) if c["name"] == "witness"), {})
        restarts = cs.get("restartCount", 0)
        started = epoch(cs.get("state", {}).get("running", {}).get("startedAt"))
        created = epoch(md.get("creationTimestamp"))
        path = os.path.join(podlogs.get(node, "/nonexistent"),
                            "%s_%s_%s" % (md["namespace"], name, md["uid"]), "witness", "%d.log" % restarts)
        seen = {}
        for ln in cri_lines(path):
            if "=" in ln and not ln.startswith("WATCH"):
                k, v = ln.split("=", 1)
                seen.setdefault(k, v)
        bad = ["%s: got %r, wanted %r" % (k, seen.get(k), v) for k, v in expect.items()
               if seen.get(k) not in v.split("|")]
        cid = "%s/%s/witness" % (md["namespace"], name)
        tuned = aside = other = 0
        by = []
        for plug, ln in logs.get(node, []):
            m = LINE.search(ln)
            if not m or m.group(1) != cid:
                continue
            if m.group(2) == "tuned":
                tuned += 1
                by.append(plug)
                ms.append(float(m.group(3)))
                ms_node.setdefault(node, []).append(float(m.group(3)))
            elif STEP_ASIDE in ln:
                aside += 1
            else:
                other += 1
        rows.append({
            "pod": name, "node": node, "restarts": restarts, "created": created, "started": started,
            "complete": len(seen) >= 6, "as_planned": len(seen) >= 6 and not bad, "bad": bad,
            "tuned_lines": tuned, "stepped_aside": aside, "other_lines": other, "tuned_by": by,
            "in_window": since is not None and started is not None and since <= started <= (until or 1e18),
            "warnings": warn.get(name, []),
        })
    out = {
        "pods": len(rows),
        "as_planned": sum(r["as_planned"] for r in rows),
        "untuned": [r["pod"] for r in rows if not r["as_planned"]],
        "restarted_then_tuned": [r["pod"] for r in rows if r["as_planned"] and r["restarts"] > 0],
        "in_window": sum(r["in_window"] for r in rows),
        "both_registered": sum(r["stepped_aside"] > 0 for r in rows),
        "tuned_once": sum(r["tuned_lines"] == r["restarts"] + 1 for r in rows),
        "per_node": {n: sum(r["node"] == n for r in rows) for n in sorted({r["node"] for r in rows})},
        "ms_n": len(ms), "ms_median": pct(ms, 50), "ms_p99": pct(ms, 99), "ms_max": max(ms) if ms else None,
        "ms_by_node": {n: {"n": len(v), "median": pct(v, 50), "p90": pct(v, 90), "p99": pct(v, 99), "max": max(v)}
                       for n, v in sorted(ms_node.items())},
        "first_start": min((r["started"] for r in rows if r["started"]), default=None),
        "last_start": max((r["started"] for r in rows if r["started"]), default=None),
        "rows": rows,
    }
    json.dump(out, sys.stdout)
    print()


def cmd_plugins(args):
    path, t0, t1 = args[0], float(args[1]), float(args[2])
    ev = []
    ts = re.compile(r'time="([^"]+)"')
    with open(path, errors="replace") as f:
        for ln in f:
            if '\\"50-gotune\\" connected and synchronized' in ln:
                d = 1
            elif 'connection to plugin \\"50-gotune\\" closed' in ln:
                d = -1
            else:
                continue
            m = ts.search(ln)
            t = epoch(m.group(1)) if m else None
            if t is not None:
                ev.append((t, d))
    ev.sort()
    n = 0
    last = t0
    none = two = 0.0
    gaps = []
    for t, d in ev:
        if t > t0:
            span = min(t, t1) - max(last, t0)
            if span > 0:
                if n == 0:
                    none += span
                    gaps.append(round(span, 3))
                elif n >= 2:
                    two += span
            last = t
        n = max(0, n + d)
        if t >= t1:
            break
    else:
        if t1 > last:
            span = t1 - max(last, t0)
            if n == 0:
                none += span
                gaps.append(round(span, 3))
            elif n >= 2:
                two += span
    json.dump({"none_s": round(none, 3), "two_s": round(two, 3), "gaps": gaps, "events": len(ev)}, sys.stdout)
    print()


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("pods", "plugins"):
        sys.exit(__doc__)
    {"pods": cmd_pods, "plugins": cmd_plugins}[sys.argv[1]](sys.argv[2:])
