# shellcheck shell=bash
# gt_fresh_enter DIR STATE: writes DIR/enter, a command wrapper that runs
# its arguments as on a host gotune was just installed on: in a private
# mount namespace (run it under `unshare -m --propagation private`) where
# STATE (gotune-hook --version's state directory) does not exist yet,
# /etc/gotune holds no policy (the defaults apply) and /dev/log is no
# socket (lines go to the fallback log). The host's own are never touched:
# the empty DIR/anc is mounted over STATE's nearest existing ancestor.
# Prints where STATE lands on the host once made (DIR/anc/...).
# Sourced by tests/e2e/lib.sh and tests/cli/fresh-host.sh, so that every
# "fresh host" test means the same host.
gt_fresh_enter() {
	local dir=$1 state=$2 anc
	anc=$(dirname "$state")
	while [ ! -d "$anc" ]; do anc=$(dirname "$anc"); done
	mkdir -p "$dir/anc" "$dir/etc-gotune" || return 1
	: >"$dir/not-a-socket"
	cat >"$dir/enter" <<SH
#!/bin/sh
mount --bind "$dir/anc" "$anc" || exit 125
[ ! -d /etc/gotune ] || mount --bind "$dir/etc-gotune" /etc/gotune || exit 125
[ ! -e /dev/log ] || mount --bind "$dir/not-a-socket" /dev/log || exit 125
exec "\$@"
SH
	chmod +x "$dir/enter"
	printf '%s\n' "$dir/anc${state#"$anc"}"
}
