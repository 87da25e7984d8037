#!/usr/bin/env bash
# What a new host gets: `meson install` creates the state directory (0700)
# and lays down the drop-ins, the recording one gated on the annotation
# gotune.io/record=true; without /dev/log a
# hook's line (also the one saying the policy is broken, which turns off
# log_file) lands in STATE/gotune.log, which stays bounded. The hooks run in
# a private mount namespace in which the state directory does not exist
# yet, so the host's own is never touched. TAP output.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/cli/fresh-host.sh BUILDDIR
set -u
hook=$(realpath "${GOTUNE_HOOK:?path to gotune-hook}")
builddir=${1:-}
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /' "$@"; }

state=$("$hook" --version | sed -n 's/^state directory //p')
ok $(( ${#state} == 0 )) "--version names the state directory: ${state:-none}"

# meson install creates it, root's alone.
if [ -z "$builddir" ] || ! command -v meson >/dev/null; then
	skip "meson install creates the state directory" "no build directory or meson"
else
	meson install -C "$builddir" --no-rebuild --quiet --destdir "$tmp/dest" >"$tmp/install.log" 2>&1
	mode=$(stat -c '%a %U' "$tmp/dest$state" 2>/dev/null)
	ok $(( $? != 0 )) "meson install creates $state (mode, owner: ${mode:-missing})"
	[ "$mode" = "700 root" ]
	ok $? "... 0700 and root's"
	[ -s "$tmp/install.log" ] && [ "$mode" != "700 root" ] && diag "$tmp/install.log"
	prefix=$(meson introspect "$builddir" --buildoptions | jq -r '.[] | select(.name == "prefix") | .value')
	for d in podman-hooks.d oci-hooks.d; do
		f=$tmp/dest$prefix/share/gotune/$d/gotune-prestart.json
		jq -e --arg hook "$prefix/bin/gotune-hook" '.hook.path == $hook and .hook.args == ["gotune-hook", "prestart"]
			and .when == {always: true} and .stages == ["prestart"]' "$f" >/dev/null 2>&1 &&
			[ ! -e "$tmp/dest$prefix/share/gotune/$d/gotune-record.json" ]
		ok $? "share/gotune/$d: gotune-prestart.json for every container (it records gotune.io/record=true too), no gotune-record.json"
	done
fi

if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	echo "# the rest needs root and a private mount namespace"
	echo "1..$n"
	exit $(( failed > 0 ))
fi
# in_fresh_host CMD...: CMD on a host gotune was just installed on
# (tests/freshhost.sh: no state directory, no /etc/gotune, no /dev/log).
# shellcheck source=../freshhost.sh
. "$(dirname "$0")/../freshhost.sh"
state_host=$(gt_fresh_enter "$tmp/fresh" "$state")
in_fresh_host() { unshare -m --propagation private "$tmp/fresh/enter" "$@"; }
hostpath() { printf '%s%s\n' "$state_host" "${1#"$state"}"; } # where PATH in the namespace is on the host

spec='{"ociVersion":"1.0.2","process":{"args":["/app"],"env":["PATH=/bin"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"resources":{"cpu":{"quota":50000,"period":100000}}}}'
printf '{"log_file": "%s/decisions.jsonl", "gomaxprocs": {"rounding": "sideways"}}\n' "$tmp" >"$tmp/bad.json"
printf '%s' "$spec" | in_fresh_host "$hook" precreate --policy "$tmp/bad.json" >"$tmp/out" 2>/dev/null
printf '%s' "$spec" | cmp -s - "$tmp/out"
ok $? "a broken policy: precreate passes the spec through unchanged"
log=$(hostpath "$state/gotune.log")
grep -q 'warning: precreate id=- passthrough (policy .*bad.json:1:[0-9]*: key "gomaxprocs.rounding"' "$log" 2>/dev/null
ok $? "... and its line, naming the key, is in $state/gotune.log"
[ "$(stat -c '%a' "$log" 2>/dev/null)" = 600 ] && [ "$(stat -c '%a' "$(hostpath "$state")" 2>/dev/null)" = 700 ]
ok $? "... which the hook created (0600) in the state directory it created (0700)"
# Where the operator looks: a policy broken elsewhere still names its log_file.
jq -e 'select(.entry == "precreate") | .outcome == "passthrough" and (.error | test("gomaxprocs.rounding"))' \
	"$tmp/decisions.jsonl" >/dev/null 2>&1
ok $? "... and in the broken policy's log_file, which it still names well"
[ -s "$log" ] || diag "$tmp/out"

# Bounded: a full file is moved to gotune.log.1 and a new one started.
head -c $((1 << 20)) /dev/zero | tr '\0' 'x' >"$log"
printf '%s' "$spec" | in_fresh_host "$hook" precreate --policy "$tmp/bad.json" >/dev/null 2>&1
[ "$(stat -c %s "$log.1" 2>/dev/null)" = $((1 << 20)) ] && [ "$(wc -l <"$log")" = 1 ] &&
	grep -q 'passthrough' "$log"
ok $? "a full fallback log (1 MiB) becomes gotune.log.1; the line starts a new gotune.log"

# No line can be forged: an annotation with a newline, an ESC sequence and
# a NUL (JSON \u0000: the value ends there) gives one line, escaped, in the
# fallback log and on stderr, and no line of its own that looks like ours.
rm -f "$log" "$log.1"
forged='x\nFAKE gotune[1] error: X\u001b[2J\u0007\r\u0000after-nul'
printf '%s' "$spec" | jq --argjson v "\"$forged\"" '.annotations = {"gotune.io/rounding": $v}' >"$tmp/forged.json"
in_fresh_host "$hook" precreate <"$tmp/forged.json" >/dev/null 2>"$tmp/forged.err"
for f in "$log" "$tmp/forged.err"; do
	lines=$(wc -l <"$f" 2>/dev/null)
	[ "$lines" = 1 ] && ! grep -q '^FAKE' "$f" && ! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$f" &&
		grep -qF 'x\nFAKE gotune[1] error: X\x1b[2J\x07\r' "$f" && ! grep -q after-nul "$f"
	ok $? "a newline, ESC, BEL and CR in an annotation are escaped in $(basename "$f"): one line ($lines), none forged"
	[ "$lines" = 1 ] || diag "$f"
done

# Syslog, when there is one, is where lines go: no fallback file then. A
# socket (nobody reads it) stands for /dev/log in a /dev of our own.
rm -f "$log" "$log.1"
if python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])' "$tmp/log"; then
	mkdir -p "$tmp/dev"
	printf '%s' "$spec" | in_fresh_host sh -c '
		mount -t tmpfs none "$1" && touch "$1/null" "$1/log" &&
		mount --bind /dev/null "$1/null" && mount --bind "$2" "$1/log" && mount --rbind "$1" /dev || exit 125
		shift 2 && exec "$@"' - "$tmp/dev" "$tmp/log" \
		"$hook" precreate --policy "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] && [ ! -e "$log" ] && ! grep -q passthrough "$tmp/err"
	ok $? "with /dev/log a socket the line goes to syslog, not to the fallback file nor stderr (status $rc)"
	# ... escaped there too: the datagram syslog(3) sends holds no newline
	# or ESC of the annotation's.
	rm -f "$tmp/log"
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(10)
open(sys.argv[2], "wb").write(s.recv(65536))' "$tmp/log" "$tmp/datagram" &
	listener=$!
	for _ in $(seq 50); do [ -S "$tmp/log" ] && break; sleep 0.1; done
	in_fresh_host sh -c '
		mount -t tmpfs none "$1" && touch "$1/null" "$1/log" &&
		mount --bind /dev/null "$1/null" && mount --bind "$2" "$1/log" && mount --rbind "$1" /dev || exit 125
		shift 2 && exec "$@"' - "$tmp/dev" "$tmp/log" \
		"$hook" precreate <"$tmp/forged.json" >/dev/null 2>&1
	wait "$listener"
	grep -qF 'x\nFAKE gotune[1] error: X\x1b[2J\x07\r' "$tmp/datagram" 2>/dev/null &&
		[ "$(tr -cd '\n\r\033\007' <"$tmp/datagram" | wc -c)" = 0 ]
	ok $? "... and in the syslog datagram: escaped, no newline, CR, ESC or BEL of the annotation's"
else
	skip "with /dev/log a socket, the line goes to syslog only" "cannot make a unix socket"
fi
echo "1..$n"
exit $(( failed > 0 ))
