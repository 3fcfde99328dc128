#!/usr/bin/env bash
# check_dist.sh DIR VERSION: checks the release archives that
# `./build.sh dist VERSION DIR` wrote, the way their users use them
# (./build.sh dist runs it; ./build.sh test runs dist). It fails at the first
# check that does not hold. Checked:
#
#  - SHA256SUMS names exactly the six archives and matches them; each
#    archive unpacks into one directory named after it and has LICENSE;
#    no text file in them names the checkout's path (relocatable).
#  - libImSDK linux/amd64, unpacked into a temporary prefix:
#    bindings/c/example.c compiled with nothing but
#    `pkg-config --cflags --libs ImSDK` (PKG_CONFIG_PATH into the tree), and
#    against lib/libImSDK.a; with CMake, find_package(ImSDK MAJOR.MINOR
#    CONFIG REQUIRED) and the targets ImSDK::ImSDK and ImSDK::ImSDK_static.
#    The four programs run in pairs (one watches, one acts) against the
#    archive's own imstatusd and must report TIMGetSDKVersion = VERSION.
#    find_package(ImSDK 9.0), (MAJOR).(MINOR+1) and the arm64 tree for this
#    host must fail: the version file works.
#  - imstatusd: `imstatusd --version` says VERSION; both are static binaries
#    for their CPU.
#  - libImSDK linux/arm64 and windows/amd64: the example cross-compiled
#    against each tree through pkg-config and CMake (mingw: the import
#    library; and the static archive); ImSDK.dll needs no DLL but Windows'
#    own. Run under qemu-user and Wine against the server when those are
#    installed (required when IMSTATUS_CROSS_TESTS=1, as in ./build.sh test);
#    otherwise the script says what it did not run, and checks that the
#    libraries hold VERSION.
#  - The Unity package: package.json's name and VERSION (nothing else
#    changed); the Linux x86_64 and Windows x86_64 plugins are the archives'
#    libraries, each with the .meta that enables it for its platform and CPU
#    only; every asset has a .meta, every .meta an asset, no GUID twice;
#    rebuilding the .meta files gives the same GUIDs.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 DIR VERSION" >&2; exit 2; }
dir=$(cd "$1" && pwd)
version=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
numeric=${version%%[-+]*}
major=${numeric%%.*}
minor=${numeric#*.}
minor=${minor%%.*}

work=$(mktemp -d)
server_pid=""
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	printf 'check_dist.sh: FAIL: %s\n' "$*" >&2
	exit 1
}
ok() { printf '  ok: %s\n' "$*"; }
notrun() { printf '  NOT RUN: %s\n' "$*"; }

# tool NAME: whether NAME is installed; with IMSTATUS_CROSS_TESTS=1 it must be.
tool() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "${IMSTATUS_CROSS_TESTS:-}" != 1 ] || fail "$1 is required (IMSTATUS_CROSS_TESTS=1)"
	return 1
}

# --- the archives ----------------------------------------------------------

lin=libImSDK-$version-linux-amd64
arm=libImSDK-$version-linux-arm64
win=libImSDK-$version-windows-amd64
srv=imstatusd-$version-linux-amd64
srvarm=imstatusd-$version-linux-arm64
unity=com.imstatus.imsdk.unity-$version.tgz
archives=("$lin.tar.gz" "$arm.tar.gz" "$win.zip" "$srv.tar.gz" "$srvarm.tar.gz" "$unity")

echo "checking the archives of $version in $dir"
[ -f "$dir/SHA256SUMS" ] || fail "no SHA256SUMS"
[ "$(awk '{print $2}' "$dir/SHA256SUMS" | LC_ALL=C sort)" = "$(printf '%s\n' "${archives[@]}" | LC_ALL=C sort)" ] ||
	fail "SHA256SUMS does not name exactly the archives: $(cat "$dir/SHA256SUMS")"
(cd "$dir" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match the archives"
ok "SHA256SUMS: ${#archives[@]} archives"

x=$work/x
mkdir -p "$x"
for a in "${archives[@]}"; do
	case $a in
	*.zip) top=$(unzip -Z1 "$dir/$a" | cut -d/ -f1 | sort -u) want=${a%.zip} ;;
	*.tgz) top=$(tar -tzf "$dir/$a" | cut -d/ -f1 | sort -u) want=package ;;
	*) top=$(tar -tzf "$dir/$a" | cut -d/ -f1 | sort -u) want=${a%.tar.gz} ;;
	esac
	[ "$top" = "$want" ] || fail "$a unpacks into '$top', not into $want/ alone"
	case $a in
	*.zip) unzip -q "$dir/$a" -d "$x" ;;
	*.tgz) mkdir -p "$x/unity" && tar -xzf "$dir/$a" -C "$x/unity" ;;
	*) tar -xzf "$dir/$a" -C "$x" ;;
	esac
done
for t in "$lin" "$arm" "$win" "$srv" "$srvarm" unity/package; do
	lic=$x/$t/LICENSE
	[ "$t" = unity/package ] && lic=$x/$t/LICENSE.md
	cmp -s "$root/LICENSE" "$lic" || fail "$t: no LICENSE, or not the repository's"
done
ok "each archive is one directory, with LICENSE"
leak=$(grep -rIlF "$root" "$x" || true)
[ -z "$leak" ] || fail "these files name the checkout's path, so they would not work elsewhere: $leak"
ok "no text file names the checkout's path"

for t in "$lin" "$arm" "$win"; do
	for f in include/TIMCloud.h include/imstatus.h lib/libImSDK.a lib/pkgconfig/ImSDK.pc \
		lib/cmake/ImSDK/ImSDKConfig.cmake lib/cmake/ImSDK/ImSDKConfigVersion.cmake; do
		[ -s "$x/$t/$f" ] || fail "$t has no $f"
	done
	grep -qx 'prefix=${pcfiledir}/../..' "$x/$t/lib/pkgconfig/ImSDK.pc" || fail "$t: ImSDK.pc's prefix is not relative to the file"
	[ -z "$(find "$x/$t" -name '*.h' ! -path "$x/$t/include/*")" ] || fail "$t: cgo's generated header was left in the tree"
done
[ -s "$x/$lin/lib/libImSDK.so" ] && [ -s "$x/$arm/lib/libImSDK.so" ] || fail "no lib/libImSDK.so"
for f in bin/ImSDK.dll lib/libImSDK.dll.a lib/ImSDK.def; do
	[ -s "$x/$win/$f" ] || fail "$win has no $f"
done
ok "the library trees: include/, lib/ (shared and static), lib/pkgconfig, lib/cmake/ImSDK; Windows: bin/ImSDK.dll, its import library and .def"

# elf_machine FILE: the ELF machine of FILE.
elf_machine() { readelf -h "$1" | sed -n 's/^ *Machine: *//p'; }
# static_elf FILE: FILE has no program interpreter (a static executable).
static_elf() { ! grep -q 'INTERP' <<<"$(readelf -l "$1")"; }

[ "$(elf_machine "$x/$lin/lib/libImSDK.so")" = "Advanced Micro Devices X86-64" ] || fail "$lin: libImSDK.so is not x86-64"
[ "$(elf_machine "$x/$arm/lib/libImSDK.so")" = AArch64 ] || fail "$arm: libImSDK.so is not AArch64"
for t in "$lin" "$arm"; do
	grep -q 'Library soname: \[libImSDK.so\]' <<<"$(readelf -d "$x/$t/lib/libImSDK.so")" || fail "$t: libImSDK.so's SONAME is not libImSDK.so"
	grep -qw TIMGetSDKVersion <<<"$(nm -D --defined-only "$x/$t/lib/libImSDK.so")" || fail "$t: libImSDK.so does not export TIMGetSDKVersion"
done

# --- imstatusd ---------------------------------------------------------------

server=$x/$srv/imstatusd
[ "$(elf_machine "$server")" = "Advanced Micro Devices X86-64" ] && static_elf "$server" || fail "$srv: imstatusd is not a static x86-64 executable"
[ "$(elf_machine "$x/$srvarm/imstatusd")" = AArch64 ] && static_elf "$x/$srvarm/imstatusd" || fail "$srvarm: imstatusd is not a static AArch64 executable"
out=$("$server" --version) || fail "imstatusd --version failed: $out"
read -r _ v _ <<<"$out"
[ "$v" = "$version" ] || fail "imstatusd --version says '$out', not $version"
ok "imstatusd --version: $out; both imstatusd are static executables"
if tool qemu-aarch64-static; then
	out=$(qemu-aarch64-static "$x/$srvarm/imstatusd" --version) || fail "imstatusd (arm64) --version under qemu failed: $out"
	read -r _ v _ <<<"$out"
	[ "$v" = "$version" ] || fail "imstatusd (arm64, qemu) --version says '$out', not $version"
	ok "imstatusd (arm64, under qemu) --version: $out"
else
	notrun "imstatusd (arm64) under qemu: qemu-aarch64-static is not installed (Debian: qemu-user-static)"
	grep -qaF "$version" "$x/$srvarm/imstatusd" || fail "imstatusd (arm64) does not hold $version"
fi

log=$work/imstatusd.log
"$server" --addr 127.0.0.1:0 --data "$work/data" >"$log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
	grep -q '^listening on' "$log" && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$log"; fail "imstatusd exited"; }
	sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$log")
key=$(sed -n 's/.*secret_key=\([0-9a-f]*\).*/\1/p' "$log")
[ -n "$addr" ] && [ -n "$key" ] || { cat "$log"; fail "imstatusd did not start"; }
export IMSDK_SERVER_ADDR=$addr
ok "the archive's imstatusd serves on $addr"

# pair LABEL WATCHER ACTOR: the example programs, commands given as the names
# of arrays: WATCHER watches user <LABEL>a as <LABEL>w, while ACTOR logs in
# as <LABEL>a, sets a status, queries and logs out. Both must succeed and
# report libImSDK VERSION.
pair() {
	local label=$1
	local -n watcher=$2 actor=$3
	local w=${label}w a=${label}a wsig asig rc=0
	wsig=$("$server" usersig --sdkappid 1400000000 --key "$key" --user "$w")
	asig=$("$server" usersig --sdkappid 1400000000 --key "$key" --user "$a")
	timeout 120 "${watcher[@]}" watch "$w" "$wsig" "$a" >"$work/$label.watch" 2>&1 &
	local wpid=$!
	timeout 120 "${actor[@]}" act "$a" "$asig" >"$work/$label.act" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		kill $wpid 2>/dev/null || true
		cat "$work/$label.act" "$work/$label.watch" >&2
		fail "$label: the actor failed (exit $rc): ${actor[*]}"
	fi
	wait $wpid || {
		cat "$work/$label.act" "$work/$label.watch" >&2
		fail "$label: the watcher did not see the actor's changes: ${watcher[*]}"
	}
	sed -i 's/\r$//' "$work/$label.watch" "$work/$label.act" # Windows' line ends
	grep -qxF "$w: libImSDK $version" "$work/$label.watch" || fail "$label: the watcher's TIMGetSDKVersion is not $version: $(head -1 "$work/$label.watch")"
	grep -qxF "$a: libImSDK $version" "$work/$label.act" || fail "$label: the actor's TIMGetSDKVersion is not $version: $(head -1 "$work/$label.act")"
}

example=$root/bindings/c/example.c

# --- libImSDK linux/amd64: pkg-config ---------------------------------------

prefix=$work/prefix
mv "$x/$lin" "$prefix" # a place unknown to the build: the tree is relocatable
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion ImSDK)" = "$version" ] || fail "pkg-config --modversion ImSDK: $(pkg-config --modversion ImSDK), not $version"
pkg-config --exists "ImSDK >= $major.$minor" || fail "pkg-config: ImSDK >= $major.$minor is not met"
libdir=$(pkg-config --variable=libdir ImSDK)
[ "$(cd "$libdir" && pwd -P)" = "$(cd "$prefix/lib" && pwd -P)" ] || fail "pkg-config's libdir $libdir is not the unpacked tree's"
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
cc -o "$work/example-pc" "$example" $(pkg-config --cflags --libs ImSDK) || fail "cc example.c \$(pkg-config --cflags --libs ImSDK) failed"
grep -q 'Shared library: \[libImSDK.so\]' <<<"$(readelf -d "$work/example-pc")" || fail "example-pc does not load libImSDK.so"
# shellcheck disable=SC2046
cc -o "$work/example-static" "$example" $(pkg-config --cflags ImSDK) -DTIM_STATIC "$libdir/libImSDK.a" -pthread ||
	fail "linking example.c with lib/libImSDK.a failed"
! grep -q 'libImSDK' <<<"$(readelf -d "$work/example-static")" || fail "example-static still loads libImSDK"
ok "pkg-config: ImSDK $version; example.c compiled with \$(pkg-config --cflags --libs ImSDK), and against lib/libImSDK.a"
pc_prog=(env LD_LIBRARY_PATH="$libdir" "$work/example-pc")
static_prog=("$work/example-static")
pair pc static_prog pc_prog
ok "run: the static example saw the pkg-config one (shared library) log in, set a status and log out; both report $version"

# --- libImSDK: CMake ---------------------------------------------------------

src=$work/cmake-src
mkdir -p "$src"
cat >"$src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.5)
project(imsdk_dist_check C)
# WANT: the version to ask for (empty: none).
find_package(ImSDK ${WANT} CONFIG REQUIRED)
message(STATUS "ImSDK_VERSION=${ImSDK_VERSION}")
message(STATUS "ImSDK_ROOT=${ImSDK_ROOT}")
find_package(Threads REQUIRED) # example.c's own threads
add_executable(example_shared "${EXAMPLE}")
target_link_libraries(example_shared PRIVATE ImSDK::ImSDK Threads::Threads)
add_executable(example_static "${EXAMPLE}")
target_link_libraries(example_static PRIVATE ImSDK::ImSDK_static Threads::Threads)
if(MINGW) # winpthreads, which FindThreads leaves out
  target_link_libraries(example_shared PRIVATE -pthread)
  target_link_libraries(example_static PRIVATE -pthread)
endif()
CMAKE

# cmake_configure BUILDDIR PREFIX WANT [ARGS...]: configures the project.
cmake_configure() {
	local b=$1 p=$2 want=$3
	shift 3
	cmake -S "$src" -B "$work/$b" -DCMAKE_PREFIX_PATH="$p" -DWANT="$want" -DEXAMPLE="$example" "$@" >"$work/$b.log" 2>&1
}
# cmake_check BUILDDIR PREFIX WANT [ARGS...]: configures and builds, and
# checks the version and root found.
cmake_check() {
	local b=$1 p=$2 want=$3
	cmake_configure "$@" || { cat "$work/$b.log" >&2; fail "cmake: find_package(ImSDK $want CONFIG REQUIRED) in $p failed"; }
	grep -qF -- "-- ImSDK_VERSION=$numeric" "$work/$b.log" || fail "cmake: ImSDK_VERSION is not $numeric: $(grep ImSDK_VERSION "$work/$b.log")"
	local found
	found=$(sed -n 's/^-- ImSDK_ROOT=//p' "$work/$b.log")
	[ "$(cd "$found" && pwd -P)" = "$(cd "$p" && pwd -P)" ] || fail "cmake: ImSDK_ROOT is $found, not $p"
	cmake --build "$work/$b" >>"$work/$b.log" 2>&1 || { cat "$work/$b.log" >&2; fail "cmake --build with ImSDK from $p failed"; }
}
# cmake_refuses BUILDDIR PREFIX WANT WHY [ARGS...]: find_package must fail,
# with CMake's message that the version (WHY) does not fit.
cmake_refuses() {
	local b=$1 p=$2 want=$3 why=$4
	shift 4
	if cmake_configure "$b" "$p" "$want" "$@"; then
		fail "cmake: find_package(ImSDK $want CONFIG REQUIRED) in $p succeeded; it must fail ($why)"
	fi
	grep -qF "version: $why" "$work/$b.log" || { cat "$work/$b.log" >&2; fail "cmake: find_package(ImSDK $want) failed, but not for its version ($why)"; }
}

cmake_check cmake "$prefix" "$major.$minor"
grep -q 'Shared library: \[libImSDK.so\]' <<<"$(readelf -d "$work/cmake/example_shared")" || fail "CMake's example_shared does not load libImSDK.so"
! grep -q 'libImSDK' <<<"$(readelf -d "$work/cmake/example_static")" || fail "CMake's example_static loads libImSDK"
cmake_check cmake-any "$prefix" ""
ok "cmake: find_package(ImSDK $major.$minor CONFIG REQUIRED) (and with no version) finds $numeric in the unpacked tree; ImSDK::ImSDK and ImSDK::ImSDK_static link"
cmake_shared=("$work/cmake/example_shared")
cmake_static=("$work/cmake/example_static")
pair cm cmake_static cmake_shared
ok "run: CMake's static example saw CMake's shared one; both report $version"
cmake_refuses cmake-9 "$prefix" 9.0 "$numeric"
cmake_refuses cmake-newer "$prefix" "$major.$((minor + 1))" "$numeric"
cmake_refuses cmake-arm "$x/$arm" "$major.$minor" "$numeric (Linux aarch64)"
ok "cmake: find_package(ImSDK 9.0), ($major.$((minor + 1))) and the arm64 tree for this x86-64 build are refused by ImSDKConfigVersion.cmake"

# --- libImSDK linux/arm64 ----------------------------------------------------

armp=$x/$arm
# shellcheck disable=SC2046
aarch64-linux-gnu-gcc -o "$work/example-arm64" "$example" $(PKG_CONFIG_PATH=$armp/lib/pkgconfig pkg-config --cflags --libs ImSDK) ||
	fail "aarch64-linux-gnu-gcc example.c with the arm64 tree's pkg-config failed"
aarch64-linux-gnu-gcc -o "$work/example-arm64-static" "$example" -I"$armp/include" -DTIM_STATIC "$armp/lib/libImSDK.a" -pthread ||
	fail "linking example.c with the arm64 libImSDK.a failed"
[ "$(elf_machine "$work/example-arm64")" = AArch64 ] || fail "example-arm64 is not AArch64"
cmake_check cmake-arm64 "$armp" "$major.$minor" -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
	-DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc
[ "$(elf_machine "$work/cmake-arm64/example_shared")" = AArch64 ] || fail "CMake's arm64 example is not AArch64"
ok "arm64: example.c cross-compiled through pkg-config, against libImSDK.a, and with CMake (find_package $major.$minor)"
if tool qemu-aarch64-static; then
	arm_shared=(env QEMU_LD_PREFIX=/usr/aarch64-linux-gnu LD_LIBRARY_PATH="$armp/lib" qemu-aarch64-static "$work/example-arm64")
	arm_static=(env QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64-static "$work/example-arm64-static")
	pair arm arm_static arm_shared
	ok "run under qemu: the arm64 static example saw the arm64 shared one; both report $version"
else
	notrun "the arm64 examples under qemu: qemu-aarch64-static is not installed (Debian: qemu-user-static)"
	grep -qaF "$version" "$armp/lib/libImSDK.so" || fail "the arm64 libImSDK.so does not hold $version"
fi

# --- libImSDK windows/amd64 --------------------------------------------------

winp=$x/$win
dll=$winp/bin/ImSDK.dll
deps=$(x86_64-w64-mingw32-objdump -p "$dll" | sed -n 's/^\tDLL Name: //p' | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
[ "$deps" = "kernel32.dll msvcrt.dll " ] || fail "ImSDK.dll needs DLLs besides Windows' own: $deps"
exports=$(x86_64-w64-mingw32-objdump -p "$dll" | awk '/\[Ordinal\/Name Pointer\] Table/ {on=1; next} on && /^\t\[/ {print $NF} on && !/^\t\[/ {on=0}' | sort)
grep -qx TIMGetSDKVersion <<<"$exports" || fail "ImSDK.dll does not export TIMGetSDKVersion"
[ "$(awk 'on { print $1 } /^EXPORTS$/ { on = 1 }' "$winp/lib/ImSDK.def" | sort)" = "$exports" ] || fail "ImSDK.def does not list exactly the DLL's exports"
ok "ImSDK.dll: $(wc -l <<<"$exports") exports, all in ImSDK.def; it needs only kernel32.dll and msvcrt.dll"
# shellcheck disable=SC2046
x86_64-w64-mingw32-gcc -o "$work/example.exe" "$example" $(PKG_CONFIG_PATH=$winp/lib/pkgconfig pkg-config --cflags --libs ImSDK) -pthread ||
	fail "mingw: example.c with the Windows tree's pkg-config (the import library) failed"
grep -q 'DLL Name: ImSDK.dll' <<<"$(x86_64-w64-mingw32-objdump -p "$work/example.exe")" || fail "example.exe does not import ImSDK.dll"
x86_64-w64-mingw32-gcc -o "$work/example-static.exe" "$example" -I"$winp/include" -DTIM_STATIC "$winp/lib/libImSDK.a" -pthread ||
	fail "mingw: linking example.c with the Windows libImSDK.a failed"
! grep -q 'DLL Name: ImSDK.dll' <<<"$(x86_64-w64-mingw32-objdump -p "$work/example-static.exe")" || fail "example-static.exe imports ImSDK.dll"
cmake_check cmake-win "$winp" "$major.$minor" -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=x86_64 \
	-DCMAKE_C_COMPILER=x86_64-w64-mingw32-gcc
grep -q 'DLL Name: ImSDK.dll' <<<"$(x86_64-w64-mingw32-objdump -p "$work/cmake-win/example_shared.exe")" || fail "CMake's Windows example does not import ImSDK.dll"
ok "windows: example.c linked with mingw through pkg-config (libImSDK.dll.a), against libImSDK.a, and with CMake (find_package $major.$minor)"
wineprefix=$root/build/wine
if tool wine && [ -f "$wineprefix/system.reg" ]; then
	# The prefix of tests/cross_test.go (TestCWindows), with what the Go
	# runtime needs under Wine; the programs need winpthreads beside them.
	winpthread=$(x86_64-w64-mingw32-gcc -print-file-name=libwinpthread-1.dll)
	[ -f "$winpthread" ] || fail "mingw has no libwinpthread-1.dll"
	cp "$dll" "$winpthread" "$work/"
	win_shared=(env WINEPREFIX="$wineprefix" WINEDEBUG=-all wine "$work/example.exe")
	win_static=(env WINEPREFIX="$wineprefix" WINEDEBUG=-all wine "$work/example-static.exe")
	pair win win_static win_shared
	ok "run under Wine: the static Windows example saw the DLL one; both report $version"
elif [ "${IMSTATUS_CROSS_TESTS:-}" = 1 ]; then
	fail "no Wine prefix at $wineprefix (tests/cross_test.go's TestCWindows makes it, in ./build.sh test before dist)"
else
	notrun "the Windows examples under Wine: no wine, or no prefix at build/wine (./build.sh test makes it)"
	grep -qaF "$version" "$dll" || fail "ImSDK.dll does not hold $version"
fi

kill "$server_pid"
wait "$server_pid" || fail "imstatusd did not exit cleanly on SIGTERM"
server_pid=""

# --- the Unity package -------------------------------------------------------

pkg=$x/unity/package
grep -qxF '  "name": "com.imstatus.imsdk.unity",' "$pkg/package.json" || fail "package.json: the name is not com.imstatus.imsdk.unity"
grep -qxF "  \"version\": \"$version\"," "$pkg/package.json" || fail "package.json: the version is not $version"
diff <(grep -v '^  "version": ' "$root/bindings/unity/package.json") <(grep -v '^  "version": ' "$pkg/package.json") >/dev/null ||
	fail "package.json differs from bindings/unity/package.json in more than its version"
cmp -s "$pkg/Plugins/Linux/x86_64/libImSDK.so" "$prefix/lib/libImSDK.so" || fail "Plugins/Linux/x86_64/libImSDK.so is not the linux/amd64 archive's"
cmp -s "$pkg/Plugins/Windows/x86_64/ImSDK.dll" "$dll" || fail "Plugins/Windows/x86_64/ImSDK.dll is not the windows/amd64 archive's"
[ -z "$(find "$pkg/Plugins" -type f ! -name '*.meta' ! -name '.*' ! -name README.md ! -path '*/Linux/x86_64/libImSDK.so' ! -path '*/Windows/x86_64/ImSDK.dll')" ] ||
	fail "Plugins/ has other libraries: $(find "$pkg/Plugins" -type f ! -name '*.meta' ! -name '.*' ! -name README.md)"
ok "Unity package: com.imstatus.imsdk.unity $version, with the Linux x86_64 and Windows x86_64 libraries of the archives"

# platforms META: the platformData entries of a PluginImporter .meta, one a
# line: "<platform> => enabled <0|1> ; <setting>; <setting>; ...".
platforms() {
	awk '
	/^  - first:$/ { getline; id = $0; sub(/^ +/, "", id); sub(/ +$/, "", id); order[++n] = id; next }
	/^    second:$/ { next }
	id != "" && /^      enabled: / { en[id] = $2; next }
	id != "" && /^        [^ ]/ { s = $0; sub(/^ +/, "", s); sub(/ +$/, "", s); set[id] = set[id] s "; "; next }
	/^  [^ -]/ { id = "" }
	END { for (i = 1; i <= n; i++) print order[i] " => enabled " en[order[i]] " ; " set[order[i]] }
	' "$1"
}
# expect_platforms META LINES: the entries of META are exactly LINES.
expect_platforms() {
	local got
	got=$(platforms "$1")
	[ "$got" = "$2" ] || fail "$(basename "$1"): the plugin's platforms are not as Unity needs them.
got:
$got
want:
$2"
}
expect_platforms "$pkg/Plugins/Linux/x86_64/libImSDK.so.meta" ': Any => enabled 0 ; Exclude Android: 1; Exclude Editor: 0; Exclude Linux64: 0; Exclude OSXUniversal: 1; Exclude Win: 1; Exclude Win64: 1; Exclude iOS: 1; 
Any: => enabled 0 ; 
Editor: Editor => enabled 1 ; CPU: x86_64; DefaultValueInitialized: true; OS: Linux; 
Standalone: Linux64 => enabled 1 ; CPU: x86_64; 
Standalone: OSXUniversal => enabled 0 ; CPU: None; 
Standalone: Win => enabled 0 ; CPU: None; 
Standalone: Win64 => enabled 0 ; CPU: None; '
expect_platforms "$pkg/Plugins/Windows/x86_64/ImSDK.dll.meta" ': Any => enabled 0 ; Exclude Android: 1; Exclude Editor: 0; Exclude Linux64: 1; Exclude OSXUniversal: 1; Exclude Win: 1; Exclude Win64: 0; Exclude iOS: 1; 
Any: => enabled 0 ; 
Editor: Editor => enabled 1 ; CPU: x86_64; DefaultValueInitialized: true; OS: Windows; 
Standalone: Linux64 => enabled 0 ; CPU: None; 
Standalone: OSXUniversal => enabled 0 ; CPU: None; 
Standalone: Win => enabled 0 ; CPU: None; 
Standalone: Win64 => enabled 1 ; CPU: x86_64; '
ok "plugin .meta files: libImSDK.so for the Linux x86_64 player and Editor only, ImSDK.dll for Windows x86_64 only"

# Unity imports only assets with a .meta in an immutable (tarball) package,
# and drops a .meta without its asset. Folders ending in ~ and dot files
# are not imported.
missing=$(cd "$pkg" && find . -mindepth 1 \( -name '*~' -o -name '.*' \) -prune -o ! -name '*.meta' -print |
	while read -r f; do [ -e "$f.meta" ] || echo "$f"; done)
[ -z "$missing" ] || fail "assets without a .meta: $missing"
orphans=$(cd "$pkg" && find . \( -name '*~' -o -name '.?*' \) -prune -o -name '*.meta' -print |
	while read -r f; do [ -e "${f%.meta}" ] || echo "$f"; done)
[ -z "$orphans" ] || fail ".meta files without an asset: $orphans"
guids=$(cd "$pkg" && find . \( -name '*~' -o -name '.?*' \) -prune -o -name '*.meta' -print | xargs sed -n 's/^guid: //p')
[ "$(wc -l <<<"$guids")" = "$(find "$pkg" \( -name '*~' -o -name '.?*' \) -prune -o -name '*.meta' -print | wc -l)" ] || fail "a .meta without a guid line"
! grep -qvxE '[0-9a-f]{32}' <<<"$guids" || fail "a GUID is not 32 hex digits: $(grep -vxE '[0-9a-f]{32}' <<<"$guids")"
[ -z "$(sort <<<"$guids" | uniq -d)" ] || fail "GUIDs used twice: $(sort <<<"$guids" | uniq -d)"
ok "every asset of the package has a .meta and every .meta its asset; $(wc -l <<<"$guids") GUIDs, none twice"
again=$work/plugins-again
bash "$root/bindings/unity/Tools~/install-plugins.sh" --dest "$again" --linux "$prefix/lib/libImSDK.so" --windows "$dll" >/dev/null
cmp -s "$again/Linux/x86_64/libImSDK.so.meta" "$pkg/Plugins/Linux/x86_64/libImSDK.so.meta" &&
	cmp -s "$again/Windows/x86_64/ImSDK.dll.meta" "$pkg/Plugins/Windows/x86_64/ImSDK.dll.meta" ||
	fail "the plugins' .meta files come out different when made again"
want_guid=$(printf '%s' com.imstatus.imsdk.unity/LICENSE.md | md5sum | cut -c1-32)
grep -qx "guid: $want_guid" "$pkg/LICENSE.md.meta" || fail "LICENSE.md.meta's GUID is not the one derived from its path"
ok "the .meta files come out the same when made again (stable GUIDs)"

echo "check_dist.sh: all checks passed for $version"
