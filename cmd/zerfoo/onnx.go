package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zerfoo/zerfoo/npy"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/exec"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// onnxCmd groups the ONNX model commands.
type onnxCmd struct {
	Inspect onnxInspectCmd `cmd:"" help:"Print a model's opsets, inputs, outputs, op histogram and initializer sizes; exit non-zero if it uses ops Zerfoo does not support."`
	Run     onnxRunCmd     `cmd:"" help:"Run a model on .npy inputs and write every output as DIR/<name>.npy."`
	Bench   onnxBenchCmd   `cmd:"" help:"Time a model's runs (inputs from .npy files or generated from the declared shapes): latency percentiles and runs/s."`
}

type onnxInspectCmd struct {
	Model string `arg:"" help:"Path to the .onnx file."`
}

// Validate checks the argument before the model is read.
func (c *onnxInspectCmd) Validate() error {
	var ck checks
	ck.file("", c.Model)
	return ck.err
}

func (c *onnxInspectCmd) Run(ctx context.Context, s *streams) error {
	out := s.out
	m, err := onnx.Load(c.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	p := m.Proto
	fmt.Fprintf(out, "model: %s\nir_version: %d\nproducer: %s %s\n", c.Model, p.GetIrVersion(), p.GetProducerName(), p.GetProducerVersion())
	fmt.Fprintln(out, "opsets:")
	for _, o := range m.Opsets() {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		fmt.Fprintf(out, "  %s %d\n", d, o.Version)
	}
	printValues := func(title string, vis []*onnxValue) {
		fmt.Fprintln(out, title)
		for _, v := range vis {
			fmt.Fprintf(out, "  %s: %s %s\n", v.name, v.typ, v.shape)
		}
	}
	ins, err := describe(m.Inputs())
	if err != nil {
		return err
	}
	outs, err := describe(m.Outputs())
	if err != nil {
		return err
	}
	printValues("inputs:", ins)
	printValues("outputs:", outs)
	var total, external int64
	inits := m.Initializers()
	for _, t := range inits {
		n, err := onnx.NumElements(t.GetDims())
		if err != nil {
			continue
		}
		b := int64(onnx.DataType(t.GetDataType()).ByteSize(n))
		if b < 0 {
			continue
		}
		total += b
		if onnx.IsExternal(t) {
			external += b
		}
	}
	fmt.Fprintf(out, "initializers: %d, %d bytes (%d in external data)\n", len(inits), total, external)
	fmt.Fprintln(out, "ops:")
	var unsupported []string
	for _, o := range exec.Ops(m) {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		mark := ""
		if !o.Supported {
			mark = "  UNSUPPORTED"
			unsupported = append(unsupported, d+"."+o.Op)
		}
		fmt.Fprintf(out, "  %6d  %s.%s%s\n", o.Count, d, o.Op, mark)
	}
	if len(unsupported) > 0 {
		return fmt.Errorf("onnx inspect: %d unsupported op(s): %s", len(unsupported), strings.Join(unsupported, ", "))
	}
	return nil
}

type onnxValue struct{ name, typ, shape string }

type onnxValueInfo = onnxpb.ValueInfoProto

func describe(vis []*onnxValueInfo) ([]*onnxValue, error) {
	var res []*onnxValue
	for _, vi := range vis {
		dt, shape, hasShape, err := onnx.TensorType(vi)
		if err != nil {
			return nil, err
		}
		s := "[?]"
		if hasShape {
			parts := make([]string, len(shape))
			for i, d := range shape {
				parts[i] = d.String()
			}
			s = "[" + strings.Join(parts, ", ") + "]"
		}
		res = append(res, &onnxValue{vi.GetName(), dt.String(), s})
	}
	return res, nil
}

type onnxRunCmd struct {
	Model     string   `arg:"" help:"Path to the .onnx file."`
	Input     []string `help:"An input as NAME=FILE.npy (repeat for each input)." placeholder:"NAME=FILE.npy"`
	OutputDir string   `help:"Directory for the outputs (created if missing)." required:"" placeholder:"DIR"`
	// ExactScales is exec.ExactScales.
	ExactScales bool `help:"Keep exact float32 scales in accuracy-level-4 MatMulNBits nodes (ONNX Runtime's int8 results to float32 rounding; 5% more weight memory at block size 32)."`
}

// sanitize maps an output name to a file name: characters outside
// [A-Za-z0-9_.-] become '_'.
func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "" || s == "." || s == ".." {
		s = strings.Repeat("_", max(1, len(s)))
	}
	return s
}

// Validate checks the flags before the model is read.
func (c *onnxRunCmd) Validate() error {
	var ck checks
	ck.file("", c.Model)
	seen := map[string]bool{}
	for _, spec := range c.Input {
		name, file, ok := strings.Cut(spec, "=")
		ck.check(ok && name != "" && file != "", "--input", spec, "want NAME=FILE.npy")
		ck.check(!seen[name], "--input", spec, fmt.Sprintf("input %q given twice", name))
		seen[name] = true
		ck.file("--input "+name, file)
	}
	return ck.err
}

func (c *onnxRunCmd) Run(ctx context.Context, s *streams) error {
	m, err := onnx.Load(c.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	var opts []exec.CompileOption
	if c.ExactScales {
		opts = append(opts, exec.ExactScales())
	}
	p, err := exec.Compile(m, opts...)
	if err != nil {
		return err
	}
	feeds, err := readFeeds("onnx run", p, c.Input, true)
	if err != nil {
		return err
	}
	outs, err := p.Run(ctx, feeds)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.OutputDir, 0o755); err != nil {
		return fmt.Errorf("onnx run: %w", err)
	}
	seen := map[string]string{}
	for _, o := range p.Outputs() {
		fn := sanitize(o.Name) + ".npy"
		if prev, ok := seen[fn]; ok {
			return fmt.Errorf("onnx run: outputs %q and %q both map to %s", prev, o.Name, fn)
		}
		seen[fn] = o.Name
		path := filepath.Join(c.OutputDir, fn)
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("onnx run: %w", err)
		}
		err = npy.Write(f, outs[o.Name], o.Type == onnx.Bool)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("onnx run: output %q: %w", o.Name, err)
		}
		fmt.Fprintf(s.out, "%s: %s %v -> %s\n", o.Name, outs[o.Name].DType(), outs[o.Name].Shape(), path)
	}
	return nil
}

// readFeeds reads the --input NAME=FILE.npy specs of p's inputs. With all,
// every input must be given.
func readFeeds(cmd string, p *exec.Program, specs []string, all bool) (map[string]tensor.Any, error) {
	declared := map[string]onnx.DataType{}
	for _, in := range p.Inputs() {
		declared[in.Name] = in.Type
	}
	feeds := map[string]tensor.Any{}
	for _, spec := range specs {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("%s: --input wants NAME=FILE.npy, got %q", cmd, spec)
		}
		typ, ok := declared[name]
		if !ok {
			return nil, fmt.Errorf("%s: the model has no input %q", cmd, name)
		}
		if _, dup := feeds[name]; dup {
			return nil, fmt.Errorf("%s: input %q given twice", cmd, name)
		}
		a, err := readNpy(cmd, file)
		if err != nil {
			return nil, err
		}
		if a.Bool != (typ == onnx.Bool) {
			return nil, fmt.Errorf("%s: input %q: %s holds %s, the model wants %s", cmd, name, file, npyType(a), typ)
		}
		feeds[name] = a.Tensor
	}
	if all {
		for name := range declared {
			if _, ok := feeds[name]; !ok {
				return nil, fmt.Errorf("%s: missing --input %s=FILE.npy", cmd, name)
			}
		}
	}
	return feeds, nil
}

func npyType(a *npy.Array) string {
	if a.Bool {
		return "bool"
	}
	return a.Tensor.DType().String()
}

func readNpy(cmd, path string) (*npy.Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	defer f.Close()
	a, err := npy.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", cmd, path, err)
	}
	return a, nil
}
