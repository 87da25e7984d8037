#!/usr/bin/env python3
"""NRI plugin cost: RSS at idle and after N CreateContainer requests (and
after 2N, to see growth), and the CreateContainer round trip from the
in-tree runtime peer, median and p99, against Synchronize (no planning)
as the baseline measured in the same run.
    tests/bench/nri.py [--requests N] [--hook PATH] [--out FILE.md]"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nri"))
import nripeer as P  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--requests", type=int, default=10000)
ap.add_argument("--hook", default=os.environ.get("GOTUNE_HOOK", "build/hook/gotune-hook"))
ap.add_argument("--out")
a = ap.parse_args()

work = tempfile.mkdtemp(prefix="gotune-nri-bench-")
sock = os.path.join(work, "nri.sock")
policy = os.path.join(work, "policy.json")
with open(policy, "w") as f:
    json.dump({}, f)
rt = P.Runtime(sock)
log = open(os.path.join(work, "plugin.log"), "w")
plugin = P.start_plugin(a.hook, sock, policy, stderr=log)
c = rt.accept()
c.handshake()
time.sleep(0.2)
rss_idle = P.rss_kib(plugin.pid)

# A realistic Kubernetes container: ~30 env entries, a dozen annotations.
reqs = []
for i in range(16):
    reqs.append(P.create_request(
        pod={"id": "pod%d" % i, "name": "web-%d" % i, "namespace": "prod",
             "annotations": {"kubernetes.io/config.seen": "2026-12-01T00:00:00Z",
                             "gotune.io/gogc": "150" if i % 2 else "100"}},
        container={"id": "c%d" % i, "name": "app",
                   "env": ["KUBERNETES_SERVICE_HOST=10.0.0.1", "PATH=/usr/bin:/bin"] +
                          ["SVC_%d_PORT=tcp://10.0.%d.1:80" % (j, j) for j in range(28)],
                   "annotations": {"io.kubernetes.cri.container-type": "container"},
                   "quota": 50000 + 25000 * (i % 4), "period": 100000, "memory": (256 + 64 * i) << 20}))


def run(method, payloads, n):
    times = []
    for i in range(n):
        code, _, _, dt = c.call(method, payloads[i % len(payloads)])
        if code != 0:
            sys.exit("%s failed: %d" % (method, code))
        times.append(dt * 1e6)
    return times


base = run("Synchronize", [b""], a.requests)
lat = run("CreateContainer", reqs, a.requests)
rss_n = P.rss_kib(plugin.pid)
lat2 = run("CreateContainer", reqs, a.requests)
rss_2n = P.rss_kib(plugin.pid)
plugin.terminate()
plugin.wait()
rt.stop()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


lines = [
    "| measure | value |",
    "|---|---|",
    "| RSS at idle (registered) | %d KiB |" % rss_idle,
    "| RSS after %d CreateContainer | %d KiB |" % (a.requests, rss_n),
    "| RSS after %d CreateContainer | %d KiB |" % (2 * a.requests, rss_2n),
    "| baseline round trip (Synchronize) median / p99 | %.0f / %.0f us |" % (statistics.median(base), pct(base, 0.99)),
    "| CreateContainer round trip median / p99 | %.0f / %.0f us |" % (statistics.median(lat), pct(lat, 0.99)),
    "| CreateContainer, second %d, median / p99 | %.0f / %.0f us |" % (a.requests, statistics.median(lat2),
                                                                    pct(lat2, 0.99)),
    "| CreateContainer / baseline (medians) | %.2f |" % (statistics.median(lat) / statistics.median(base)),
]
text = "\n".join(lines)
print(text)
if a.out:
    with open(a.out, "w") as f:
        f.write(text + "\n")
