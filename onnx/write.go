package onnx

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// maxProtoSize is the largest serialized model protobuf parsers accept (2 GiB).
const maxProtoSize = 1<<31 - 1

// Marshal serializes p deterministically.
func Marshal(p *onnxpb.ModelProto) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return nil, &Error{Msg: "marshal model", Err: err}
	}
	if len(b) > maxProtoSize {
		return nil, &Error{Msg: fmt.Sprintf("model is %d bytes, over the 2 GiB protobuf limit (save with WriteOptions.ExternalData)", len(b)), Err: ErrUnsupported}
	}
	return b, nil
}

// Write serializes p to w. Tensors with external data keep referring to
// their files, relative to wherever the output ends up.
func Write(w io.Writer, p *onnxpb.ModelProto) error {
	b, err := Marshal(p)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return &Error{Msg: "write model", Err: err}
	}
	return nil
}

// WriteOptions controls Save.
type WriteOptions struct {
	// ExternalData, when not empty, is the file (relative to the model's
	// directory, '/'-separated) that receives the data of every initializer
	// of the main graph with at least ExternalThreshold bytes. When empty,
	// all data is stored inside the model file.
	ExternalData string
	// ExternalThreshold is the size in bytes from which an initializer goes
	// to ExternalData; 0 means 1024. Keep it well above the size of shape
	// tensors (Reshape's shape, Slice's starts, ...): ONNX Runtime's shape
	// inference cannot read external data and rejects such models.
	ExternalThreshold int
}

// externalAlign is the alignment of tensors in external data files: page
// size, so that each can be memory-mapped on its own, for tensors of at
// least that size, and 64 bytes for smaller ones.
const externalAlign = 4096

// Save writes p to path. See Model.Save.
func Save(path string, p *onnxpb.ModelProto, opts WriteOptions) error {
	return New(p, ReadOptions{}).Save(path, opts)
}

// Save writes the model to path, putting large initializers into an
// external data file as opts says. Initializers that already have external
// data are read through m (so a model loaded with external data can be
// saved elsewhere) and stored as opts says. The model itself is not
// modified.
func (m *Model) Save(path string, opts WriteOptions) error {
	if opts.ExternalThreshold <= 0 {
		opts.ExternalThreshold = 1024
	}
	if opts.ExternalData != "" && !localPath(opts.ExternalData) {
		return &Error{File: path, Msg: fmt.Sprintf("external data location %q is not a relative path inside the model directory", opts.ExternalData), Err: ErrInvalid}
	}
	if opts.ExternalData != "" && m.Dir != "" {
		same := filepath.Clean(m.Dir) == filepath.Clean(filepath.Dir(path))
		m.mu.Lock()
		_, open := m.files[filepath.Clean(filepath.FromSlash(opts.ExternalData))]
		m.mu.Unlock()
		if same && open {
			return &Error{File: path, Msg: fmt.Sprintf("external data file %q is the one the model reads from; save to another file", opts.ExternalData), Err: ErrInvalid}
		}
	}
	p := m.Proto
	g := p.GetGraph()
	needCopy := opts.ExternalData != ""
	for _, t := range g.GetInitializer() {
		needCopy = needCopy || IsExternal(t)
	}
	if !needCopy {
		return writeFile(path, p)
	}

	var ext *os.File
	var extW *bufio.Writer
	var off int64
	if opts.ExternalData != "" {
		var err error
		ext, err = os.Create(filepath.Join(filepath.Dir(path), filepath.FromSlash(opts.ExternalData)))
		if err != nil {
			return &Error{File: path, Msg: "create external data file", Err: err}
		}
		defer ext.Close()
		extW = bufio.NewWriterSize(ext, 1<<20)
	}
	inits := make([]*onnxpb.TensorProto, len(g.GetInitializer()))
	for i, t := range g.GetInitializer() {
		toExt := extW != nil && DataType(t.GetDataType()) != String
		var raw []byte
		if toExt || IsExternal(t) {
			var err error
			if raw, err = m.TensorBytes(t); err != nil {
				return err
			}
			toExt = toExt && len(raw) >= opts.ExternalThreshold
		}
		switch {
		case toExt:
			align := int64(64)
			if len(raw) >= externalAlign {
				align = externalAlign
			}
			if pad := (align - off%align) % align; pad > 0 {
				if _, err := extW.Write(make([]byte, pad)); err != nil {
					return &Error{File: path, Msg: "write external data", Err: err}
				}
				off += pad
			}
			if _, err := extW.Write(raw); err != nil {
				return &Error{File: path, Msg: "write external data", Err: err}
			}
			inits[i] = withData(t, nil, []*onnxpb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String(opts.ExternalData)},
				{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(off, 10))},
				{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(raw)))},
			})
			off += int64(len(raw))
		case IsExternal(t):
			inits[i] = withData(t, raw, nil)
		default:
			inits[i] = t
		}
	}
	if extW != nil {
		if err := extW.Flush(); err != nil {
			return &Error{File: path, Msg: "write external data", Err: err}
		}
		if err := ext.Close(); err != nil {
			return &Error{File: path, Msg: "write external data", Err: err}
		}
	}
	g2 := shallowCopy(g, "initializer")
	g2.Initializer = inits
	p2 := shallowCopy(p, "graph")
	p2.Graph = g2
	return writeFile(path, p2)
}

// withData returns a copy of t's metadata (name, dims, data type, doc) with
// its data in raw (when ext is nil) or external at ext.
func withData(t *onnxpb.TensorProto, raw []byte, ext []*onnxpb.StringStringEntryProto) *onnxpb.TensorProto {
	out := &onnxpb.TensorProto{
		Name:      t.Name,
		Dims:      t.Dims,
		DataType:  t.DataType,
		DocString: t.DocString,
	}
	if ext != nil {
		out.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		out.ExternalData = ext
	} else {
		out.RawData = raw
	}
	return out
}

// shallowCopy returns a new message whose fields, except skip, share src's
// values.
func shallowCopy[M proto.Message](src M, skip protoreflect.Name) M {
	s := src.ProtoReflect()
	d := s.New()
	s.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Name() != skip {
			d.Set(fd, v)
		}
		return true
	})
	d.SetUnknown(s.GetUnknown())
	return d.Interface().(M)
}

func writeFile(path string, p *onnxpb.ModelProto) error {
	b, err := Marshal(p)
	if err != nil {
		err.(*Error).File = path
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return &Error{File: path, Msg: "write model", Err: err}
	}
	return nil
}
