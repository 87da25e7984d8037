#!/usr/bin/env bash
# Build info of real Go binaries: gotune must read what the Go toolchain
# reads. Each case builds a tiny program from tests/fixtures/go with
# tests/gobuild (a named Go, a named go.mod line), then compares the
# `.image` of `gotune-hook plan --json --bundle` with `go version -m` run by
# the Go that built the binary: version, DefaultGODEBUG, CGO_ENABLED,
# GOOS/GOARCH. Other checks make sure each binary is what its case says
# (static, dynamic with an interpreter, PIE, stripped, carrying a setting).
# A Go this machine lacks is a TAP SKIP with gobuild's reason. TAP output.
#
# Builds go to $GOTUNE_BUILDDIR/goinfo-real when set (kept, so a rerun
# only relinks), else to a temporary dir.
set -u
hook=$(realpath "${GOTUNE_HOOK:?path to gotune-hook}")
tests=$(cd "$(dirname "$0")/.." && pwd)
gobuild=$tests/gobuild
fixtures=$tests/fixtures/go
tmp=$(mktemp -d)
if [ -n "${GOTUNE_BUILDDIR:-}" ]; then
	out=$GOTUNE_BUILDDIR/goinfo-real
	mkdir -p "$out"
else
	out=$tmp/out
fi
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }

command -v jq >/dev/null || { echo "1..0 # SKIP jq not installed"; exit 0; }
have_readelf=1
command -v readelf >/dev/null || have_readelf=0

echo '{}' >"$tmp/empty-policy.json"
export GOTUNE_POLICY=$tmp/empty-policy.json
bundle=$tmp/bundle
mkdir -p "$bundle/rootfs"
cat >"$bundle/config.json" <<'EOF'
{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
 "process": {"args": ["/bin-under-test"], "env": [], "cwd": "/"},
 "linux": {"resources": {"cpu": {"quota": 50000, "period": 100000},
                         "memory": {"limit": 209715200}}}}
EOF

# setting FILE KEY: a "build KEY=VALUE" line of go version -m output.
setting() { awk -F'\t' -v k="$2=" '$2 == "build" && index($3, k) == 1 { print substr($3, length(k) + 1) }' "$1"; }

# sectionless BIN COPY: BIN with its section headers gone (e_shoff,
# e_shnum, e_shstrndx zeroed, as sstrip leaves a binary): build info must
# then be found through the program headers.
sectionless() {
	cp "$1" "$2" &&
		printf '\0\0\0\0\0\0\0\0' | dd of="$2" bs=1 seek=40 conv=notrunc status=none &&
		printf '\0\0\0\0' | dd of="$2" bs=1 seek=60 conv=notrunc status=none
}

# oracle GO BIN: go version -m into $tmp/oracle; fails when that Go
# cannot read BIN (Go 1.19 says so on stdout and exits 0).
oracle() {
	GOTOOLCHAIN=local "$1" version -m "$2" >"$tmp/oracle" 2>&1 &&
		! grep -q 'could not read Go build info' "$tmp/oracle"
}

# compare BIN DESC [ORACLE_BIN]: one TAP line, gotune's reading of BIN
# against $tmp/oracle, which is go version -m of ORACLE_BIN (default BIN).
compare() {
	local bin=$1 desc=$2 obin=${3:-$1} first mism=() f g o
	cp "$bin" "$bundle/rootfs/bin-under-test"
	if ! "$hook" plan --json --bundle "$bundle" >"$tmp/plan.json" 2>"$tmp/plan.err"; then
		ok 1 "$desc: gotune-hook plan runs"
		diag <"$tmp/plan.err"
		return
	fi
	first=$(head -n 1 "$tmp/oracle")
	o=${first#"$obin: "}
	g=$(jq -r '.image.go_version // "(not Go)"' "$tmp/plan.json")
	[ "$g" = "$o" ] || mism+=("go_version: gotune '$g', go version -m '$o'")
	for f in DefaultGODEBUG:default_godebug CGO_ENABLED:cgo_enabled GOOS:goos GOARCH:goarch; do
		o=$(setting "$tmp/oracle" "${f%%:*}")
		g=$(jq -r ".image.${f#*:} // \"(absent)\"" "$tmp/plan.json")
		[ "$g" = "$o" ] || mism+=("${f%%:*}: gotune '$g', go version -m '$o'")
	done
	ok ${#mism[@]} "$desc: gotune reads what go version -m reads${3:+ of the original}"
	if [ ${#mism[@]} -gt 0 ]; then
		printf '%s\n' "${mism[@]}" | diag
	else
		o=$(setting "$tmp/oracle" DefaultGODEBUG)
		echo "# $(jq -r '.image | "\(.go_version), CGO_ENABLED=\(.cgo_enabled), \(.goos)/\(.goarch)"' "$tmp/plan.json"), DefaultGODEBUG ${#o} bytes${o:+: $o}"
	fi
}

# expect BIN DESC CHECK: what the case claims the binary is.
expect() {
	local bin=$1 desc=$2 check=$3 v
	case $check in
	static | dynamic | pie | stripped | no-sections)
		if [ $have_readelf = 0 ]; then
			skip "$desc: $check" "readelf not installed"
			return
		fi
		;;
	esac
	case $check in
	static) ! readelf -lW "$bin" | grep -q 'INTERP'; ok $? "$desc: static (no ELF interpreter)" ;;
	dynamic)
		readelf -lW "$bin" | grep -q 'Requesting program interpreter' && readelf -dW "$bin" | grep -q 'NEEDED.*libc'
		ok $? "$desc: dynamic (ELF interpreter, needs libc)"
		;;
	pie) readelf -hW "$bin" | grep -Eq 'Type:[[:space:]]+DYN'; ok $? "$desc: PIE (ELF type DYN)" ;;
	stripped)
		! readelf -SW "$bin" | grep -q '\.symtab' && readelf -SW "$bin" | grep -q '\.go\.buildinfo'
		ok $? "$desc: stripped (no .symtab; .go.buildinfo kept)"
		;;
	no-sections)
		readelf -hW "$bin" | grep -Eq 'Number of section headers:[[:space:]]+0$'
		ok $? "$desc: no section headers"
		;;
	long)
		v=$(setting "$tmp/oracle" DefaultGODEBUG)
		[ ${#v} -gt 511 ]
		ok $? "$desc: DefaultGODEBUG longer than 511 bytes (${#v}; the old buffer cut it)"
		;;
	godebug:*)
		v=$(setting "$tmp/oracle" DefaultGODEBUG)
		case ",$v," in *",${check#godebug:},"*) true ;; *) false ;; esac
		ok $? "$desc: DefaultGODEBUG holds ${check#godebug:}"
		;;
	version:*)
		v=$(head -n 1 "$tmp/oracle")
		case $v in *"${check#version:}"*) true ;; *) false ;; esac
		ok $? "$desc: version says ${check#version:}"
		;;
	*) ok 1 "$desc: unknown check $check" ;;
	esac
}

# one VARIANT FIXTURE "CHECKS" [VAR=VALUE...] [-- go build flags...]
#   CHECKS: see expect; "sectionless" also reads a copy without section
#   headers, against go version -m of the original (the build info bytes
#   are the same; Go 1.27 no longer reads a binary without sections, and
#   older Go not an internally linked PIE).
one() {
	local variant=$1 fixture=$2 checks=$3 envs=() flags=() c line rc go minor bin desc tag
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	flags=("$@")
	desc="$variant $fixture${envs[*]:+ ${envs[*]}}${flags[*]:+ ${flags[*]}}"
	tag=$(printf '%s' "$variant-$fixture-${envs[*]}-${flags[*]}" | tr -c 'A-Za-z0-9.=-' '_')
	bin=$out/$tag
	line=$(env CGO_ENABLED=0 "${envs[@]}" "$gobuild" "$variant" "$fixtures/$fixture" "$bin" "${flags[@]}" 2>"$tmp/build.err")
	rc=$?
	[ $rc -eq 3 ] || [ -z "$line" ] || echo "# $line"
	if [ $rc -eq 3 ]; then
		skip "$desc: gotune reads what go version -m reads" "${line#*: skipped: }"
		return
	elif [ $rc -ne 0 ]; then
		ok 1 "$desc: tests/gobuild builds it (exit $rc)"
		diag <"$tmp/build.err"
		return
	fi
	case $variant in go119) minor=1.19 ;; go126*) minor=1.26 ;; go127) minor=1.27 ;; esac
	go=$("$gobuild" --go "$minor" 2>/dev/null)
	if ! oracle "$go" "$bin"; then
		ok 1 "$desc: go version -m (Go $minor) reads it"
		diag <"$tmp/oracle"
		return
	fi
	compare "$bin" "$desc"
	for c in $checks; do
		if [ "$c" = sectionless ]; then
			sectionless "$bin" "$tmp/nosh"
			expect "$tmp/nosh" "$desc, section headers removed" no-sections
			compare "$tmp/nosh" "$desc, section headers removed" "$bin"
		else
			expect "$bin" "$desc" "$c"
		fi
	done
}

for v in go119 go126 go127; do
	one "$v" plain "static sectionless"
	one "$v" cgo "dynamic sectionless" CGO_ENABLED=1
	one "$v" plain "pie sectionless" -- -buildmode=pie
	one "$v" plain "stripped sectionless" -- "-ldflags=-s -w"
done
for v in go126 go127; do
	# An externally linked PIE (cgo): laid out as a C linker does.
	one "$v" cgo "pie dynamic sectionless" CGO_ENABLED=1 -- -buildmode=pie
	one "$v" godebug-directive "static godebug:containermaxprocs=0 godebug:panicnil=1"
	one "$v" godebug-block "godebug:containermaxprocs=0 godebug:updatemaxprocs=0"
	one "$v" godebug-line "godebug:containermaxprocs=0"
	# A GOEXPERIMENT build: "go1.26.8-X:nogreenteagc".
	one "$v" plain "version:X:nogreenteagc" GOEXPERIMENT=nogreenteagc
done
echo "# Go 1.19: no //go:debug (Go 1.21) or go.mod godebug (Go 1.23) cases: that Go has neither"
one go126-godebug plain "godebug:containermaxprocs=0"
# go.mod "go 1.19" under Go 1.26: the longest DefaultGODEBUG there is.
one go126-mod119 plain "long godebug:containermaxprocs=0 godebug:updatemaxprocs=0"

echo "1..$n"
[ "$failed" -eq 0 ]
