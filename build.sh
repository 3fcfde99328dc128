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
#   ./build.sh dist VERSION [DIR]  the release archives of VERSION (e.g. 0.2.0) into
#                        DIR (default dist/), checked (docs/RELEASE.md)
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

# need_go: a Go new enough for go.mod. Debian's golang-go may be older
# than this module needs; then it says so, rather than letting go fail on
# the go.mod line (or try to download a toolchain it cannot reach).
need_go() {
	need go golang-go
	local want have
	want=$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' go.mod)
	have=$(go env GOVERSION | sed 's/^go//; s/[^0-9.].*//')
	[ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" = "$want" ] ||
		die "go.mod needs Go $want or later; $(command -v go) is $have (Debian's golang-go may be too old: install Go from https://go.dev/dl/ and put it first on PATH)"
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

VERSION=$(sed -n 's/^var Version = "\(.*\)"/\1/p' core/version.go)

# cmake_version_file VERSION GOARCH OUT: the CMake package's version file,
# which find_package(ImSDK 0.1 CONFIG) needs, for a Linux or Windows
# (GOOS) build of GOARCH.
cmake_version_file() {
	local version=$1 goos=$2 goarch=$3 out=$4
	local system=Linux processor=x86_64 processor_re='^([xX]86_64|AMD64|amd64|x64)$'
	[ "$goarch" = arm64 ] && processor=aarch64 processor_re='^(aarch64|ARM64|arm64)$'
	[ "$goos" = windows ] && system=Windows
	local numeric=${version%%[-+]*}
	sed -e "s#@VERSION@#$version#g" -e "s#@CMAKE_VERSION@#$numeric#g" -e "s#@MAJOR@#${numeric%%.*}#g" \
		-e "s#@SYSTEM@#$system#g" -e "s#@PROCESSOR@#$processor#g" -e "s#@PROCESSOR_RE@#$processor_re#g" \
		bindings/c/ImSDKConfigVersion.cmake.in >"$out"
}

build() {
	need_go
	need gcc gcc # cgo, for libImSDK
	mkdir -p "$BUILD/bin" "$BUILD/lib/pkgconfig" "$BUILD/lib/cmake/ImSDK" "$BUILD/include"
	say "building imstatusd"
	go build -trimpath -o "$BUILD/bin/imstatusd" ./cmd/imstatusd
	say "building libImSDK.so $VERSION"
	go build -trimpath -buildmode=c-shared -ldflags="-extldflags=-Wl,-soname,libImSDK.so" \
		-o "$BUILD/lib/libImSDK.so" ./capi
	rm -f "$BUILD/lib/libImSDK.h" # cgo's header; users read include/
	cp include/*.h "$BUILD/include/"
	sed -e "s|@VERSION@|$VERSION|g" bindings/c/ImSDK.pc.in >"$BUILD/lib/pkgconfig/ImSDK.pc"
	cp bindings/c/ImSDKConfig.cmake "$BUILD/lib/cmake/ImSDK/"
	cmake_version_file "$VERSION" linux amd64 "$BUILD/lib/cmake/ImSDK/ImSDKConfigVersion.cmake"
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
	local docs=(--docs docs/BENCHMARKS.md --readme README.md) args=()
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
	need_go
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
	need chromium chromium # the admin console's browser tests (server/console)
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
	go test -race -count=1 -timeout 15m ./...
	# A count, not seconds: Go 1.26's fuzzing can fail a target with a
	# bare "context deadline exceeded" when -fuzztime's clock runs out
	# mid-input on a busy machine (golang/go#75804, fixed in Go 1.27).
	say "fuzz smoke: every fuzz target, briefly (./build.sh fuzz runs them longer)"
	fuzz 1000x
	IMSTATUS_CROSS_TESTS=1 dist 0.2.0-ci.1 "$BUILD/dist-ci" # the release archives, built and checked (docs/RELEASE.md)
	soak 3m 15m
}

# soak DURATION [TIMEOUT]: TestSoak (cmd/imstatusd) with thousands of
# clients on three nodes over Redis, faults each round; its figures go to
# build/soak.txt, heap profiles of the nodes never killed to
# build/soak-heaps. It fails if a view is lost, stale or out of order.
soak() {
	local dur=${1:-10m} timeout=${2:-0}
	need_go
	need gcc gcc
	need redis-server redis-server
	need redis-cli redis-tools
	mkdir -p "$BUILD"
	rm -rf "$BUILD/soak.txt" "$BUILD/soak-logs" "$BUILD/soak-heaps"
	say "soak: $dur, 3000 clients, 3 nodes over Redis (log: build/soak.log)"
	local rc=0
	go test -count=1 -v -run '^TestSoak$' -timeout "$timeout" ./cmd/imstatusd \
		-args -soak "$dur" -soak-clients 3000 -soak-report "$BUILD/soak.txt" -soak-logs "$BUILD/soak-logs" -soak-heaps "$BUILD/soak-heaps" >"$BUILD/soak.log" 2>&1 || rc=$?
	grep -E 'soak_test.go|^(--- |FAIL|ok )' "$BUILD/soak.log" || true
	[ "$rc" -eq 0 ] || die "the soak failed (exit $rc): build/soak.log; the nodes' logs: build/soak-logs"
	[ -s "$BUILD/soak.txt" ] || die "the soak wrote no report"
	cat "$BUILD/soak.txt"
	# What the live heap of a never-killed node gained, by allocation site:
	# go tool pprof -top -inuse_space -base FIRST LAST (a leak keeps growing).
	echo "heap profiles of nodes 1 and 2 at the first and last quiet point: build/soak-heaps"
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
	need_go
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

# check_semver V: dies unless V is a semantic version (semver.org 2.0.0):
# MAJOR.MINOR.PATCH, then an optional -PRERELEASE and +BUILD.
check_semver() {
	local v=$1 num='(0|[1-9][0-9]*)' id='[0-9A-Za-z-]+' i ids
	local want="want MAJOR.MINOR.PATCH with an optional -PRERELEASE and +BUILD (semver.org), such as 0.2.0 or 1.0.0-rc.1"
	case $v in v[0-9]*) die "dist: '$v' is not a semantic version: drop the v ($want)" ;; esac
	[[ $v =~ ^$num\.$num\.$num(-$id(\.$id)*)?(\+$id(\.$id)*)?$ ]] || die "dist: '$v' is not a semantic version: $want"
	if [[ $v =~ ^[0-9.]+-([^+]*) ]]; then
		IFS=. read -ra ids <<<"${BASH_REMATCH[1]}"
		for i in "${ids[@]}"; do
			[[ $i =~ ^0[0-9]+$ ]] && die "dist: '$v' is not a semantic version: the numeric pre-release part $i has a leading zero"
		done
	fi
	return 0
}

# dist VERSION [DIR]: the release archives of VERSION into DIR (default
# dist/), then tests/dist/check_dist.sh on them (docs/RELEASE.md):
#   libImSDK-VERSION-linux-amd64.tar.gz, libImSDK-VERSION-linux-arm64.tar.gz,
#   libImSDK-VERSION-windows-amd64.zip: the shared library and the static
#       archive, include/, a relocatable lib/pkgconfig/ImSDK.pc and CMake
#       package (lib/cmake/ImSDK, with its version file); on Windows the DLL
#       is in bin/ and lib/ has its .def and import library (mingw)
#   imstatusd-VERSION-linux-amd64.tar.gz, imstatusd-VERSION-linux-arm64.tar.gz
#   com.imstatus.imsdk.unity-VERSION.tgz: the Unity package, with the Linux
#       x86_64 and Windows x86_64 plugins and their .meta files in Plugins/
#   SHA256SUMS
# Each has LICENSE. VERSION reaches TIMGetSDKVersion, imstatusd --version,
# ImSDK.pc, the CMake version file and the Unity package.json.
dist() {
	local version=${1:-} out=${2:-$ROOT/dist}
	[ -n "$version" ] || die "dist: give the version: ./build.sh dist 0.2.0 [DIR]"
	check_semver "$version"
	need_go
	need gcc gcc
	need x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64
	need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
	need x86_64-w64-mingw32-dlltool binutils-mingw-w64-x86-64
	need zip zip
	need unzip unzip # the check
	need pkg-config pkg-config
	need cmake cmake
	need make make
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	local stage="$BUILD/dist/$version" t0=$SECONDS
	rm -rf "$stage"
	mkdir -p "$stage"
	# Archive entries get the time of the last commit, not of the build.
	DIST_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

	local target goos goarch cc lib
	for target in linux/amd64/gcc linux/arm64/aarch64-linux-gnu-gcc windows/amd64/x86_64-w64-mingw32-gcc; do
		IFS=/ read -r goos goarch cc <<<"$target"
		dist_lib "$goos" "$goarch" "$cc" "$stage/libImSDK-$version-$goos-$goarch" "$version"
	done
	for goarch in amd64 arm64; do
		say "imstatusd $version linux/$goarch (CGO_ENABLED=0: one static binary)"
		mkdir -p "$stage/imstatusd-$version-linux-$goarch"
		CGO_ENABLED=0 GOOS=linux GOARCH=$goarch go build -trimpath -ldflags="-X main.version=$version" \
			-o "$stage/imstatusd-$version-linux-$goarch/imstatusd" ./cmd/imstatusd
		cp LICENSE "$stage/imstatusd-$version-linux-$goarch/"
	done
	dist_unity "$stage" "$version"

	say "archives into $out"
	local archives=() name
	for name in "libImSDK-$version-linux-amd64" "libImSDK-$version-linux-arm64" \
		"imstatusd-$version-linux-amd64" "imstatusd-$version-linux-arm64"; do
		dist_tar "$stage" "$name" "$out/$name.tar.gz"
		archives+=("$name.tar.gz")
	done
	name="libImSDK-$version-windows-amd64"
	rm -f "$out/$name.zip"
	(cd "$stage" && find "$name" -exec touch -h -d "@$DIST_EPOCH" {} + &&
		find "$name" | LC_ALL=C sort | TZ=UTC zip -X -q -@ "$out/$name.zip")
	archives+=("$name.zip")
	name="com.imstatus.imsdk.unity-$version.tgz"
	dist_tar "$stage/unity" package "$out/$name"
	archives+=("$name")
	(cd "$out" && sha256sum -- "${archives[@]}" >SHA256SUMS)
	local built=$((SECONDS - t0))
	(cd "$out" && ls -l -- "${archives[@]}" SHA256SUMS)
	say "dist $version: built in ${built}s; checking the archives"
	bash tests/dist/check_dist.sh "$out" "$version"
	say "dist $version: built in ${built}s, checked in $((SECONDS - t0 - built))s: $out"
}

# dist_lib GOOS GOARCH CC TREE VERSION: libImSDK for one target, laid out
# under TREE as an installed prefix.
dist_lib() {
	local goos=$1 goarch=$2 cc=$3 tree=$4 version=$5
	local ldver="-X github.com/imstatus/imstatus/core.Version=$version"
	local env=(CGO_ENABLED=1 GOOS="$goos" GOARCH="$goarch" CC="$cc")
	mkdir -p "$tree/include" "$tree/lib/pkgconfig" "$tree/lib/cmake/ImSDK"
	if [ "$goos" = windows ]; then
		say "libImSDK $version $goos/$goarch: ImSDK.dll, its .def and import library"
		mkdir -p "$tree/bin"
		# No time stamp in the DLL, and no paths in the link's flags (Go's
		# build ID hashes them): the same commit builds the same bytes. So
		# the .def and the import library are made from the DLL after.
		env "${env[@]}" go build -trimpath -buildmode=c-shared \
			-ldflags="$ldver -extldflags=-Wl,--no-insert-timestamp" -o "$tree/bin/ImSDK.dll" ./capi
		rm -f "$tree/bin/ImSDK.h"
		{
			printf 'LIBRARY "ImSDK.dll"\nEXPORTS\n'
			x86_64-w64-mingw32-objdump -p "$tree/bin/ImSDK.dll" |
				awk '/\[Ordinal\/Name Pointer\] Table/ { on = 1; next } on && /^\t\[/ { print "    " $NF; next } { on = 0 }'
		} >"$tree/lib/ImSDK.def"
		grep -qx '    TIMGetSDKVersion' "$tree/lib/ImSDK.def" || die "dist: no exports read from ImSDK.dll"
		x86_64-w64-mingw32-dlltool --deterministic-libraries -d "$tree/lib/ImSDK.def" -D ImSDK.dll \
			-l "$tree/lib/libImSDK.dll.a"
	else
		say "libImSDK $version $goos/$goarch: libImSDK.so"
		env "${env[@]}" go build -trimpath -buildmode=c-shared \
			-ldflags="$ldver -extldflags=-Wl,-soname,libImSDK.so" -o "$tree/lib/libImSDK.so" ./capi
	fi
	say "libImSDK $version $goos/$goarch: libImSDK.a (c-archive)"
	env "${env[@]}" go build -trimpath -buildmode=c-archive -ldflags="$ldver" -o "$tree/lib/libImSDK.a" ./capi
	rm -f "$tree/lib/libImSDK.h" # cgo's header; users read include/
	cp include/*.h "$tree/include/"
	sed "s|@VERSION@|$version|g" bindings/c/ImSDK.pc.in >"$tree/lib/pkgconfig/ImSDK.pc"
	cp bindings/c/ImSDKConfig.cmake "$tree/lib/cmake/ImSDK/"
	cmake_version_file "$version" "$goos" "$goarch" "$tree/lib/cmake/ImSDK/ImSDKConfigVersion.cmake"
	cp LICENSE "$tree/"
}

# dist_unity STAGE VERSION: the Unity package into STAGE/unity/package (the
# layout of npm pack, which Unity's "Install package from tarball" reads),
# with VERSION in package.json and the plugins of STAGE's Linux x86_64 and
# Windows x86_64 trees installed by Tools~/install-plugins.sh with their .meta
# files (fixed GUIDs there, one per plugin path).
dist_unity() {
	local stage=$1 version=$2
	local pkg="$stage/unity/package"
	say "Unity package com.imstatus.imsdk.unity $version"
	mkdir -p "$pkg"
	# Plugins a developer installed into the checkout are not the release's;
	# git's files are not the package's.
	tar -C bindings/unity --exclude='./Plugins/*libImSDK*' --exclude='./Plugins/*ImSDK.dll*' \
		--exclude=.gitignore --exclude=.gitkeep -cf - . | tar -C "$pkg" -xf -
	sed -i -E "s/^(  \"version\": )\"[^\"]*\",\$/\\1\"$version\",/" "$pkg/package.json"
	grep -qxF "  \"version\": \"$version\"," "$pkg/package.json" || die "dist: could not set the version in the Unity package's package.json"
	# Unity ignores a file without a .meta in an immutable (tarball) package.
	cp LICENSE "$pkg/LICENSE.md"
	unity_text_meta com.imstatus.imsdk.unity/LICENSE.md >"$pkg/LICENSE.md.meta"
	bash "bindings/unity/Tools~/install-plugins.sh" --dest "$pkg/Plugins" \
		--linux "$stage/libImSDK-$version-linux-amd64/lib/libImSDK.so" \
		--windows "$stage/libImSDK-$version-windows-amd64/bin/ImSDK.dll" >/dev/null
}

# unity_text_meta PATH: the .meta of a text asset, its GUID derived from PATH
# (package name/path in the package), so every build gives the same.
unity_text_meta() {
	local guid
	guid=$(printf '%s' "$1" | md5sum | cut -c1-32)
	printf 'fileFormatVersion: 2\nguid: %s\nTextScriptImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n' "$guid"
}

# dist_tar DIR NAME ARCHIVE: ARCHIVE (.tar.gz or .tgz) of DIR/NAME, with
# fixed owners, modes and times.
dist_tar() {
	tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner --mode='u+rwX,go+rX,go-w' \
		--mtime="@$DIST_EPOCH" -cf - "$2" | gzip -n >"$3"
}

case "${1:-build}" in
build) build ;;
test) run_tests ;;
demo) demo ;;
fuzz) fuzz "${2:-30}" ;;
soak) soak "${2:-10m}" ;;
bench) shift; bench "$@" ;;
cross) cross ;;
dist) shift; dist "$@" ;;
*) die "unknown command '$1' (build, test, demo, fuzz, soak, bench, cross, dist)" ;;
esac
