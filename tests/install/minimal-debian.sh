#!/usr/bin/env bash
# README's Install on a minimal Debian 12: a debootstrap minbase chroot of
# bookworm, built from Debian's packages, in which `bash .ci/deps build` and
# `meson setup build --prefix=/usr/local && ninja -C build && ninja -C build
# install` run verbatim, then the installed gotune-hook plans a spec.
# minbase has no compiler and apt installs no recommendations here, which is
# how a missing libc6-dev (only a recommendation of gcc) went unseen.
#
# Cache (kept between runs, owned by this test): GOTUNE_MINIMAL_CACHE, else
# /var/tmp/gotune-test-cache/minimal-debian: the debootstrap package tarball
# and the .debs the chroot's apt downloads. The chroot itself is new every
# run. Cold: about 3-6 minutes on 2 cores; warm: about 2-4.
# TAP; skips, saying why, when not root or when debootstrap cannot run.
set -u
set -o pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${GOTUNE_MINIMAL_CACHE:-/var/tmp/gotune-test-cache/minimal-debian}
suite=bookworm
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag_tail() { tail -n "${2:-25}" "$1" | sed 's/^/# /'; }

[ "$(id -u)" -eq 0 ] || skip_all "not root: debootstrap and chroot need root"
command -v debootstrap >/dev/null || skip_all "debootstrap is not installed (.ci/deps test installs it)"
command -v unshare >/dev/null || skip_all "unshare (util-linux) is not installed"

mkdir -p "$cache/archives/partial" || skip_all "cannot create the cache $cache"
work=$(mktemp -d /var/tmp/gotune-minimal.XXXXXX)
root=$work/root
cleanup() {
	# Mounts live in the private namespace of each step and are gone with
	# it; nothing of the host is mounted inside $root after a step.
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# 1. The package set of a minbase bookworm, downloaded once into the cache.
tarball=$cache/$suite-minbase.tgz
if [ ! -s "$tarball" ]; then
	if ! timeout 900 debootstrap --variant=minbase --make-tarball="$tarball.tmp" "$suite" "$work/mk" \
		>"$work/make-tarball.log" 2>&1; then
		rm -f "$tarball.tmp"
		diag_tail "$work/make-tarball.log"
		skip_all "debootstrap could not download $suite from Debian's mirror (see above)"
	fi
	mv "$tarball.tmp" "$tarball"
	rm -rf "$work/mk"
fi

# 2. A fresh minimal system from it.
if ! timeout 900 debootstrap --variant=minbase --unpack-tarball="$tarball" "$suite" "$root" \
	>"$work/debootstrap.log" 2>&1; then
	diag_tail "$work/debootstrap.log"
	# A stale tarball (the mirror moved on) is fetched again next run.
	grep -q "Couldn't download\|Failed getting release\|not found" "$work/debootstrap.log" && rm -f "$tarball"
	skip_all "debootstrap could not build a $suite minbase chroot (see above)"
fi
ok 0 "debootstrap --variant=minbase $suite"
dpkg_in() { chroot "$root" dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
dpkg_in gcc || dpkg_in libc6-dev
ok $(( $? == 0 )) "the chroot starts without gcc and libc6-dev (a real minimal system)"

# 3. The project's tracked files (as a clone has them) in /src.
mkdir -p "$root/src"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		tar -C "$src" --null -T - -cf - | tar -C "$root/src" -xf -
else
	tar -C "$src" --exclude='./build*' -cf - . | tar -C "$root/src" -xf -
fi
ok $? "source copied into the chroot"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null

# in_chroot LOG COMMAND: runs COMMAND with bash inside the chroot, in a
# private mount namespace with /proc, /dev and the apt cache mounted.
in_chroot() {
	local log=$1
	shift
	timeout 1200 unshare --mount --propagation private bash -c '
		root=$1 cache=$2
		shift 2
		mount -t proc proc "$root/proc" &&
		mount --rbind /dev "$root/dev" &&
		mount --bind "$cache/archives" "$root/var/cache/apt/archives" &&
		exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 bash -c "cd /src && $*"
	' _ "$root" "$cache" "$@" >"$log" 2>&1
}

# 4. The README's Install, verbatim.
in_chroot "$work/deps.log" 'bash .ci/deps build'
rc=$?
ok $rc "bash .ci/deps build in the minimal chroot"
[ $rc -eq 0 ] || diag_tail "$work/deps.log"
in_chroot "$work/build.log" 'meson setup build --prefix=/usr/local && ninja -C build && ninja -C build install'
rc=$?
ok $rc "meson setup build --prefix=/usr/local && ninja -C build && ninja -C build install"
[ $rc -eq 0 ] || diag_tail "$work/build.log" 40

# 5. What was installed works.
spec='{"process":{"env":[]},"linux":{"resources":{"cpu":{"quota":50000,"period":100000},"memory":{"limit":209715200}}}}'
printf '%s' "$spec" >"$root/tmp/config.json"
in_chroot "$work/plan.log" '/usr/local/bin/gotune-hook plan /tmp/config.json'
grep -q '^GOMEMLIMIT  set       180MiB' "$work/plan.log"
ok $? "the installed gotune-hook plans GOMEMLIMIT=180MiB for a 200 MiB limit"
grep -q '^GOMAXPROCS  set       1 ' "$work/plan.log"
ok $? "and GOMAXPROCS=1 for 0.5 CPU"
[ $rc -eq 0 ] && ! grep -q 'set ' "$work/plan.log" && diag_tail "$work/plan.log"
for f in bin/gotune-runc bin/gotune-crun share/man/man8/gotune-hook.8 share/man/man8/gotune-crun.8 \
	share/gotune/policy.schema.json share/gotune/policy.example.json share/gotune/nri/gotune-nri.yaml; do
	[ -e "$root/usr/local/$f" ]
	ok $? "installed /usr/local/$f"
done
# README's policy step, verbatim; the installed example is a valid policy.
in_chroot "$work/policy.log" 'install -D -m 0644 /usr/local/share/gotune/policy.example.json /etc/gotune/policy.json &&
	/usr/local/bin/gotune-hook plan /tmp/config.json'
rc=$?
ok $rc "the example policy installed as /etc/gotune/policy.json is accepted"
[ $rc -eq 0 ] || diag_tail "$work/policy.log"
# Another prefix: the example's $schema names the schema where it went.
in_chroot "$work/prefix.log" 'meson configure build -Dprefix=/opt/gotune >/dev/null && ninja -C build >/dev/null &&
	DESTDIR=/stage ninja -C build install >/dev/null && grep "\$schema" /stage/opt/gotune/share/gotune/policy.example.json'
grep -q '"/opt/gotune/share/gotune/policy.schema.json"' "$work/prefix.log" && [ -f "$root/stage/opt/gotune/share/gotune/policy.schema.json" ]
ok $? "--prefix=/opt/gotune: the example's \$schema is /opt/gotune/share/gotune/policy.schema.json, and it is there"

echo "1..$n"
[ "$failed" -eq 0 ]
