"""The runtime side of NRI, written from the protocol, for testing
gotune's plugin: a unix socket carrying a multiplexer (conn id u32 BE,
length u32 BE, payload), ttrpc messages (length u32, stream u32, type u8,
flags u8) inside each conn, protobuf inside those. Conn 1: the peer calls
the plugin's Plugin service. Conn 2: the plugin calls the peer's Runtime
service. Its protobuf code is its own, not the plugin's."""

import os
import socket
import struct
import subprocess
import time

API = "nri.pkg.api.v1alpha1"
FRAME_MAX = 4096  # the Go side reads each frame into a buffer this big


# ---- protobuf wire format ------------------------------------------------

def varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, v):
    return varint(num << 3) + varint(v)


def f_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def f_str(num, s):
    return f_bytes(num, s) if s else b""


def parse(data):
    """[(num, wire, value)]: value is an int or bytes."""
    out, i = [], 0
    while i < len(data):
        key, i = _get_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _get_varint(data, i)
        elif wire == 2:
            n, i = _get_varint(data, i)
            if i + n > len(data):
                raise ValueError("truncated bytes")
            v, i = data[i:i + n], i + n
        elif wire == 1:
            v, i = int.from_bytes(data[i:i + 8], "little"), i + 8
        elif wire == 5:
            v, i = int.from_bytes(data[i:i + 4], "little"), i + 4
        else:
            raise ValueError("wire type %d" % wire)
        out.append((num, wire, v))
    return out


def _get_varint(data, i):
    v = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7


def fields(data, num):
    return [v for n, _, v in parse(data) if n == num]


# ---- NRI messages --------------------------------------------------------

def map_entry(num, k, v):
    return f_bytes(num, f_str(1, k) + f_str(2, v))


def optional(num, v):
    return f_bytes(num, f_varint(1, v))


def linux_resources(r):
    """LinuxResources {memory = 1 {limit = 1}, cpu = 2 {shares = 1, quota =
    2, period = 3, cpus = 6}, unified = 6 (map)} from {memory, shares,
    quota, period, cpus, unified}; b"" when empty."""
    mem = optional(1, r["memory"]) if "memory" in r else b""
    cpu = b""
    if "shares" in r:
        cpu += optional(1, r["shares"])
    if "quota" in r:
        cpu += optional(2, r["quota"])
    if "period" in r:
        cpu += optional(3, r["period"])
    if "cpus" in r:
        cpu += f_str(6, r["cpus"])
    res = (f_bytes(1, mem) if mem else b"") + (f_bytes(2, cpu) if cpu else b"")
    for k, v in r.get("unified", {}).items():
        res += map_entry(6, k, v)
    return res


def create_request(pod=None, container=None):
    """pod: {id,name,namespace,annotations,resources (the pod_resources of
    PodSandbox.linux = 8, LinuxPodSandbox.pod_resources = 2), cgroup_parent
    (LinuxPodSandbox = 3)}; container: {id,name,env,annotations,quota,
    period,shares,memory,cpus,unified,mounts: [(destination, type, source,
    [options])], cgroups_path (LinuxContainer = 5)}."""
    pod = pod or {}
    c = container or {}
    pb = f_str(1, pod.get("id", "pod0")) + f_str(2, pod.get("name", "pod")) + \
        f_str(4, pod.get("namespace", "default"))
    for k, v in pod.get("annotations", {}).items():
        pb += map_entry(6, k, v)
    linux = b""
    if "resources" in pod:
        linux += f_bytes(2, linux_resources(pod["resources"]))
    if "cgroup_parent" in pod:
        linux += f_str(3, pod["cgroup_parent"])
    if linux:
        pb += f_bytes(8, linux)
    cb = f_str(1, c.get("id", "ctr0")) + f_str(2, pod.get("id", "pod0")) + f_str(3, c.get("name", "app"))
    for k, v in c.get("annotations", {}).items():
        cb += map_entry(6, k, v)
    for e in c.get("args", ["/app"]):
        cb += f_str(7, e)
    for e in c.get("env", []):
        cb += f_str(8, e)
    for dest, typ, src, opts in c.get("mounts", []):
        mb = f_str(1, dest) + f_str(2, typ) + f_str(3, src)
        for o in opts:
            mb += f_str(4, o)
        cb += f_bytes(9, mb)
    res = linux_resources(c)
    linux = f_bytes(3, res) if res else b""
    if "cgroups_path" in c:
        linux += f_str(5, c["cgroups_path"])
    if linux:
        cb += f_bytes(11, linux)
    return f_bytes(1, pb) + f_bytes(2, cb)


def update_request(pod=None, container=None, resources=None):
    """UpdateContainerRequest {pod = 1, container = 2, linux_resources = 3}:
    pod and container as create_request takes them (the container with the
    resources it was created with), resources the new ones (same keys)."""
    req = create_request(pod, container)
    if resources is not None:
        req += f_bytes(3, linux_resources(resources))
    return req


def adjustment(payload):
    """CreateContainerResponse -> {"env": [(k, v)], "prestart": [(path, args)]}."""
    out = {"env": [], "prestart": []}
    for adj in fields(payload, 1):
        for kv in fields(adj, 4):
            k = b"".join(fields(kv, 1)).decode()
            v = b"".join(fields(kv, 2)).decode()
            out["env"].append((k, v))
        for hooks in fields(adj, 5):
            for h in fields(hooks, 1):
                path = b"".join(fields(h, 1)).decode()
                args = [a.decode() for a in fields(h, 2)]
                out["prestart"].append((path, args))
    return out


# ---- transport -----------------------------------------------------------

class Closed(Exception):
    pass


class Conn:
    """One accepted plugin connection, seen from the runtime."""

    def __init__(self, sock, timeout=5.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""
        self.streams = {1: b"", 2: b""}
        self.frames_in = []      # payload sizes of frames the plugin sent
        self.next_stream = 1
        self.plugin_streams = []  # stream ids the plugin used on conn 2

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frames(self, conn, data, frame_max=FRAME_MAX):
        out = b""
        for i in range(0, len(data), frame_max):
            chunk = data[i:i + frame_max]
            out += struct.pack(">II", conn, len(chunk)) + chunk
        self.sock.sendall(out)

    def send_ttrpc(self, conn, stream, mtype, payload, frame_max=FRAME_MAX):
        self.send_frames(conn, struct.pack(">IIBB", len(payload), stream, mtype, 0) + payload, frame_max)

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("plugin did not answer in time")
        except ConnectionResetError:
            data = b""
        if not data:
            raise Closed()
        self.buf += data
        while len(self.buf) >= 8:
            conn, n = struct.unpack(">II", self.buf[:8])
            if len(self.buf) < 8 + n:
                break
            self.frames_in.append(n)
            self.streams.setdefault(conn, b"")
            self.streams[conn] += self.buf[8:8 + n]
            self.buf = self.buf[8 + n:]

    def recv_ttrpc(self):
        """(conn, stream, type, payload) of the next complete message."""
        while True:
            for conn, data in self.streams.items():
                if len(data) >= 10:
                    n, stream, mtype, _ = struct.unpack(">IIBB", data[:10])
                    if len(data) >= 10 + n:
                        self.streams[conn] = data[10 + n:]
                        return conn, stream, mtype, data[10:10 + n]
            self._fill()

    def serve_register(self):
        """Answers the plugin's RegisterPlugin; returns (name, idx)."""
        conn, stream, mtype, payload = self.recv_ttrpc()
        assert conn == 2 and mtype == 1, "expected a request on conn 2, got conn %d type %d" % (conn, mtype)
        self.plugin_streams.append(stream)
        service = b"".join(fields(payload, 1)).decode()
        method = b"".join(fields(payload, 2)).decode()
        assert (service, method) == (API + ".Runtime", "RegisterPlugin"), (service, method)
        body = b"".join(fields(payload, 3))
        name = b"".join(fields(body, 1)).decode()
        idx = b"".join(fields(body, 2)).decode()
        self.send_ttrpc(2, stream, 2, f_bytes(1, b""))
        return name, idx

    def call(self, method, payload, service=API + ".Plugin", frame_max=FRAME_MAX):
        """A unary call on conn 1; returns (code, message, payload, seconds)."""
        stream = self.next_stream
        self.next_stream += 2
        req = f_str(1, service) + f_str(2, method) + f_bytes(3, payload) + f_varint(4, 2_000_000_000)
        t0 = time.perf_counter()
        self.send_ttrpc(1, stream, 1, req, frame_max)
        while True:
            conn, rstream, mtype, body = self.recv_ttrpc()
            if conn == 1 and rstream == stream and mtype == 2:
                break
        dt = time.perf_counter() - t0
        code, msg, out = 0, "", b""
        for st in fields(body, 1):
            code = (fields(st, 1) or [0])[0]
            msg = b"".join(fields(st, 2)).decode()
        out = b"".join(fields(body, 2))
        return code, msg, out, dt

    def handshake(self, config=""):
        """Register, Configure, Synchronize: what every runtime does."""
        name, idx = self.serve_register()
        code, _, out, _ = self.call("Configure", f_str(1, config) + f_str(2, "nripeer") + f_str(3, "0.1"))
        assert code == 0, "Configure failed: %d" % code
        events = (fields(out, 2) or [0])[0]
        code, _, sync, _ = self.call("Synchronize", f_varint(3, 1))
        assert code == 0
        return name, idx, events, (fields(sync, 2) or [0])[0]


class Runtime:
    """A listening runtime socket; accept() gives a Conn."""

    def __init__(self, path):
        self.path = path
        self.listen()

    def listen(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(4)

    def accept(self, timeout=10.0):
        self.srv.settimeout(timeout)
        s, _ = self.srv.accept()
        return Conn(s)

    def stop(self):
        self.srv.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def start_plugin(hook, sock, policy, extra=(), env=None, stderr=subprocess.PIPE):
    """stderr: a pipe the caller must drain, or a file for long runs (the
    plugin logs a line per container and would block on a full pipe)."""
    return subprocess.Popen([hook, "nri", "--socket", sock, "--policy", policy, *extra],
                            stdout=subprocess.DEVNULL, stderr=stderr, env=env)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1
