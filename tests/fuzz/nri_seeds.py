#!/usr/bin/env python3
"""Seeds for fuzz_nri: what a runtime sends on conn 1, framed as it does
(a leading byte picks the fuzzer's read size)."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nri"))
import nripeer as P  # noqa: E402


def call(stream, method, payload, frame_max=P.FRAME_MAX):
    req = P.f_str(1, P.API + ".Plugin") + P.f_str(2, method) + P.f_bytes(3, payload)
    data = struct.pack(">IIBB", len(req), stream, 1, 0) + req
    out = b""
    for i in range(0, len(data), frame_max):
        chunk = data[i:i + frame_max]
        out += struct.pack(">II", 1, len(chunk)) + chunk
    return out


d = sys.argv[1]
cases = {
    "configure": call(1, "Configure", P.f_str(1, '{"gogc":"200"}') + P.f_str(2, "containerd")),
    "sync": call(3, "Synchronize", P.f_varint(3, 1)),
    "create": call(5, "CreateContainer", P.create_request(
        pod={"annotations": {"gotune.io/godebug": "madvdontneed=1"}},
        container={"env": ["PATH=/bin", "GOGC=50"], "quota": 150000, "period": 100000,
                   "memory": 1 << 30, "cpus": "0-3", "shares": 1024})),
    "create-pod": call(9, "CreateContainer", P.create_request(
        pod={"resources": {"memory": 1 << 29, "quota": 100000, "period": 100000,
                           "unified": {"memory.high": "400m"}}},
        container={"env": ["GOMEMLIMIT=180M", "GODEBUG=a=1", "GODEBUG=b=2"], "shares": 256,
                   "unified": {"cpu.max": "max 100000", "memory.max": "max"},
                   "mounts": [("/scratch", "tmpfs", "tmpfs", ["size=40m"]),
                              ("/dev/shm", "bind", "/run/shm", ["rbind", "rw"])]})),
    "create-big": call(7, "CreateContainer", P.create_request(
        container={"env": ["V%d=%s" % (i, "x" * 50) for i in range(100)], "memory": 1 << 28}), 1000),
}
for name, data in cases.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([3]) + data)
