//go:build !unix || solaris || aix || android

package boltdir

import "os"

// unlock is a no-op where bbolt locks with fcntl (released by any close of
// the file) or LockFileEx.
func unlock(*os.File) {}
