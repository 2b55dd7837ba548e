package gguf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zerfoo/zerfoo/internal/mmap"
)

// Split files: llama.cpp's gguf-split cuts a model into files named
// PREFIX-00001-of-0000N.gguf … PREFIX-0000N-of-0000N.gguf. The first holds
// every metadata entry and some tensors; each file has split.no (its
// 0-based index), split.count and its own tensor infos and data section,
// and the first says how many tensors all of them hold in
// split.tensors.count. Open, given the first file, opens the others and
// presents one File, as llama.cpp's model loader does.

// ErrSplitPart is wrapped (with ErrFormat) by Open's error for a file that
// is part of a split model but not its first: open the first, or set
// Options.SplitPart to read this file alone.
var ErrSplitPart = errors.New("gguf: not the first file of a split model")

// Split metadata keys.
const (
	KeySplitNo           = "split.no"
	KeySplitCount        = "split.count"
	KeySplitTensorsCount = "split.tensors.count"
)

// split is one further file of a split model.
type split struct {
	path       string
	data       []byte
	mapping    *mmap.File
	dataOffset int64
}

// SplitPath returns the name of file i (0-based) of a model split into n
// files with the given prefix, as llama.cpp names them
// (llama_split_path): PREFIX-%05d-of-%05d.gguf with i+1 and n.
func SplitPath(prefix string, i, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, i+1, n)
}

// splitCount returns f's split.count (1 when absent).
func (f *File) splitCount() (int, error) {
	v, ok := f.Lookup(KeySplitCount)
	if !ok {
		return 1, nil
	}
	n, ok := v.Uint()
	if !ok || n < 1 || n > 1<<16-1 {
		return 0, fmt.Errorf("gguf: metadata %s is %s %s, want a count from 1 to 65535: %w", KeySplitCount, v.Type, v.String(), ErrFormat)
	}
	return int(n), nil
}

// splitNo returns f's split.no, or an error naming path when it is
// missing or not a number.
func (f *File) splitNo(path string) (int, error) {
	v, ok := f.Lookup(KeySplitNo)
	if !ok {
		return 0, fmt.Errorf("gguf: %s: metadata %s is missing from a split file: %w", path, KeySplitNo, ErrFormat)
	}
	n, ok := v.Uint()
	if !ok || n > 1<<16-1 {
		return 0, fmt.Errorf("gguf: %s: metadata %s is %s %s, want an index: %w", path, KeySplitNo, v.Type, v.String(), ErrFormat)
	}
	return int(n), nil
}

// openSplits opens the other files of a split model whose first file, at
// path, f is; a file that is not split is left alone. Each further file's
// tensors are appended to f.Tensors (TensorInfo.Split says which file holds
// them). It fails, naming the file, when f is not the first file, when the
// names do not follow llama.cpp's scheme, when a file is missing or not
// the one its name says, when a tensor name repeats, or when the files
// hold another number of tensors than split.tensors.count.
func (f *File) openSplits(path string, o Options) error {
	n, err := f.splitCount()
	if err != nil || n == 1 {
		return err
	}
	no, err := f.splitNo(path)
	if err != nil {
		return err
	}
	suffix := SplitPath("", 0, n)
	if no != 0 {
		if o.SplitPart {
			return nil
		}
		return fmt.Errorf("gguf: %s is file %d of a model split in %d: open the first, named …%s: %w: %w", path, no+1, n, suffix, ErrSplitPart, ErrFormat)
	}
	prefix, ok := strings.CutSuffix(path, suffix)
	if !ok || prefix == "" {
		return fmt.Errorf("gguf: %s is the first of %d split files but is not named PREFIX%s, so the others cannot be found: %w", path, n, suffix, ErrFormat)
	}
	for i := 1; i < n; i++ {
		p := SplitPath(prefix, i, n)
		m, err := mmap.Open(p)
		if err != nil {
			return fmt.Errorf("gguf: split file %d of %d: %w", i+1, n, err)
		}
		g, err := parse(m.Data(), o.Budget)
		if err == nil {
			var no int
			if no, err = g.splitNo(p); err == nil && no != i {
				err = fmt.Errorf("gguf: %s: %s is %d, want %d: %w", p, KeySplitNo, no, i, ErrFormat)
			}
		} else {
			err = fmt.Errorf("%s: %w", p, err)
		}
		if err != nil {
			m.Close()
			return err
		}
		f.splits = append(f.splits, split{path: p, data: m.Data(), mapping: m, dataOffset: g.DataOffset})
		for _, t := range g.Tensors {
			if _, dup := f.tensors[t.Name]; dup {
				return fmt.Errorf("gguf: %s: tensor %q is also in an earlier split file: %w", p, t.Name, ErrFormat)
			}
			t.Split = i
			f.tensors[t.Name] = len(f.Tensors)
			f.Tensors = append(f.Tensors, t)
		}
	}
	if v, ok := f.Lookup(KeySplitTensorsCount); ok {
		if c, ok := v.Int(); !ok || c != int64(len(f.Tensors)) {
			return fmt.Errorf("gguf: %s: %s is %s but the %d files hold %d tensors: %w", path, KeySplitTensorsCount, v.String(), n, len(f.Tensors), ErrFormat)
		}
	}
	return nil
}

// closeSplits releases the mappings of the further split files.
func (f *File) closeSplits() error {
	var first error
	for i := range f.splits {
		if m := f.splits[i].mapping; m != nil {
			if err := m.Close(); err != nil && first == nil {
				first = err
			}
		}
		f.splits[i].mapping, f.splits[i].data = nil, nil
	}
	return first
}

// Splits returns the number of files f was read from: split.count for a
// split model opened by Open, else 1.
func (f *File) Splits() int { return 1 + len(f.splits) }

// Mapped reports whether all of f's files are memory-mapped (Open on a
// system with mmap), not read into memory or held in a buffer.
func (f *File) Mapped() bool {
	if f.mapping == nil || !f.mapping.Mapped() {
		return false
	}
	for _, s := range f.splits {
		if s.mapping == nil || !s.mapping.Mapped() {
			return false
		}
	}
	return true
}

// Regions returns the bytes of each file f was opened from, in split
// order (nil for a File from Read or Builder.View, or after Close).
func (f *File) Regions() [][]byte {
	if f.mapping == nil {
		return nil
	}
	r := [][]byte{f.data}
	for _, s := range f.splits {
		r = append(r, s.data)
	}
	return r
}
