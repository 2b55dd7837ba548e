//go:build unix

package gemma3_test

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// TestLoadFIFO loads a named pipe that no process writes to: an error at
// once, not a hang.
func TestLoadFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.gguf")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		m, err := gemma3.Load(p, gemma3.LoadOptions{})
		if err == nil {
			m.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		wantOneLine(t, err, mmap.ErrNotRegular, "gguf: "+p+": not a regular file (named pipe)")
	case <-time.After(time.Second):
		t.Fatal("Load of a named pipe did not return within a second")
	}
	_, err := gemma3.Load(t.TempDir(), gemma3.LoadOptions{})
	wantOneLine(t, err, mmap.ErrNotRegular, "not a regular file (directory)")
}
