package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenMapsContents(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("zerfoo"), 1000)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Data(), want) {
		t.Fatalf("Data() differs from the file (%d bytes, want %d)", len(f.Data()), len(want))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if f.Data() != nil {
		t.Fatal("Data() after Close is not nil")
	}
}

func TestOpenEmptyAndMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Data()) != 0 || f.Mapped() {
		t.Fatalf("empty file: %d bytes, mapped %v; want 0, false", len(f.Data()), f.Mapped())
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("Open of a missing file returned nil error")
	}
}
