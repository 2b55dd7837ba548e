//go:build !unix

package mmap

import (
	"errors"
	"os"
)

// nonblockFlag is 0 where open has no O_NONBLOCK; OpenRegular's stat
// keeps it from opening anything but regular files.
const nonblockFlag = 0

func clearNonblock(*os.File) error { return nil }

func mapRegion(*os.File, int) ([]byte, func([]byte) error, error) {
	return nil, nil, errors.New("mmap: not supported on this platform")
}
