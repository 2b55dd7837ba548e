//go:build unix

package gguf

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/internal/mmap"
)

// TestOpenFIFO opens a named pipe no process writes to.
func TestOpenFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.gguf")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := Open(p)
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		oneLine(t, err)
		if want := "gguf: " + p + ": not a regular file (named pipe)"; err.Error() != want || !errors.Is(err, mmap.ErrNotRegular) {
			t.Errorf("Open(%s): got %v, want %q", p, err, want)
		}
	case <-time.After(time.Second):
		t.Fatalf("Open(%s) did not return within a second", p)
	}
}
