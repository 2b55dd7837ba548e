package mmap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openQuickly runs Open(path) and fails the test if it does not return
// within a second (a blocking open of a named pipe never would).
func openQuickly(t *testing.T, path string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		f, err := Open(path)
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Second):
		t.Fatalf("Open(%s) did not return within a second", path)
		return nil
	}
}

// checkNotRegular checks that err is a one-line *NotRegularError for path
// of the given kind.
func checkNotRegular(t *testing.T, err error, path, kind string) {
	t.Helper()
	want := path + ": not a regular file (" + kind + ")"
	var nr *NotRegularError
	if !errors.Is(err, ErrNotRegular) || !errors.As(err, &nr) || err.Error() != want {
		t.Fatalf("Open(%s): got %v, want %q wrapping ErrNotRegular", path, err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("Open(%s): error %q has more than one line", path, err)
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	checkNotRegular(t, openQuickly(t, dir), dir, "directory")
	if _, err := OpenRegular(dir); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("OpenRegular(%s): got %v, want ErrNotRegular", dir, err)
	}
}

func TestOpenRegularReads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("zerfoo"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenRegular(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 16)
	n, err := f.Read(b)
	if err != nil || string(b[:n]) != "zerfoo" {
		t.Fatalf("Read: got %q, %v; want \"zerfoo\"", b[:n], err)
	}
}
