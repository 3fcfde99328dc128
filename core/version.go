package core

// Version is the SDK's version, reported by TIMGetSDKVersion. A release
// build sets it (./build.sh dist VERSION) with
// -ldflags "-X github.com/imstatus/imstatus/core.Version=VERSION"; this
// default is the version of the source tree.
var Version = "0.1.0"
