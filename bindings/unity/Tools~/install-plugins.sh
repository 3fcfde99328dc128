#!/usr/bin/env bash
# install-plugins.sh: copies libImSDK builds into a Unity plugin folder and
# writes, beside each, the .meta file that tells Unity which platform and CPU
# it is for (Linux and Android both have a libImSDK.so: without these
# settings Unity would include both in every build).
#
#   Tools~/install-plugins.sh                 # build/lib/libImSDK.so -> Plugins/Linux/x86_64
#   Tools~/install-plugins.sh --dest ~/MyGame/Assets/Plugins/imstatus \
#       --linux build/lib/libImSDK.so --windows ImSDK.dll --macos libImSDK.dylib \
#       --android-arm64 android/libImSDK.so --ios libImSDK.a
#
# --dest defaults to this package's Plugins folder (a package added by path).
# A package added by git URL is read-only: install into the project's
# Assets (e.g. Assets/Plugins/imstatus) instead. Without any platform option
# the script installs the Linux x86_64 library of ./build.sh
# (<repo>/build/lib/libImSDK.so).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pkg=$(dirname "$here")
repo=$(cd "$pkg/../.." && pwd)
dest="$pkg/Plugins"
declare -A src=()

die() { printf 'install-plugins.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--dest) dest=$2; shift 2 ;;
	--linux) src[linux]=$2; shift 2 ;;
	--windows) src[windows]=$2; shift 2 ;;
	--macos) src[macos]=$2; shift 2 ;;
	--android-arm64) src[android]=$2; shift 2 ;;
	--ios) src[ios]=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set /{/^set /!s/^# \{0,1\}//p;}' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
if [ ${#src[@]} -eq 0 ]; then
	[ -f "$repo/build/lib/libImSDK.so" ] || die "no $repo/build/lib/libImSDK.so: run ./build.sh in $repo first, or name the libraries (see --help)"
	src[linux]="$repo/build/lib/libImSDK.so"
fi

# meta_head GUID EXCLUDES...: the start of a PluginImporter .meta, with the
# "Any Platform" excludes (1 = excluded) for Android Editor Linux64
# OSXUniversal Win Win64 iOS.
meta_head() {
	cat <<META
fileFormatVersion: 2
guid: $1
PluginImporter:
  externalObjects: {}
  serializedVersion: 2
  iconMap: {}
  executionOrder: {}
  defineConstraints: []
  isPreloaded: 0
  isOverridable: 0
  isExplicitlyReferenced: 0
  validateReferences: 1
  platformData:
  - first:
      : Any
    second:
      enabled: 0
      settings:
        Exclude Android: $2
        Exclude Editor: $3
        Exclude Linux64: $4
        Exclude OSXUniversal: $5
        Exclude Win: $6
        Exclude Win64: $7
        Exclude iOS: $8
  - first:
      Any: 
    second:
      enabled: 0
      settings: {}
META
}

# meta_tail: the end of a .meta.
meta_tail() {
	printf '  userData: \n  assetBundleName: \n  assetBundleVariant: \n'
}

# editor OS CPU: the Editor entry (enabled).
editor() {
	printf '  - first:\n      Editor: Editor\n    second:\n      enabled: 1\n      settings:\n        CPU: %s\n        DefaultValueInitialized: true\n        OS: %s\n' "$2" "$1"
}

# standalone TARGET CPU ENABLED: a standalone player entry.
standalone() {
	printf '  - first:\n      Standalone: %s\n    second:\n      enabled: %s\n      settings:\n        CPU: %s\n' "$1" "$3" "$2"
}

# standalones ENABLED-TARGET CPU: every desktop player, one of them enabled.
standalones() {
	local t
	for t in Linux64 OSXUniversal Win Win64; do
		if [ "$t" = "$1" ]; then standalone "$t" "$2" 1; else standalone "$t" None 0; fi
	done
}

install_one() {
	local kind=$1 file=$2 dir name
	[ -f "$file" ] || die "$kind: no file $file"
	case $kind in
	linux) dir=Linux/x86_64 name=libImSDK.so ;;
	windows) dir=Windows/x86_64 name=ImSDK.dll ;;
	macos) dir=macOS name=libImSDK.dylib ;;
	android) dir=Android/arm64-v8a name=libImSDK.so ;;
	ios) dir=iOS name=libImSDK.a ;;
	esac
	mkdir -p "$dest/$dir"
	cp "$file" "$dest/$dir/$name"
	{
		case $kind in
		linux)
			meta_head 6c1f0e2a9b3d4e5f8a7b6c5d4e3f2a10 1 0 0 1 1 1 1
			editor Linux x86_64
			standalones Linux64 x86_64
			;;
		windows)
			meta_head 6c1f0e2a9b3d4e5f8a7b6c5d4e3f2a11 1 0 1 1 1 0 1
			editor Windows x86_64
			standalones Win64 x86_64
			;;
		macos)
			meta_head 6c1f0e2a9b3d4e5f8a7b6c5d4e3f2a12 1 0 1 0 1 1 1
			editor OSX AnyCPU
			standalones OSXUniversal AnyCPU
			;;
		android)
			meta_head 6c1f0e2a9b3d4e5f8a7b6c5d4e3f2a13 0 1 1 1 1 1 1
			printf '  - first:\n      Android: Android\n    second:\n      enabled: 1\n      settings:\n        CPU: ARM64\n'
			;;
		ios)
			meta_head 6c1f0e2a9b3d4e5f8a7b6c5d4e3f2a14 1 1 1 1 1 1 0
			printf '  - first:\n      iPhone: iOS\n    second:\n      enabled: 1\n      settings:\n        AddToEmbeddedBinaries: false\n        CPU: AnyCPU\n        CompileFlags: \n        FrameworkDependencies: \n'
			;;
		esac
		meta_tail
	} >"$dest/$dir/$name.meta"
	printf 'installed %s -> %s\n' "$file" "$dest/$dir/$name"
}

for kind in "${!src[@]}"; do
	install_one "$kind" "${src[$kind]}"
done
