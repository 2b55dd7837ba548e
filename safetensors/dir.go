package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/zerfoo/zerfoo/internal/mmap"
)

// The file names of a Hugging Face checkpoint folder.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// Checkpoint is the tensors of one or more safetensors files seen as one
// set: a whole file, or the tensors that a sharded checkpoint's index
// assigns to each shard.
type Checkpoint struct {
	// Files are the open files (one for an unsharded checkpoint; for a
	// sharded one, in the order of their first tensor by name).
	Files []*File
	// Metadata is the index's "metadata" object (such as total_size), or
	// the single file's __metadata__.
	Metadata map[string]any

	tensors map[string]*Tensor
}

// Names returns the names of all tensors, sorted.
func (c *Checkpoint) Names() []string {
	names := make([]string, 0, len(c.tensors))
	for n := range c.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len returns the number of tensors.
func (c *Checkpoint) Len() int { return len(c.tensors) }

// Tensor returns the tensor called name, or an error wrapping ErrNotFound.
func (c *Checkpoint) Tensor(name string) (*Tensor, error) {
	t, ok := c.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: no tensor %s in the checkpoint: %w", strconv.Quote(clip(name)), ErrNotFound)
	}
	return t, nil
}

// Close closes every file. Tensor data must not be used afterwards.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.Files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// OpenDir opens the checkpoint in the folder dir: the shards named by
// model.safetensors.index.json when it exists (see OpenIndex), otherwise
// model.safetensors. A folder with neither is an error wrapping
// fs.ErrNotExist.
func OpenDir(dir string, opts ...Options) (*Checkpoint, error) {
	idx := filepath.Join(dir, IndexFile)
	if _, err := os.Stat(idx); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return OpenIndex(idx, opts...)
	}
	single := filepath.Join(dir, SingleFile)
	f, err := Open(single, opts...)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("safetensors: %s has neither %s nor %s: %w", quoteName(dir), SingleFile, IndexFile, fs.ErrNotExist)
		}
		return nil, err
	}
	c := &Checkpoint{Files: []*File{f}, tensors: make(map[string]*Tensor, len(f.Tensors))}
	if f.Metadata != nil {
		c.Metadata = make(map[string]any, len(f.Metadata))
		for k, v := range f.Metadata {
			c.Metadata[k] = v
		}
	}
	for i := range f.Tensors {
		c.tensors[f.Tensors[i].Name] = &f.Tensors[i]
	}
	return c, nil
}

// maxIndex bounds the size of an index file; real ones are well under a
// megabyte.
const maxIndex = MaxHeader

// OpenIndex opens the sharded checkpoint described by the index file at
// path (model.safetensors.index.json): {"metadata": {…}, "weight_map":
// {tensor: shard file}}. Shard names are relative to the index's folder
// and must stay inside it. Every shard is opened (memory-mapped); a
// missing shard is an error naming the index, the shard and a tensor the
// index puts there (wrapping fs.ErrNotExist), and so is a tensor the index
// names but its shard lacks (wrapping ErrFormat). Tensors a shard holds
// that the index does not name are left out.
func OpenIndex(path string, opts ...Options) (*Checkpoint, error) {
	o := options(opts)
	fail := func(tensor, format string, args ...any) error {
		return &FormatError{File: path, Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
	}
	fh, err := mmap.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.Size() > maxIndex {
		fh.Close()
		return nil, fail("", "index of %d bytes is over the %d-byte limit", st.Size(), maxIndex)
	}
	if err := o.Budget.Check("safetensors index ("+strconv.FormatInt(st.Size(), 10)+" bytes of JSON) parsed", st.Size()*headerCost); err != nil {
		fh.Close()
		return nil, fmt.Errorf("safetensors: %s: %w", quoteName(path), err)
	}
	raw, err := io.ReadAll(io.LimitReader(fh, maxIndex+1))
	fh.Close()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx struct {
		Metadata  map[string]any    `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fail("", "bad index: %s", jsonMsg(err))
	}
	if len(idx.WeightMap) == 0 {
		return nil, fail("", "index has no weight_map")
	}
	dir := filepath.Dir(path)
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	sort.Strings(names)
	c := &Checkpoint{Metadata: idx.Metadata, tensors: make(map[string]*Tensor, len(names))}
	shards := map[string]*File{}
	for _, name := range names {
		shard := idx.WeightMap[name]
		f, ok := shards[shard]
		if !ok {
			if !filepath.IsLocal(shard) || strings.ContainsRune(shard, 0) {
				c.Close()
				return nil, fail(name, "shard %s is not a file inside the index's folder", strconv.Quote(clip(shard)))
			}
			f, err = Open(filepath.Join(dir, shard), o)
			if err != nil {
				c.Close()
				if errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("safetensors: %s: tensor %s: shard %s is missing: %w", quoteName(path), strconv.Quote(clip(name)), strconv.Quote(clip(shard)), fs.ErrNotExist)
				}
				return nil, err
			}
			shards[shard] = f
			c.Files = append(c.Files, f)
		}
		i, ok := f.index[name]
		if !ok {
			c.Close()
			return nil, fail(name, "the index puts it in shard %s, which has no such tensor", strconv.Quote(clip(shard)))
		}
		c.tensors[name] = &f.Tensors[i]
	}
	return c, nil
}
