package onnx

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// DefaultDomain is the ONNX operator set domain "ai.onnx", written as ""
// in models. MicrosoftDomain is ONNX Runtime's contrib op domain.
const (
	DefaultDomain   = ""
	MicrosoftDomain = "com.microsoft"
)

// Model is a parsed ONNX model: the protobuf message plus what is needed to
// resolve its external data. Models are safe for concurrent reads; Close
// releases memory-mapped external data files.
type Model struct {
	// Proto is the decoded model. Callers may read it; changing it while
	// other goroutines read the model is a data race.
	Proto *onnxpb.ModelProto
	// Dir is the directory that external data locations are relative to;
	// empty when the model was read from memory without a Dir, in which
	// case tensors with external data cannot be read.
	Dir string
	// Name is the model file (or the name given in ReadOptions), used in
	// error messages.
	Name string

	limit budget.Limit // what one tensor may decode to; 0 is budget.Default()
	mu    sync.Mutex
	files map[string]*mmap.File // external data files by clean location
}

// ReadOptions configures Read and Parse.
type ReadOptions struct {
	// Dir is the directory external data paths are relative to.
	Dir string
	// Name names the model in error messages (for example its file name).
	Name string
	// NoValidate skips Validate; the model is then only parsed.
	NoValidate bool
	// Budget bounds the bytes read and decoded: the serialized model, and
	// each tensor's data as decoded (dims × element size, 4-bit types one
	// byte per element), whether it is in the file, in the typed fields or
	// external. The zero Budget is budget.Default() (ZERFOO_MAX_ALLOC, or ¾
	// of physical memory). Errors wrap budget.ErrExceeded and name the
	// tensor.
	Budget budget.Limit
}

// Load reads the ONNX model file at path, with external data resolved
// relative to the file's directory, and validates it (see Model.Validate)
// against the default budget. The file is memory-mapped while it is parsed
// where the platform allows, so a large model is not held in memory twice.
// Only regular files are read: a directory, named pipe or device is refused
// at once, without blocking.
func Load(path string) (*Model, error) {
	data, release, err := readFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "read model", Err: err}
	}
	defer release()
	return Parse(data, ReadOptions{Dir: filepath.Dir(path), Name: path})
}

// Read reads a whole model from r and parses it like Parse. It stops
// reading once the model is larger than opts.Budget.
func Read(r io.Reader, opts ReadOptions) (*Model, error) {
	var buf bytes.Buffer
	max := opts.Budget.Bytes()
	if _, err := buf.ReadFrom(io.LimitReader(r, max+1)); err != nil {
		return nil, &Error{File: opts.Name, Msg: "read model", Err: err}
	}
	if int64(buf.Len()) > max {
		return nil, &Error{File: opts.Name, Msg: "read model", Err: &budget.Error{What: "the model", Bytes: uint64(buf.Len()), Limit: max}}
	}
	return Parse(buf.Bytes(), opts)
}

// Parse decodes a serialized ModelProto and, unless opts.NoValidate is set,
// validates it. The returned model does not alias data. A model larger
// than opts.Budget is refused before it is decoded (decoding copies it).
func Parse(data []byte, opts ReadOptions) (*Model, error) {
	if err := opts.Budget.Check("the model", int64(len(data))); err != nil {
		return nil, &Error{File: opts.Name, Msg: "parse", Err: err}
	}
	p := new(onnxpb.ModelProto)
	if err := proto.Unmarshal(data, p); err != nil {
		return nil, &Error{File: opts.Name, Msg: fmt.Sprintf("parse %d bytes: %v (truncated, or not an ONNX model?)", len(data), err), Err: ErrInvalid}
	}
	m := New(p, opts)
	if !opts.NoValidate {
		if err := m.Validate(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// New wraps a ModelProto built in memory (for example by a Builder) so that
// its tensors can be read; opts.Dir resolves external data. New does not
// validate.
func New(p *onnxpb.ModelProto, opts ReadOptions) *Model {
	return &Model{Proto: p, Dir: opts.Dir, Name: opts.Name, limit: opts.Budget}
}

// Budget returns the budget the model's tensors are decoded against (the
// one given in ReadOptions, resolved to the default when zero).
func (m *Model) Budget() budget.Limit {
	if m == nil {
		return budget.Limit(budget.Default())
	}
	return budget.Limit(m.limit.Bytes())
}

// Close unmaps the external data files the model has opened. Slices
// returned by TensorView and TensorBytes that alias them must not be used
// afterwards. Close is safe to call more than once.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var first error
	for k, f := range m.files {
		if err := f.Close(); err != nil && first == nil {
			first = &Error{File: m.Name, Msg: "close external data " + k, Err: err}
		}
	}
	m.files = nil
	return first
}

// Graph returns the model's main graph (nil if absent).
func (m *Model) Graph() *onnxpb.GraphProto { return m.Proto.GetGraph() }

// Opset is one entry of a model's opset_import.
type Opset struct {
	Domain  string // "" is the default ONNX domain (ai.onnx)
	Version int64
}

// Opsets returns the model's opset imports in file order, with the domain
// "ai.onnx" written as "".
func (m *Model) Opsets() []Opset {
	out := make([]Opset, 0, len(m.Proto.GetOpsetImport()))
	for _, o := range m.Proto.GetOpsetImport() {
		out = append(out, Opset{Domain: normDomain(o.GetDomain()), Version: o.GetVersion()})
	}
	return out
}

// OpsetVersion returns the imported version of domain ("" or "ai.onnx" for
// the default domain, "com.microsoft", ...) and whether it is imported.
func (m *Model) OpsetVersion(domain string) (int64, bool) {
	domain = normDomain(domain)
	for _, o := range m.Proto.GetOpsetImport() {
		if normDomain(o.GetDomain()) == domain {
			return o.GetVersion(), true
		}
	}
	return 0, false
}

func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

// Inputs returns the graph inputs that are not initializers: the values a
// caller must feed. (Before IR version 4 initializers were also listed as
// inputs; those are left out.)
func (m *Model) Inputs() []*onnxpb.ValueInfoProto {
	g := m.Graph()
	init := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		init[t.GetName()] = true
	}
	var out []*onnxpb.ValueInfoProto
	for _, in := range g.GetInput() {
		if !init[in.GetName()] {
			out = append(out, in)
		}
	}
	return out
}

// Outputs returns the graph outputs.
func (m *Model) Outputs() []*onnxpb.ValueInfoProto { return m.Graph().GetOutput() }

// Initializers returns the graph's (dense) initializers.
func (m *Model) Initializers() []*onnxpb.TensorProto { return m.Graph().GetInitializer() }

// Initializer returns the initializer called name, or nil.
func (m *Model) Initializer(name string) *onnxpb.TensorProto {
	for _, t := range m.Graph().GetInitializer() {
		if t.GetName() == name {
			return t
		}
	}
	return nil
}

// name returns the model's name for errors; m may be nil.
func (m *Model) name() string {
	if m == nil {
		return ""
	}
	return m.Name
}

// Dim is one dimension of a value's shape: a fixed size (Value, Param
// empty), a symbolic one (Param set) or unknown (Value < 0, Param empty).
type Dim struct {
	Value int64
	Param string
}

// String returns the size, the symbol, or "?".
func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value < 0:
		return "?"
	}
	return fmt.Sprint(d.Value)
}

// TensorType returns the element type and shape of a tensor-typed value.
// The shape is nil (and hasShape false) when the value has no shape, which
// in ONNX means its rank is unknown.
func TensorType(vi *onnxpb.ValueInfoProto) (dt DataType, shape []Dim, hasShape bool, err error) {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return 0, nil, false, &Error{Tensor: vi.GetName(), Msg: "value is not a tensor (or has no type)", Err: ErrUnsupported}
	}
	dt = DataType(tt.GetElemType())
	if tt.GetShape() == nil {
		return dt, nil, false, nil
	}
	shape = make([]Dim, 0, len(tt.GetShape().GetDim()))
	for _, d := range tt.GetShape().GetDim() {
		switch v := d.GetValue().(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			shape = append(shape, Dim{Value: v.DimValue})
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			shape = append(shape, Dim{Param: v.DimParam})
		default:
			shape = append(shape, Dim{Value: -1})
		}
	}
	return dt, shape, true, nil
}

// readFile returns the contents of path and a function that releases them.
func readFile(path string) ([]byte, func(), error) {
	mf, err := mmap.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return mf.Data(), func() { mf.Close() }, nil
}
