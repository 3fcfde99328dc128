#!/usr/bin/env bash
# imstatus: the one entry point.
#   ./build.sh [build]   build everything into build/ (server: build/bin/imstatusd)
#   ./build.sh test      run every test, a short fuzz of each target, a 3-minute soak (what CI runs)
#   ./build.sh demo      start a server on loopback and run the demo clients against it
#   ./build.sh fuzz [S]  run each fuzz target for S seconds (default 30), or Nx: N inputs
#   ./build.sh soak [D]  soak three nodes over Redis with 3000 clients and faults
#                        for duration D (default 10m; ./build.sh test runs 3m)
#   ./build.sh bench [--quick] [--against REF]  benchmark imstatusd against bare baselines,
#                        and beside the imstatusd of git ref REF (docs/BENCHMARKS.md)
#   ./build.sh cross     libImSDK for other targets: Windows x64 DLL, Linux arm64,
#                        and a static archive (the iOS form) into build/cross/
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
BUILD="$ROOT/build"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# apt_install PACKAGE: installs a Debian package when we are root; fails
# loudly otherwise.
apt_install() {
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		say "installing $1"
		if [ -z "${APT_UPDATED:-}" ]; then
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
			APT_UPDATED=1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null || die "could not install $1"
	else
		die "Debian package $1 is required; install it (apt-get install $1) and run again"
	fi
}

# need CMD PACKAGE: makes sure CMD exists, installing PACKAGE if it can.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	apt_install "$2"
	command -v "$1" >/dev/null 2>&1 || die "$1 is still missing after installing $2"
}

# need_file GLOB_DIRS NAME PACKAGE: makes sure a file NAME exists under the
# directories, installing PACKAGE if it can.
need_file() {
	local dirs=$1 name=$2 pkg=$3
	# shellcheck disable=SC2086
	[ -n "$(find $dirs -name "$name" 2>/dev/null | head -1)" ] && return 0
	apt_install "$pkg"
	# shellcheck disable=SC2086
	[ -n "$(find $dirs -name "$name" 2>/dev/null | head -1)" ] || die "$name is still missing after installing $pkg"
}

VERSION=$(sed -n 's/^const Version = "\(.*\)"/\1/p' core/version.go)

build() {
	need go golang-go
	need gcc gcc # cgo, for libImSDK
	mkdir -p "$BUILD/bin" "$BUILD/lib/pkgconfig" "$BUILD/lib/cmake/ImSDK" "$BUILD/include"
	say "building imstatusd"
	go build -trimpath -o "$BUILD/bin/imstatusd" ./cmd/imstatusd
	say "building libImSDK.so $VERSION"
	go build -trimpath -buildmode=c-shared -ldflags="-extldflags=-Wl,-soname,libImSDK.so" \
		-o "$BUILD/lib/libImSDK.so" ./capi
	rm -f "$BUILD/lib/libImSDK.h" # cgo's header; users read include/
	cp include/*.h "$BUILD/include/"
	sed -e "s|@PREFIX@|$BUILD|g" -e "s|@VERSION@|$VERSION|g" bindings/c/ImSDK.pc.in >"$BUILD/lib/pkgconfig/ImSDK.pc"
	cp bindings/c/ImSDKConfig.cmake "$BUILD/lib/cmake/ImSDK/"
	local prog
	for prog in bindings/c/example.c:imsdk_example bench/latency.c:latency; do
		gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -I"$BUILD/include" -o "$BUILD/bin/${prog#*:}" \
			"${prog%%:*}" -L"$BUILD/lib" -lImSDK -pthread -Wl,-rpath,'$ORIGIN/../lib'
	done
}

# start_server LOG [ARGS...]: runs imstatusd on a free loopback port in the
# background; sets SERVER_PID and SERVER_ADDR, and stops it at exit.
start_server() {
	local log=$1
	shift
	"$BUILD/bin/imstatusd" --addr 127.0.0.1:0 "$@" >"$log" 2>&1 &
	SERVER_PID=$!
	trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
	for _ in $(seq 100); do
		grep -q '^listening on' "$log" && break
		kill -0 $SERVER_PID 2>/dev/null || { cat "$log"; die "imstatusd exited"; }
		sleep 0.1
	done
	SERVER_ADDR=$(sed -n 's/^listening on //p' "$log")
	[ -n "$SERVER_ADDR" ] || { cat "$log"; die "imstatusd did not start"; }
}

# old_engine REF: builds the imstatusd of git ref REF (once per commit) into
# build/old/<commit>/imstatusd, from that commit's files exported into a
# temporary directory (removed after), and sets OLD_BIN to it, relative to
# the checkout.
old_engine() {
	local ref=$1 sha
	sha=$(git rev-parse --verify --quiet "$ref^{commit}") || die "--against: $ref is not a commit of this repository"
	local dir="$BUILD/old/$sha"
	if [ ! -x "$dir/imstatusd" ]; then
		say "building the imstatusd of $ref ($sha) into ${dir#"$ROOT"/}"
		mkdir -p "$dir"
		(
			src=$(mktemp -d)
			trap 'rm -rf "$src"' EXIT
			git archive "$sha" | tar -x -C "$src"
			cd "$src"
			go build -trimpath -o "$dir/imstatusd.part" ./cmd/imstatusd
		) || die "could not build the imstatusd of $ref"
		mv "$dir/imstatusd.part" "$dir/imstatusd"
	fi
	OLD_BIN=${dir#"$ROOT"/}/imstatusd
}

# bench [--quick] [--against REF] [IMBENCH FLAGS...]: the benchmark of
# docs/BENCHMARKS.md. imbench (cmd/imbench) starts build/bin/imstatusd on
# loopback, runs every scenario against it and beside bare gorilla/websocket
# baselines measured in the same run, shows progress, and writes
# bench/results.json, bench/results.md, bench/latency_cdf.png,
# bench/memory_per_conn.png and the results section of docs/BENCHMARKS.md.
# --quick (small loads, under 2 minutes) writes build/bench-quick/ instead.
# --against REF also measures the imstatusd of git ref REF (built into
# build/old/<commit>/) in the same run, its figures beside the checkout's.
# Other flags go to imbench (build/bin/imbench --help), e.g. --server-profile DIR.
bench() {
	build
	say "building imbench and cboundary"
	go build -trimpath -o "$BUILD/bin/imbench" ./cmd/imbench
	gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -I"$BUILD/include" -o "$BUILD/bin/cboundary" \
		bench/cboundary.c -L"$BUILD/lib" -lImSDK -pthread -Wl,-rpath,'$ORIGIN/../lib'
	local rel=${BUILD#"$ROOT"/} # paths relative to the checkout read better in the results
	local out=bench against=""
	local docs=(--docs docs/BENCHMARKS.md) args=()
	while [ $# -gt 0 ]; do
		case $1 in
		--against)
			[ $# -ge 2 ] || die "--against needs a git ref"
			against=$2
			shift 2
			continue
			;;
		--against=*) against=${1#--against=} ;;
		--quick)
			out=$rel/bench-quick
			docs=()
			args+=("$1")
			;;
		*) args+=("$1") ;;
		esac
		shift
	done
	if [ -n "$against" ]; then
		old_engine "$against"
		args+=(--against "$OLD_BIN")
	fi
	command -v mono >/dev/null 2>&1 && command -v mcs >/dev/null 2>&1 ||
		printf 'build.sh: mono or mcs missing: the C boundary from Mono is not measured (apt-get install mono-mcs mono-runtime)\n' >&2
	say "imbench ${args[*]} (output in $out)"
	"$rel/bin/imbench" run --bin "$rel/bin" --lib "$rel/lib" --bench-src bench --out "$out" "${docs[@]}" "${args[@]}"
}

run_tests() {
	need go golang-go
	need gcc gcc # the race detector and libImSDK need cgo
	need mcs mono-mcs # the Unity package's C# tests
	need mono mono-runtime
	need_file "/usr/lib/mono /usr/lib/cli" Newtonsoft.Json.dll libnewtonsoft-json-cil-dev
	need redis-server redis-server # the Redis engine's tests: standalone and a 3-master cluster
	need redis-cli redis-tools
	# The C suite on other targets (tests/cross_test.go): ImSDK.dll under
	# Wine, libImSDK.so for linux/arm64 under qemu-user.
	need x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64
	need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
	need_file /usr/aarch64-linux-gnu/include stdio.h libc6-dev-arm64-cross # only recommended by the above
	need wine wine
	need_file /usr/lib/wine wine64 wine64
	need qemu-aarch64-static qemu-user-static
	say "gofmt"
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
	[ -z "$unformatted" ] || die "gofmt would change: $unformatted"
	say "go vet"
	go vet ./...
	say "public headers alone, as C11 and C++11"
	bash tests/c/headers/check_headers.sh include
	build
	say "go test -race"
	# IMSTATUS_CROSS_TESTS=1: the cross tests fail, not skip, without their tools.
	IMSTATUS_CROSS_TESTS=1 go test -race -count=1 -timeout 15m ./...
	# A count, not seconds: Go 1.26's fuzzing can fail a target with a
	# bare "context deadline exceeded" when -fuzztime's clock runs out
	# mid-input on a busy machine (golang/go#75804, fixed in Go 1.27).
	say "fuzz smoke: every fuzz target, briefly (./build.sh fuzz runs them longer)"
	fuzz 1000x
	soak 3m 15m
}

# soak DURATION [TIMEOUT]: TestSoak (cmd/imstatusd) with thousands of
# clients on three nodes over Redis, faults each round; its figures go to
# build/soak.txt. It fails if a view is lost, stale or out of order.
soak() {
	local dur=${1:-10m} timeout=${2:-0}
	need go golang-go
	need gcc gcc
	need redis-server redis-server
	need redis-cli redis-tools
	mkdir -p "$BUILD"
	rm -f "$BUILD/soak.txt"
	say "soak: $dur, 3000 clients, 3 nodes over Redis (log: build/soak.log)"
	local rc=0
	go test -count=1 -v -run '^TestSoak$' -timeout "$timeout" ./cmd/imstatusd \
		-args -soak "$dur" -soak-clients 3000 -soak-report "$BUILD/soak.txt" >"$BUILD/soak.log" 2>&1 || rc=$?
	grep -E 'soak_test.go|^(--- |FAIL|ok )' "$BUILD/soak.log" || true
	[ "$rc" -eq 0 ] || die "the soak failed (exit $rc): build/soak.log"
	[ -s "$BUILD/soak.txt" ] || die "the soak wrote no report"
	cat "$BUILD/soak.txt"
}

# fuzz BUDGET: each fuzz target in turn (found in the sources, so that no
# package's test binary is built just to list them), for BUDGET seconds or,
# as Nx, N inputs. A crasher fails the run and is kept under the package's
# testdata/fuzz, to become a regression test.
fuzz() {
	local budget=${1:-30}
	local file dir target n=0
	case $budget in
	*x) ;;
	*[!0-9]* | "") die "fuzz: want SECONDS or a count of inputs as Nx, not '$budget'" ;;
	*) budget=${budget}s ;;
	esac
	while read -r file target; do
		dir=./$(dirname "$file")
		say "fuzz $dir $target ($budget)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$budget" "$dir" </dev/null
		n=$((n + 1))
	done < <(grep -rE --include='*_test.go' --exclude-dir=build --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]+' . |
		sed -E 's/^\.\/([^:]+):func (Fuzz[A-Za-z0-9_]+).*/\1 \2/' | sort)
	[ "$n" -gt 0 ] || die "no fuzz targets found"
	say "$n fuzz targets ran $budget each"
}

demo() {
	build
	local dir log key
	dir=$(mktemp -d)
	log=$dir/imstatusd.log
	say "starting imstatusd on 127.0.0.1 (development app)"
	start_server "$log" --data "$dir/data"
	local addr=$SERVER_ADDR pid=$SERVER_PID
	key=$(sed -n 's/.*secret_key=\([0-9a-f]*\).*/\1/p' "$log")
	grep -E '^(development app|listening)' "$log"
	sig() { "$BUILD/bin/imstatusd" usersig --sdkappid 1400000000 --key "$key" --user "$1"; }
	export IMSDK_SERVER_ADDR=$addr
	say "two C programs on libImSDK: bob watches alice; alice logs in, sets a status, logs out"
	"$BUILD/bin/imsdk_example" watch bob "$(sig bob)" alice &
	local watcher=$!
	"$BUILD/bin/imsdk_example" act alice "$(sig alice)"
	wait $watcher || die "the watcher did not see alice's changes"
	say "stopping imstatusd (SIGTERM)"
	kill -TERM $pid
	wait $pid || die "imstatusd did not exit cleanly"
	rm -rf "$dir"
	say "demo done"
}

# cross: the targets this Linux machine can build; macOS, iOS and Android
# need their vendors' toolchains (bindings/unity/Plugins/README.md).
cross() {
	need go golang-go
	need gcc gcc
	need x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64
	need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
	local out="$BUILD/cross"
	mkdir -p "$out/windows-amd64" "$out/linux-arm64" "$out/linux-amd64-static"
	say "ImSDK.dll (windows/amd64)"
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
		go build -trimpath -buildmode=c-shared -o "$out/windows-amd64/ImSDK.dll" ./capi
	say "libImSDK.so (linux/arm64)"
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
		go build -trimpath -buildmode=c-shared -ldflags="-extldflags=-Wl,-soname,libImSDK.so" \
		-o "$out/linux-arm64/libImSDK.so" ./capi
	say "libImSDK.a (linux/amd64, c-archive: the form iOS links statically)"
	go build -trimpath -buildmode=c-archive -o "$out/linux-amd64-static/libImSDK.a" ./capi
	gcc -std=c11 -D_GNU_SOURCE -Wall -Werror -Iinclude -o "$out/linux-amd64-static/imsdk_example" \
		bindings/c/example.c "$out/linux-amd64-static/libImSDK.a" -pthread
	rm -f "$out"/*/*.h
	ls -l "$out"/*/
}

case "${1:-build}" in
build) build ;;
test) run_tests ;;
demo) demo ;;
fuzz) fuzz "${2:-30}" ;;
soak) soak "${2:-10m}" ;;
bench) shift; bench "$@" ;;
cross) cross ;;
*) die "unknown command '$1' (build, test, demo, fuzz, soak, bench, cross)" ;;
esac
