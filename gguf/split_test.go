package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// splitParts describes the files of a test model split like gguf-split
// does: the first file has the metadata, every file split.no and
// split.count, and the first split.tensors.count.
type splitPart struct {
	tensors []string
	no      int // split.no written (-1: none)
}

// writeSplits writes the parts as PREFIX-0000i-of-0000n.gguf in dir, each
// tensor an F32 vector of 8 values derived from its name, and returns the
// prefix. count overrides split.tensors.count when ≥ 0.
func writeSplits(t *testing.T, dir string, parts []splitPart, count int) string {
	t.Helper()
	prefix := filepath.Join(dir, "model")
	total := 0
	for _, p := range parts {
		total += len(p.tensors)
	}
	if count < 0 {
		count = total
	}
	for i, p := range parts {
		b := NewBuilder()
		if i == 0 {
			must(t, b.Set(KeyArchitecture, "test"))
			must(t, b.Set(KeySplitTensorsCount, int32(count)))
		}
		if p.no >= 0 {
			must(t, b.Set(KeySplitNo, uint16(p.no)))
		}
		must(t, b.Set(KeySplitCount, uint16(len(parts))))
		for _, name := range p.tensors {
			must(t, b.AddFloat32(name, quant.F32, []uint64{8}, splitValues(name)))
		}
		must(t, b.WriteFile(SplitPath(prefix, i, len(parts))))
	}
	return prefix
}

func splitValues(name string) []float32 {
	v := make([]float32, 8)
	for i := range v {
		v[i] = float32(len(name)*10 + i + int(name[len(name)-1]))
	}
	return v
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenSplits opens a model split in three files from its first file:
// one File with the first file's metadata and every tensor, each read from
// its own file.
func TestOpenSplits(t *testing.T) {
	dir := t.TempDir()
	prefix := writeSplits(t, dir, []splitPart{{[]string{"a", "b"}, 0}, {[]string{"c"}, 1}, {[]string{"d", "e"}, 2}}, -1)
	f, err := Open(SplitPath(prefix, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	if f.Splits() != 3 || len(f.Tensors) != 5 || !f.Mapped() || len(f.Regions()) != 3 {
		t.Fatalf("splits %d, tensors %d, mapped %v, regions %d; want 3, 5, true, 3", f.Splits(), len(f.Tensors), f.Mapped(), len(f.Regions()))
	}
	if s, _ := f.String(KeyArchitecture); s != "test" {
		t.Errorf("architecture %q, want the first file's", s)
	}
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		ti, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{0, 0, 1, 2, 2}[i]; ti.Split != want {
			t.Errorf("%s: split %d, want %d", name, ti.Split, want)
		}
		v, err := f.TensorFloat32(name)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(v) != fmt.Sprint(splitValues(name)) {
			t.Errorf("%s: %v, want %v", name, v, splitValues(name))
		}
	}
	var buf bytes.Buffer
	if err := Inspect(&buf, f); err != nil || !strings.Contains(buf.String(), "split in 3 files") {
		t.Errorf("Inspect: %v, %q does not say the model is split", err, buf.String()[:min(200, buf.Len())])
	}
	must(t, f.Close())
	if _, err := f.TensorData("e"); err == nil {
		t.Error("TensorData after Close: no error")
	}
}

// TestOpenSplitsErrors: every way a split model can be broken is an error
// naming the file, wrapping ErrFormat (or the open error).
func TestOpenSplitsErrors(t *testing.T) {
	three := func(dir string) string {
		return writeSplits(t, dir, []splitPart{{[]string{"a"}, 0}, {[]string{"b"}, 1}, {[]string{"c"}, 2}}, -1)
	}
	for _, tc := range []struct {
		name string
		make func(dir string) string // returns the path to open
		want string
	}{
		{"not the first", func(dir string) string { return SplitPath(three(dir), 1, 3) }, "is file 2 of a model split in 3: open the first, named …-00001-of-00003.gguf"},
		{"missing file", func(dir string) string {
			p := three(dir)
			must(t, os.Remove(SplitPath(p, 2, 3)))
			return SplitPath(p, 0, 3)
		}, "split file 3 of 3"},
		{"wrong index", func(dir string) string {
			return SplitPath(writeSplits(t, dir, []splitPart{{[]string{"a"}, 0}, {[]string{"b"}, 2}}, -1), 0, 2)
		}, "split.no is 2, want 1"},
		{"no index", func(dir string) string {
			return SplitPath(writeSplits(t, dir, []splitPart{{[]string{"a"}, 0}, {[]string{"b"}, -1}}, -1), 0, 2)
		}, "split.no is missing from a split file"},
		{"duplicate tensor", func(dir string) string {
			return SplitPath(writeSplits(t, dir, []splitPart{{[]string{"a"}, 0}, {[]string{"a"}, 1}}, -1), 0, 2)
		}, `tensor "a" is also in an earlier split file`},
		{"tensor count", func(dir string) string {
			return SplitPath(writeSplits(t, dir, []splitPart{{[]string{"a"}, 0}, {[]string{"b"}, 1}}, 3), 0, 2)
		}, "split.tensors.count is 3 but the 2 files hold 2 tensors"},
		{"misnamed", func(dir string) string {
			p := three(dir)
			q := filepath.Join(dir, "renamed.gguf")
			must(t, os.Rename(SplitPath(p, 0, 3), q))
			return q
		}, "is the first of 3 split files but is not named PREFIX-00001-of-00003.gguf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Open(tc.make(t.TempDir()))
			if err == nil {
				f.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line containing %q", err, tc.want)
			}
			if tc.name != "missing file" && !errors.Is(err, ErrFormat) {
				t.Errorf("got %v, want ErrFormat", err)
			}
			if got := errors.Is(err, ErrSplitPart); got != (tc.name == "not the first") {
				t.Errorf("errors.Is(err, ErrSplitPart) = %v", got)
			}
		})
	}
}

// TestOpenSplitPart reads a later file of a split model alone with
// Options.SplitPart: its own tensors only.
func TestOpenSplitPart(t *testing.T) {
	prefix := writeSplits(t, t.TempDir(), []splitPart{{[]string{"a"}, 0}, {[]string{"b", "c"}, 1}}, -1)
	f, err := Open(SplitPath(prefix, 1, 2), Options{SplitPart: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Tensors) != 2 || f.Splits() != 1 {
		t.Fatalf("%d tensors in %d files, want 2 in 1", len(f.Tensors), f.Splits())
	}
	if v, err := f.TensorFloat32("c"); err != nil || fmt.Sprint(v) != fmt.Sprint(splitValues("c")) {
		t.Errorf("c: %v, %v", v, err)
	}
	g, err := Open(SplitPath(prefix, 0, 2), Options{SplitPart: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if len(g.Tensors) != 3 {
		t.Errorf("the first file with SplitPart: %d tensors, want the whole model's 3", len(g.Tensors))
	}
}
