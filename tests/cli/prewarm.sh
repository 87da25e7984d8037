#!/usr/bin/env bash
# The prewarm set on a rootfs built here: a program whose library is found
# through RUNPATH $ORIGIN, its interpreter and libc, a script's #!
# interpreter, listed files and directories; hostile entries (a FIFO
# named like a library, a link out of the root, a 1 TiB sparse file); and
# the prestart hook on a real bundle. TAP output.
set -u
hook=$(realpath "${GOTUNE_HOOK:?path to gotune-hook}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
check() { local d=$1; shift; "$@" >/dev/null 2>&1; ok $? "$d"; }
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
command -v cc >/dev/null || skip_all "no C compiler to build the test program"
command -v ldd >/dev/null || skip_all "no ldd"

root=$tmp/rootfs
mkdir -p "$root/opt/app/bin" "$root/opt/app/lib" "$root/bin" "$root/etc" "$root/data"
printf 'int gt_answer(void) { return 42; }\n' >"$tmp/lib.c"
printf 'int gt_answer(void);\nint main(void) { return gt_answer() == 42 ? 0 : 1; }\n' >"$tmp/main.c"
cc -shared -fPIC -Wl,-soname,libgt.so.1 -o "$root/opt/app/lib/libgt.so.1" "$tmp/lib.c" || skip_all "cannot build a shared library"
cc -o "$root/opt/app/bin/app" "$tmp/main.c" -L"$root/opt/app/lib" -l:libgt.so.1 -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib' ||
	skip_all "cannot link the test program"
# libc and the loader, where the program's own ldd finds them on the host
for lib in $(ldd "$root/opt/app/bin/app" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
	case $lib in */libgt.so*) continue ;; esac
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
interp=$(ldd "$root/opt/app/bin/app" | awk '/^\t\/lib/ {print $1}')
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
printf '#!/bin/sh\nexec /opt/app/bin/app\n' >"$root/start.sh"
chmod +x "$root/start.sh"
echo config >"$root/data/a.conf"
echo more >"$root/data/b.conf"
ln "$root/data/a.conf" "$root/data/a-hardlink.conf"

out=$("$hook" prewarm --root "$root" --entry /opt/app/bin/app --mode populate 2>&1)
ok $? "prewarm of the entry's closure exits 0"
echo "$out" | sed 's/^/# /'
for f in /opt/app/bin/app /opt/app/bin/../lib/libgt.so.1 "$interp" libc.so.6; do
	echo "$out" | grep -q -- "$f"
	ok $? "closure holds $f"
done
echo "$out" | grep -q 'resident .* -> 100%'
ok $? "populate leaves the set resident"
# Queued at the idle I/O class, behind the program's own faults (the
# ioprio_set call must pass the PREWARM seccomp filter too).
echo "$out" | grep -q ', idle I/O class'
ok $? "the reads are queued at the idle I/O class"

out=$("$hook" prewarm --root "$root" --entry /start.sh 2>&1)
echo "$out" | grep -q ' /bin/sh$' && echo "$out" | grep -q ' /start.sh$'
ok $? "a script's #! interpreter is followed (the script and /bin/sh)"

out=$("$hook" prewarm --root "$root" /data 2>&1)
echo "$out" | grep -q '3 files (0 duplicate' || echo "$out" | grep -q '2 files (1 duplicate'
ok $? "a directory's regular files, a hard link counted once"

out=$("$hook" prewarm --root "$root" --entry app 2>&1)
ok $(( $? == 0 )) "a bare name not on the image's PATH is an error"

# hostile: a FIFO where the library should be, a link out of the root
mkdir -p "$tmp/hostile"
cp -a "$root/." "$tmp/hostile/"
rm "$tmp/hostile/opt/app/lib/libgt.so.1"
mkfifo "$tmp/hostile/opt/app/lib/libgt.so.1"
echo "host secret" >"$tmp/secret"
ln -s "$tmp/secret" "$tmp/hostile/data/evil.conf"
ln -s ../../../../../../../../"$tmp/secret" "$tmp/hostile/data/evil2.conf"
out=$(timeout 10 "$hook" prewarm --root "$tmp/hostile" --entry /opt/app/bin/app /data/evil.conf /data/evil2.conf 2>&1)
rc=$?
ok $(( rc != 0 )) "a FIFO named like the library does not hang the hook"
echo "$out" | grep -q 'libgt.so.1 (needed by /opt/app/bin/app) not found'
ok $? "and is reported as not found"
echo "$out" | grep -q 'secret'
ok $(( $? == 0 )) "links to a host file are not followed out of the root"

truncate -s 1T "$root/data/huge.img"
start=$(date +%s%N)
out=$(timeout 20 "$hook" prewarm --root "$root" --mode populate /data/huge.img 2>&1)
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok $rc "a 1 TiB sparse file: exits 0"
echo "$out" | grep -q 'requested 64MiB'
ok $? "the per-file budget holds (64 MiB of 1 TiB requested)"
ok $(( ms > 5000 )) "and quickly (${ms} ms)"
rm "$root/data/huge.img"

# prestart on a bundle: state JSON on stdin, as runc and crun give it
bundle=$tmp/bundle
mkdir -p "$bundle"
ln -s "$root" "$bundle/rootfs"
cat >"$bundle/config.json" <<JSON
{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["/opt/app/bin/app"],"env":["PATH=/bin"],"cwd":"/"},
 "annotations":{"gotune.io/prewarm-files":"/data"},
 "linux":{"resources":{"cpu":{"quota":50000,"period":100000},"memory":{"limit":209715200}}}}
JSON
echo '{"prewarm":{"closure":true}}' >"$tmp/policy.json"
echo '{}' >"$tmp/default.json"
state="{\"ociVersion\":\"1.0.2\",\"id\":\"pw1\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"$bundle\"}"
printf '%s' "$state" | "$hook" prestart --policy "$tmp/policy.json" >"$tmp/out" 2>"$tmp/err"
ok $? "prestart exits 0"
sed 's/^/# /' "$tmp/err"
check "prestart prints nothing on stdout" test ! -s "$tmp/out"
check "prestart warms the closure and the annotated directory" grep -q "prestart id=pw1 done: env .*prewarm willneed: 6 files" "$tmp/err"
check "prestart says env tuning is missing (the spec lacks the planned variables)" grep -q 'GOMAXPROCS=1 (MISSING' "$tmp/err"
sed -i 's|"env":\["PATH=/bin"\]|"env":["PATH=/bin","GOMAXPROCS=1","GOMEMLIMIT=180MiB"]|' "$bundle/config.json"
printf '%s' "$state" | "$hook" createRuntime --policy "$tmp/policy.json" 2>"$tmp/err"
check "createRuntime is the same entry; env as planned is reported" grep -q 'GOMAXPROCS=1 (as planned) GOMEMLIMIT=180MiB (as planned)' "$tmp/err"
printf '%s' "$state" | "$hook" prestart --policy "$tmp/default.json" 2>"$tmp/err"
check "by default only listed files are warmed, not the closure" grep -q "prewarm willneed: 2 files (1 duplicate" "$tmp/err"
printf '{"prewarm":{"closure":true,"max_set_bytes":1024}}' >"$tmp/small.json"
printf '%s' "$state" | "$hook" prestart --policy "$tmp/small.json" 2>"$tmp/err"
check "a set over max_set_bytes is not warmed at all, and the line says so" \
	grep -q 'prewarm skipped: closure and listed files: 6 files, [0-9.]*MiB, over max_set_bytes 1KiB: not warmed' "$tmp/err"
# A recorded working set has its own bound (profile.max_bytes), not
# max_set_bytes: a profile of 8 MiB is replayed under a max_set_bytes of
# 1 MiB, cut at 6 MiB, and the line says what was left out and why. The
# profile is written by hand under the name `profile key` gives the
# entrypoint (its content ID, which a start only looks up: it never hashes).
head -c $((8 << 20)) /dev/urandom >"$root/data/big.bin"
head -c $((2 << 20)) /dev/urandom >"$root/data/listed.bin"
profiles=$tmp/profiles
printf '{"profile":{"dir":"%s"}}' "$profiles" >"$tmp/prof-default.json"
mkdir -p "$profiles"
grep -q 'working-set profile: /opt/app/bin/app not identified yet' \
	<("$hook" plan --policy "$tmp/prof-default.json" --bundle "$bundle" 2>&1)
ok $? "before any recording, plan says the entrypoint is not identified yet (a start never hashes it)"
read -r key _ sha _ < <("$hook" profile key --policy "$tmp/prof-default.json" --bundle "$bundle")
sha=${sha#sha256:}
[ "$sha" = "$(sha256sum <"$root/opt/app/bin/app" | cut -d' ' -f1)" ] && [ "${#key}" = 49 ]
ok $? "profile key: the profile's name ($key) and the entrypoint's SHA-256"
mt() { stat -c '%.9Y' "$1" | tr -d .; }
head4() { # the lines of a format 4 profile before its files
	printf 'gotune-profile 4\nentry /opt/app/bin/app\t%s\t%s\t-\t%s\nimage -\t-\nsettled 0\n' \
		"$(stat -c %s "$root/opt/app/bin/app")" "$(mt "$root/opt/app/bin/app")" "$sha"
}
{ head4; printf 'file /data/big.bin\t%s\t%s\t-\t0+%s\n' $((8 << 20)) "$(mt "$root/data/big.bin")" $((8 << 20)); } \
	>"$profiles/$key.profile"
check "plan finds the hand-written profile (key $key)" \
	grep -q 'matched for /opt/app/bin/app: 1 files, 1 ranges, 8388608 bytes' <("$hook" plan --policy "$tmp/prof-default.json" --bundle "$bundle" 2>&1)
sed -i 's|"/data"|"/data/listed.bin"|' "$bundle/config.json"
printf '{"profile":{"dir":"%s","max_bytes":%d},"prewarm":{"mode":"populate","max_set_bytes":%d}}' \
	"$profiles" $((6 << 20)) $((1 << 20)) >"$tmp/prof-small.json"
dd of="$root/data/big.bin" oflag=nocache conv=notrunc,fdatasync count=0 status=none 2>/dev/null # evict it
printf '%s' "$state" | "$hook" prestart --policy "$tmp/prof-small.json" 2>"$tmp/err"
sed 's/^/# /' "$tmp/err"
check "a profile over max_set_bytes is replayed: requested 6 MiB (profile.max_bytes)" \
	grep -q "prewarm populate: 1 files (0 duplicate names) 8MiB, requested 6MiB, resident [0-9]*% -> 100%" "$tmp/err"
check "... and the line says from where, how much, what was left out and why" \
	grep -q "; profile $key replayed: 1 of 1 files, 6MiB, 2MiB over profile.max_bytes 6MiB: left out; listed files: 1 files, 2MiB, over max_set_bytes 1MiB: not warmed" "$tmp/err"
printf '%s' "$state" | "$hook" prestart --policy "$tmp/prof-default.json" 2>"$tmp/err"
check "with the default bounds the whole profile (8 MiB) and the listed file are warmed" \
	grep -q "prewarm willneed: 2 files (0 duplicate names) 10MiB, requested 10MiB, .*; profile $key replayed: 1 of 1 files, 8MiB; listed files: 1 files, 2MiB [0-9.]*ms$" "$tmp/err"
# Recorded times decide what fits: the file the program touched first is
# replayed, though the profile lists it second.
head -c $((2 << 20)) /dev/urandom >"$root/data/late.bin"
head -c $((2 << 20)) /dev/urandom >"$root/data/early.bin"
{ head4; printf 'file /data/late.bin\t%s\t%s\t-\t0+%s@50\nfile /data/early.bin\t%s\t%s\t-\t0+%s@2\n' \
	$((2 << 20)) "$(mt "$root/data/late.bin")" $((2 << 20)) $((2 << 20)) "$(mt "$root/data/early.bin")" $((2 << 20)); } \
	>"$profiles/$key.profile"
printf '{"profile":{"dir":"%s","max_bytes":%d},"prewarm":{"mode":"populate"}}' "$profiles" $((2 << 20)) >"$tmp/prof-2m.json"
for f in late early; do dd of="$root/data/$f.bin" oflag=nocache conv=notrunc,fdatasync count=0 status=none 2>/dev/null; done
printf '%s' "$state" | "$hook" prestart --policy "$tmp/prof-2m.json" 2>"$tmp/err"
res() { fincore --bytes --noheadings --raw --output RES "$1" 2>/dev/null || echo ?; }
check "a profile over profile.max_bytes keeps what the program touched first (early.bin: $(res "$root/data/early.bin") bytes resident, late.bin: $(res "$root/data/late.bin"))" \
	grep -q "profile $key replayed: 1 of 2 files, 2MiB, 2MiB over profile.max_bytes 2MiB: left out" "$tmp/err"
[ "$(res "$root/data/early.bin")" = $((2 << 20)) ]
ok $? "... and reads it"
sed 's/^/# /' "$tmp/err"
rm -f "$root/data/late.bin" "$root/data/early.bin"
{ head4; printf 'file /data/big.bin\t%s\t%s\t-\t0+%s\n' $((8 << 20)) "$(mt "$root/data/big.bin")" $((8 << 20)); } \
	>"$profiles/$key.profile"
touch "$root/data/big.bin"
printf '%s' "$state" | "$hook" prestart --policy "$tmp/prof-default.json" 2>"$tmp/err"
check "a file changed since recording is skipped, and the line says so" \
	grep -q "profile $key replayed: 0 of 1 files, 0B, 1 changed since recording: skipped" "$tmp/err"
rm -f "$root/data/big.bin" "$root/data/listed.bin"
sed -i 's|"/data/listed.bin"|"/data"|' "$bundle/config.json"

printf 'not json' | "$hook" prestart --policy "$tmp/policy.json" 2>"$tmp/err"
ok $? "bad state JSON: exit 0 (fail-open)"
check "and one line says why" grep -q 'invalid JSON at byte' "$tmp/err"
printf '{"strict":true}' >"$tmp/strict.json"
printf 'not json' | "$hook" prestart --policy "$tmp/strict.json" 2>/dev/null
ok $(( $? != 1 )) "strict: bad state JSON exits 1"

echo "1..$n"
[ "$failed" -eq 0 ]
