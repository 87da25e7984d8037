#!/usr/bin/env python3
"""oci_archive.py ROOTFS NAME OUT [ENTRYPOINT...]

Writes OUT, an OCI image layout as a tar (what `ctr images import` reads),
with one uncompressed layer holding the directory ROOTFS, for linux/amd64
(or the machine's architecture), named NAME (a full reference such as
gotune.test/witness:1) and starting ENTRYPOINT when given. The e2e tests
make their images with it: no registry, nothing fetched.
"""
import hashlib
import io
import json
import os
import platform
import sys
import tarfile

ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def blob(tar, data, media):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest[7:])
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
    return {"mediaType": media, "digest": digest, "size": len(data)}


def layer(rootfs):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(top, name)
                info = t.gettarinfo(path, os.path.relpath(path, rootfs))
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                if info.isreg():
                    with open(path, "rb") as f:
                        t.addfile(info, f)
                else:
                    t.addfile(info)
    return buf.getvalue()


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rootfs, name, out = sys.argv[1:4]
    entry = sys.argv[4:]
    diff = layer(rootfs)
    with tarfile.open(out, "w") as tar:
        lay = blob(tar, diff, "application/vnd.oci.image.layer.v1.tar")
        config = {
            "architecture": ARCH,
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [lay["digest"]]},
        }
        if entry:
            config["config"]["Entrypoint"] = entry
        cfg = blob(tar, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg, "layers": [lay]}
        man = blob(tar, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
        man["platform"] = {"architecture": ARCH, "os": "linux"}
        man["annotations"] = {"io.containerd.image.name": name,
                              "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [man]}
        for fname, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                            ("index.json", json.dumps(index).encode())):
            info = tarfile.TarInfo(fname)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


if __name__ == "__main__":
    main()
