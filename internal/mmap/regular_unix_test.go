//go:build unix

package mmap

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenFIFO opens a named pipe that no process writes to: a blocking
// open(2) would wait forever.
func TestOpenFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	checkNotRegular(t, openQuickly(t, p), p, "named pipe")
}

func TestOpenSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "sock") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "s")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Skipf("unix socket: %v", err)
	}
	defer l.Close()
	checkNotRegular(t, openQuickly(t, p), p, "socket")
}

func TestOpenDevice(t *testing.T) {
	const p = "/dev/null"
	if _, err := os.Stat(p); err != nil {
		t.Skip(err)
	}
	checkNotRegular(t, openQuickly(t, p), p, "character device")
}

// TestOpenRegularBlocking checks that the file OpenRegular returns is in
// blocking mode again.
func TestOpenRegularBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenRegular(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if ferr != nil || flags&unix.O_NONBLOCK != 0 {
		t.Fatalf("F_GETFL = %#x, %v; want O_NONBLOCK cleared", flags, ferr)
	}
}
