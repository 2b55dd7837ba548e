package gguf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/internal/mmap"
)

// oneLine fails the test if err is nil or its message spans lines.
func oneLine(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q has more than one line", err)
	}
}

// TestOpenNotRegular opens a directory (and a named pipe in
// hostile_unix_test.go): each is refused at once, naming the path.
func TestOpenNotRegular(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	_, err := Open(dir)
	oneLine(t, err)
	if want := "gguf: " + dir + ": not a regular file (directory)"; err.Error() != want || !errors.Is(err, mmap.ErrNotRegular) {
		t.Errorf("Open(%s): got %v, want %q wrapping mmap.ErrNotRegular", dir, err, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Open(%s) took %v", dir, d)
	}
}

// TestReadBudget reads headers whose metadata fits the file but not a
// small budget: each error names the key or count and wraps
// budget.ErrExceeded.
func TestReadBudget(t *testing.T) {
	big := make([]byte, 1<<20)
	bytesArr := header(0, 1).str("big.bytes").u32(uint32(TypeArray)).u32(uint32(TypeUint8)).u64(uint64(len(big))).raw(big...).Bytes()
	str := header(0, 1).str("big.string").u32(uint32(TypeString)).str(string(big)).Bytes()
	strs := header(0, 1).str("big.strings").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(1 << 16)
	for i := 0; i < 1<<16; i++ {
		strs.str("0123456789abcdef")
	}
	for _, tc := range []struct {
		name string
		file []byte
		msg  string
	}{
		{"uint8 array", bytesArr, `metadata "big.bytes" (array of 1048576 uint8)`},
		{"string", str, `metadata "big.string" string of 1048576 bytes`},
		{"string array", strs.Bytes(), `metadata "big.strings" (array of 65536 string)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Read(tc.file); err != nil {
				t.Fatalf("default budget: %v", err)
			}
			_, err := Read(tc.file, Options{Budget: 512 << 10})
			oneLine(t, err)
			if !errors.Is(err, budget.ErrExceeded) || !strings.HasPrefix(err.Error(), "gguf: the header through ") ||
				!strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "over the memory budget of 512 KiB") {
				t.Errorf("got %v, want budget.ErrExceeded naming %s", err, tc.msg)
			}
		})
	}
}

// TestTensorFloat32Budget decodes a tensor larger than the budget.
func TestTensorFloat32Budget(t *testing.T) {
	file := header(1, 0).tensor("w", 1, 0, 1<<16).data(2 << 16).Bytes() // F16: 256 KiB as float32
	f, err := Read(file, Options{Budget: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.TensorFloat32("w")
	oneLine(t, err)
	if !errors.Is(err, budget.ErrExceeded) || !strings.Contains(err.Error(), `gguf: tensor "w" as float32 needs 256 KiB`) {
		t.Errorf("got %v, want budget.ErrExceeded naming tensor w and 256 KiB", err)
	}
	if f, err = Read(file); err != nil {
		t.Fatal(err)
	}
	if v, err := f.TensorFloat32("w"); err != nil || len(v) != 1<<16 {
		t.Errorf("default budget: got %d values, %v", len(v), err)
	}
}

// TestErrorsOneLine checks that names holding newlines are escaped in
// errors.
func TestErrorsOneLine(t *testing.T) {
	for _, file := range [][]byte{
		header(0, 2).str("a\nb").u32(uint32(TypeUint8)).raw(1).str("a\nb").u32(uint32(TypeUint8)).raw(2).Bytes(),
		header(0, 1).str("k\n").u32(uint32(TypeArray)).u32(uint32(TypeFloat32)).u64(1 << 40).Bytes(),
		header(0, 1).str("k\n").u32(uint32(TypeString)).u64(1 << 40).Bytes(),
		header(1, 0).tensor("t\n", 0, 0, 1<<40, 1<<40).data(4).Bytes(),
		header(1, 0).tensor("t\n", 0, 0, 1<<20).data(16).Bytes(),
	} {
		_, err := Read(file)
		oneLine(t, err)
	}
	p := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(p, header(1, 0).tensor("t\n", 0, 0, 1<<20).data(16).Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p)
	oneLine(t, err)
}
