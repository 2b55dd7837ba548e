package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The advice never changes what is read or written: Populate on slices of
// a mapping that start and end inside pages (and on nothing), HugePages on
// allocations too small for a huge page, unaligned, and large.
func TestAdvice(t *testing.T) {
	want := bytes.Repeat([]byte("advice!"), 5000) // 35000 bytes: 9 pages
	d := openFile(t, want).Data()
	for _, r := range [][2]int{{0, 0}, {0, len(d)}, {100, 5000}, {4095, 4097}, {len(d) - 1, len(d)}} {
		Populate(d[r[0]:r[1]])
		if !bytes.Equal(d[r[0]:r[1]], want[r[0]:r[1]]) {
			t.Fatalf("bytes %d–%d differ after Populate", r[0], r[1])
		}
	}
	for _, n := range []int{0, 1000, 3 << 20, 9<<20 + 123} {
		b := make([]byte, n+1)[1:] // unaligned
		HugePages(b)
		for i := range b {
			b[i] = byte(i * 7)
		}
		for i := range b {
			if b[i] != byte(i*7) {
				t.Fatalf("HugePages(%d bytes): byte %d changed", n, i)
			}
		}
	}
}

// openFile opens a new file holding content, closed when the test ends.
func openFile(t *testing.T, content []byte) *File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
