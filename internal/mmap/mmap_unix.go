//go:build unix

package mmap

import (
	"os"

	"golang.org/x/sys/unix"
)

// nonblockFlag makes open(2) of a named pipe return at once.
const nonblockFlag = unix.O_NONBLOCK

// clearNonblock puts f back into blocking mode.
func clearNonblock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}

func mapRegion(f *os.File, size int) ([]byte, func([]byte) error, error) {
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, unix.Munmap, nil
}
