package core

// Version is the SDK's version, reported by TIMGetSDKVersion.
const Version = "0.1.0"
