package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/internal/mmap"
)

// MaxHeader is the largest JSON header accepted, in bytes: the limit of
// the reference (Rust) implementation.
const MaxHeader = 100_000_000

// headerCost is the most the parsed form of a header takes per byte of
// its JSON (names, shapes, map entries); the budget is checked for this
// multiple of the header length before parsing.
const headerCost = 4

// Tensor is one tensor of a file. Data is the tensor's bytes where they
// lie in the file (little-endian, row-major), not a copy: it is valid until
// the File (or Checkpoint) is closed and must not be written to.
type Tensor struct {
	Name  string
	DType DType
	Shape []int // outermost first, as in PyTorch; empty for a scalar
	Data  []byte
	// File is the path of the file holding the tensor ("" for Read),
	// Offset the position of Data in it.
	File   string
	Offset int64

	limit budget.Limit
}

// Elements returns the number of elements, the product of Shape.
func (t *Tensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// File is a parsed safetensors file. Tensors are in header order.
type File struct {
	Path     string
	Metadata map[string]string // the "__metadata__" entry; nil when absent
	Tensors  []Tensor
	// HeaderSize is the length of the JSON header; the data section
	// starts at 8 + HeaderSize.
	HeaderSize int64

	index   map[string]int
	mapping *mmap.File
}

// Options tunes Open, Read and OpenDir.
type Options struct {
	// Budget bounds what parsing a header or index allocates (checked as
	// headerCost × its length before parsing) and each Tensor.Float32
	// result. The zero Budget means budget.Default(). Tensor data is not
	// counted: it stays in the file's mapping.
	Budget budget.Limit
}

func options(opts []Options) Options {
	if len(opts) == 0 {
		return Options{}
	}
	return opts[len(opts)-1]
}

// Open memory-maps the safetensors file at path and parses its header.
// Tensor data is neither read nor copied, so opening a file of many
// gigabytes takes milliseconds. opts (at most one) sets the memory budget.
//
// A path that is not a regular file is refused without blocking (an error
// wrapping mmap.ErrNotRegular). A malformed file is a *FormatError naming
// path and, where the fault lies in one entry, the tensor; a header over
// the budget is an error wrapping budget.ErrExceeded.
func Open(path string, opts ...Options) (*File, error) {
	o := options(opts)
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := parse(m.Data(), path, o.Budget)
	if err != nil {
		m.Close()
		return nil, err
	}
	f.mapping = m
	return f, nil
}

// Read parses a safetensors file held in data. Tensor.Data slices refer to
// data without copying; data must not change while the File is in use.
// Errors are those of Open, without a path.
func Read(data []byte, opts ...Options) (*File, error) {
	return parse(data, "", options(opts).Budget)
}

// Close releases the mapping of a File returned by Open (a no-op for
// Read). Tensor data must not be used afterwards. It is safe to call more
// than once.
func (f *File) Close() error {
	if f.mapping == nil {
		return nil
	}
	m := f.mapping
	f.mapping = nil
	return m.Close()
}

// Tensor returns the tensor called name, or an error wrapping ErrNotFound.
func (f *File) Tensor(name string) (*Tensor, error) {
	i, ok := f.index[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %s: %w", quoteName(f.Path), strconv.Quote(clip(name)), ErrNotFound)
	}
	return &f.Tensors[i], nil
}

// tensorInfo is one tensor's entry in the header.
type tensorInfo struct {
	DType   string   `json:"dtype"`
	Shape   []uint64 `json:"shape"`
	Offsets []uint64 `json:"data_offsets"`
}

// parse decodes and validates the header of the file image b.
func parse(b []byte, path string, limit budget.Limit) (*File, error) {
	fail := func(tensor, format string, args ...any) error {
		return &FormatError{File: path, Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) < 8 {
		return nil, fail("", "file of %d bytes is shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	rest := uint64(len(b) - 8)
	switch {
	case n > MaxHeader:
		return nil, fail("", "header length %d is over the %d-byte limit", n, MaxHeader)
	case n > rest:
		return nil, fail("", "header length %d runs past the end of the file (%d bytes after the length)", n, rest)
	case n < 2:
		return nil, fail("", "header length %d is too short for a JSON object", n)
	}
	if err := limit.Check("safetensors header ("+strconv.FormatUint(n, 10)+" bytes of JSON) parsed", int64(n)*headerCost); err != nil {
		if path != "" {
			return nil, fmt.Errorf("safetensors: %s: %w", quoteName(path), err)
		}
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	hdr := b[8 : 8+n]
	data := b[8+n:]
	if hdr[0] != '{' {
		return nil, fail("", "header does not start with '{' (byte 0x%02x)", hdr[0])
	}
	if !utf8.Valid(hdr) {
		return nil, fail("", "header is not valid UTF-8")
	}
	f := &File{Path: path, HeaderSize: int64(n), index: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if _, err := dec.Token(); err != nil { // the '{' checked above
		return nil, fail("", "bad JSON header: %s", jsonMsg(err))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("", "bad JSON header: %s", jsonMsg(err))
		}
		name := tok.(string) // object keys are strings
		if name == "__metadata__" {
			if f.Metadata != nil {
				return nil, fail("", "__metadata__ appears twice")
			}
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return nil, fail("", "__metadata__ must map strings to strings: %s", jsonMsg(err))
			}
			if md == nil {
				md = map[string]string{}
			}
			f.Metadata = md
			continue
		}
		if _, dup := f.index[name]; dup {
			return nil, fail(name, "appears twice in the header")
		}
		var ti tensorInfo
		if err := dec.Decode(&ti); err != nil {
			return nil, fail(name, "bad entry: %s", jsonMsg(err))
		}
		t, msg := ti.check(data)
		if msg != "" {
			return nil, fail(name, "%s", msg)
		}
		t.Name, t.File, t.limit = name, path, limit
		t.Offset = int64(8+n) + int64(ti.Offsets[0])
		f.index[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fail("", "bad JSON header: %s", jsonMsg(err))
	}
	if end := dec.InputOffset(); len(bytes.TrimLeft(hdr[end:], " \t\r\n")) != 0 {
		return nil, fail("", "bytes after the JSON header object at offset %d", 8+end)
	}
	if name, msg := tiling(f.Tensors, int64(8+n), len(data)); msg != "" {
		return nil, fail(name, "%s", msg)
	}
	return f, nil
}

// check validates one header entry against the data section and returns
// the tensor, or a message saying what is wrong.
func (ti *tensorInfo) check(data []byte) (Tensor, string) {
	dt, ok := ParseDType(ti.DType)
	if !ok {
		return Tensor{}, fmt.Sprintf("unknown dtype %s", strconv.Quote(clip(ti.DType)))
	}
	if ti.Shape == nil {
		return Tensor{}, "no shape"
	}
	if len(ti.Offsets) != 2 {
		return Tensor{}, fmt.Sprintf("data_offsets has %d entries, want 2", len(ti.Offsets))
	}
	shape := make([]int, len(ti.Shape))
	for i, d := range ti.Shape {
		if d > math.MaxInt {
			return Tensor{}, fmt.Sprintf("dimension %d of shape %v is too large for this platform", d, ti.Shape)
		}
		shape[i] = int(d)
	}
	begin, end := ti.Offsets[0], ti.Offsets[1]
	if begin > end {
		return Tensor{}, fmt.Sprintf("data_offsets [%d, %d) end before they begin", begin, end)
	}
	if end > uint64(len(data)) {
		return Tensor{}, fmt.Sprintf("data_offsets [%d, %d) run past the end of the %d-byte data section", begin, end, len(data))
	}
	size, ok := budget.Product(dt.Size(), shape...)
	if !ok || uint64(size) != end-begin {
		want := "more than 2^63"
		if ok {
			want = strconv.FormatInt(size, 10)
		}
		return Tensor{}, fmt.Sprintf("data_offsets [%d, %d) hold %d bytes, but %s %v needs %s", begin, end, end-begin, dt, shape, want)
	}
	return Tensor{DType: dt, Shape: shape, Data: data[begin:end:end]}, ""
}

// tiling checks that the tensors' bytes tile the data section of n bytes:
// no overlap, no gap, nothing after the last tensor (as the format
// requires, so that no file is also something else). It returns the
// offending tensor, or "" and a message about the end of the section.
func tiling(ts []Tensor, base int64, n int) (string, string) {
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := &ts[order[a]], &ts[order[b]]
		return ta.Offset < tb.Offset || ta.Offset == tb.Offset && len(ta.Data) < len(tb.Data)
	})
	at, prev := base, ""
	for _, i := range order {
		t := &ts[i]
		switch {
		case t.Offset < at:
			return t.Name, fmt.Sprintf("data_offsets [%d, %d) overlap tensor %s", t.Offset-base, t.Offset-base+int64(len(t.Data)), strconv.Quote(clip(prev)))
		case t.Offset > at:
			return t.Name, fmt.Sprintf("data_offsets [%d, %d) leave a gap of %d bytes before them", t.Offset-base, t.Offset-base+int64(len(t.Data)), t.Offset-at)
		}
		at, prev = t.Offset+int64(len(t.Data)), t.Name
	}
	if end := base + int64(n); at != end {
		return "", fmt.Sprintf("%d bytes after the last tensor's data (the data section is %d bytes)", end-at, n)
	}
	return "", ""
}

// jsonMsg makes a decoding error's message one line, short and free of
// Go type names.
func jsonMsg(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		want := "a value of another type"
		switch te.Type.Kind() {
		case reflect.Uint64:
			want = "a non-negative integer"
		case reflect.String:
			want = "a string"
		case reflect.Slice:
			want = "an array"
		case reflect.Struct, reflect.Map:
			want = "an object"
		}
		where := ""
		if te.Field != "" {
			where = clip(te.Field) + ": "
		}
		return fmt.Sprintf("%s%s where %s belongs", where, te.Value, want)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "JSON ends early"
	}
	return clip(err.Error())
}
