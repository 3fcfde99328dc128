//go:build unix && !solaris && !aix && !android

package boltdir

import (
	"os"
	"syscall"
)

// unlock drops bbolt's flock on f. Closing f alone would not: the memory
// map of a failed open still references the file and keeps the lock.
func unlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
