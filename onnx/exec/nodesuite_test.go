package exec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// The ONNX backend node tests (onnx/backend/test/data/node: one directory
// per test with model.onnx and test_data_set_*/{input,output}_N.pb) run by
// TestNodeSuite. tools/onnx_node/generate.sh makes the whole suite;
// tools/onnx_node/subset.sh copies the small tests that pass into
// testdata/node, where CI runs them.

// Node-suite tolerances, those of the ONNX backend test runner and of
// tools/onnx_node/ort_suite.mjs: |got−want| ≤ atol + rtol·|want| for float
// outputs, exact equality for integers and bools.
const (
	nodeRtol = 1e-3
	nodeAtol = 1e-5
)

// nodeTimeout bounds one node test; a kernel that loops forever shows up as
// an error instead of hanging the suite.
const nodeTimeout = 2 * time.Minute

// nodeRefDiffs are tests whose reference outputs contradict the op's
// current specification, or that no implementation of it can reproduce
// (a sample of NumPy's random generator). When one of them mismatches it is
// counted as skipped, with the reason, instead of wrong; when it passes it
// is a pass.
var nodeRefDiffs = map[string]string{
	"test_cast_FLOAT_to_BFLOAT16": "onnx 1.12's reference truncates float32 to bfloat16; Cast rounds to nearest even " +
		"since onnx 1.13 (onnx/onnx#3876, #4193), as Zerfoo, ONNX Runtime and ml_dtypes do",
	"test_castlike_FLOAT_to_BFLOAT16_expanded": "as test_cast_FLOAT_to_BFLOAT16",
	"test_castlike_FLOAT_to_BFLOAT16":          "as test_cast_FLOAT_to_BFLOAT16",
	"test_adam_multiple": "the reference applies epsilon 1e-2 but the node sets none, so the spec's default 1e-6 applies " +
		"(onnx/backend/test/case/node/adam.py export_adam_multiple)",
	"test_bernoulli": "the reference is one draw of np.random.binomial, which the spec says no implementation need reproduce " +
		"(bernoulli.py: \"may not produce the same values in different implementations even if a seed is specified\"); " +
		"TestBernoulli checks the values and their frequencies",
	"test_bernoulli_double":          "as test_bernoulli",
	"test_bernoulli_seed":            "as test_bernoulli",
	"test_bernoulli_expanded":        "as test_bernoulli (RandomUniformLike)",
	"test_bernoulli_double_expanded": "as test_bernoulli (RandomUniformLike)",
	"test_bernoulli_seed_expanded":   "as test_bernoulli (RandomUniformLike)",
}

// nodeStatus classifies a node test.
type nodeStatus int

const (
	nodePass        nodeStatus = iota
	nodeUnsupported            // an op or element type without a kernel (ErrUnsupportedOp, onnx.ErrUnsupported)
	nodeWrong                  // ran, but an output differs from the reference
	nodeError                  // any other error
	nodeCrash                  // a panic: must never happen
	nodeSkipped                // inputs or outputs the runner cannot represent yet
	nodeStatuses
)

var nodeStatusNames = [nodeStatuses]string{"pass", "unsupported", "wrong", "error", "crash", "skipped"}

func (s nodeStatus) String() string { return nodeStatusNames[s] }

// nodeResult is the outcome of one node test.
type nodeResult struct {
	status nodeStatus
	op     string // the op the failure is charged to
	detail string
}

// TestNodeSuite runs the ONNX backend node tests in $ZERFOO_ONNX_NODE_DIR,
// or the committed subset in testdata/node. On the committed subset every
// test must pass. On a full suite unsupported ops and errors are only
// counted: the test fails on wrong results and panics. The summary line
// and the failures per op are logged, and written with every test's status
// to $ZERFOO_ONNX_NODE_REPORT when that is set.
func TestNodeSuite(t *testing.T) {
	dir := os.Getenv("ZERFOO_ONNX_NODE_DIR")
	full := dir != ""
	if !full {
		dir = filepath.Join("testdata", "node")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !full && errors.Is(err, os.ErrNotExist) {
			t.Skip("no committed node tests")
		}
		t.Fatal(err)
	}
	var counts [nodeStatuses]int
	perOp := map[string]*[nodeStatuses]int{}
	var lines []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			r := runNodeTest(filepath.Join(dir, name))
			if why, ok := nodeRefDiffs[name]; ok && r.status == nodeWrong {
				r = nodeResult{status: nodeSkipped, op: r.op, detail: "reference differs from the spec: " + why + " (" + r.detail + ")"}
			}
			counts[r.status]++
			if r.status != nodePass {
				c := perOp[r.op]
				if c == nil {
					c = new([nodeStatuses]int)
					perOp[r.op] = c
				}
				c[r.status]++
			}
			lines = append(lines, fmt.Sprintf("%s\t%s\t%s\t%s", name, r.status, r.op, oneLine(r.detail)))
			switch {
			case r.status == nodePass:
			case r.status == nodeWrong || r.status == nodeCrash || !full:
				t.Errorf("%s (%s): %s", r.status, r.op, r.detail)
			default:
				t.Logf("%s (%s): %s", r.status, r.op, r.detail)
			}
		})
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	summary := fmt.Sprintf("node suite: %d passed, %d unsupported, %d wrong, %d error, %d crash, %d skipped of %d",
		counts[nodePass], counts[nodeUnsupported], counts[nodeWrong], counts[nodeError], counts[nodeCrash], counts[nodeSkipped], total)
	ops := make([]string, 0, len(perOp))
	for op := range perOp {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		si, sj := sum(perOp[ops[i]][:]), sum(perOp[ops[j]][:])
		if si != sj {
			return si > sj
		}
		return ops[i] < ops[j]
	})
	var opLines []string
	for _, op := range ops {
		var parts []string
		for s, n := range perOp[op] {
			if n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, nodeStatus(s)))
			}
		}
		opLines = append(opLines, fmt.Sprintf("  %s: %s", op, strings.Join(parts, ", ")))
	}
	t.Log(summary)
	if len(opLines) > 0 {
		t.Log("failures per op:\n" + strings.Join(opLines, "\n"))
	}
	if path := os.Getenv("ZERFOO_ONNX_NODE_REPORT"); path != "" {
		sort.Strings(lines)
		report := summary + "\n\nfailures per op:\n" + strings.Join(opLines, "\n") +
			"\n\ntest\tstatus\top\tdetail\n" + strings.Join(lines, "\n") + "\n"
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func sum(c []int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// runNodeTest runs one test directory and classifies it; it recovers a
// panic as nodeCrash.
func runNodeTest(dir string) (r nodeResult) {
	m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nodeResult{status: nodeError, op: "load", detail: err.Error()}
	}
	defer m.Close()
	r.op = modelOps(m)
	defer func() {
		if p := recover(); p != nil {
			r = nodeResult{status: nodeCrash, op: r.op, detail: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	p, err := Compile(m)
	if err != nil {
		return classify(r.op, "compile", err)
	}
	sets, err := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if err != nil || len(sets) == 0 {
		return nodeResult{status: nodeError, op: r.op, detail: fmt.Sprintf("no test data sets (%v)", err)}
	}
	inputs, outputs := p.Inputs(), p.Outputs()
	for _, set := range sets {
		feeds := map[string]tensor.Any{}
		for i := 0; ; i++ {
			path := filepath.Join(set, fmt.Sprintf("input_%d.pb", i))
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				break
			}
			if i >= len(inputs) {
				return nodeResult{status: nodeError, op: r.op, detail: fmt.Sprintf("%s: input_%d.pb, but the model has %d inputs", set, i, len(inputs))}
			}
			ref, err := readRefValue(path, inputs[i].Kind)
			if err != nil {
				return classify(r.op, "input "+inputs[i].Name, err)
			}
			v, err := ref.value(inputs[i])
			if err != nil {
				return classify(r.op, "input "+inputs[i].Name, err)
			}
			feeds[inputs[i].Name] = v
		}
		ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
		got, err := p.Run(ctx, feeds)
		cancel()
		if err != nil {
			return classify(r.op, "run", err)
		}
		for i, out := range outputs {
			ref, err := readRefValue(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)), out.Kind)
			if err != nil {
				return classify(r.op, "reference output", err)
			}
			if msg, unsupported := ref.compare(got[out.Name], out); msg != "" {
				st := nodeWrong
				if unsupported {
					st = nodeUnsupported
				}
				return nodeResult{status: st, op: r.op, detail: fmt.Sprintf("%s: output %q: %s", filepath.Base(set), out.Name, msg)}
			}
		}
	}
	return nodeResult{status: nodePass, op: r.op}
}

// classify turns an error met while doing what into a result: unsupported
// when it wraps ErrUnsupportedOp or onnx.ErrUnsupported, error otherwise.
// The failure is charged to the op the error names, if any.
func classify(op, what string, err error) nodeResult {
	var e *Error
	if errors.As(err, &e) && e.Op != "" {
		op = e.Op
	}
	st := nodeError
	if errors.Is(err, ErrUnsupportedOp) || errors.Is(err, onnx.ErrUnsupported) {
		st = nodeUnsupported
	}
	return nodeResult{status: st, op: op, detail: what + ": " + err.Error()}
}

// modelOps names a model's ops: the op of a one-node graph, or the distinct
// ops joined by "+".
func modelOps(m *onnx.Model) string {
	seen := map[string]bool{}
	var ops []string
	for _, n := range m.Graph().GetNode() {
		op := n.GetOpType()
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			op = d + "." + op
		}
		if !seen[op] {
			seen[op] = true
			ops = append(ops, op)
		}
	}
	return strings.Join(ops, "+")
}

// refValue is a value of a test data file: a TensorProto, or (from the
// SequenceProto and OptionalProto of onnx-data.proto, which package onnxpb
// does not generate) a sequence or an optional.
type refValue struct {
	kind   ValueKind
	tensor *onnxpb.TensorProto
	seq    []*refValue // the elements of a sequence
	opt    *refValue   // the value of an optional; nil when empty
}

// readRefValue reads a test data file holding a value of the given kind.
func readRefValue(path string, kind ValueKind) (*refValue, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := parseRefValue(b, kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// parseRefValue decodes a TensorProto, SequenceProto or OptionalProto.
func parseRefValue(b []byte, kind ValueKind) (*refValue, error) {
	if kind == TensorValue {
		tp := new(onnxpb.TensorProto)
		if err := proto.Unmarshal(b, tp); err != nil {
			return nil, fmt.Errorf("%w: %w", onnx.ErrInvalid, err)
		}
		return &refValue{kind: TensorValue, tensor: tp}, nil
	}
	v := &refValue{kind: kind}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", onnx.ErrInvalid, protowire.ParseError(n))
		}
		b = b[n:]
		var field []byte
		if typ == protowire.BytesType {
			field, n = protowire.ConsumeBytes(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", onnx.ErrInvalid, protowire.ParseError(n))
		}
		b = b[n:]
		var elem *refValue
		var err error
		switch {
		case num == 3 && typ == protowire.BytesType:
			elem, err = parseRefValue(field, TensorValue)
		case num == 5 && typ == protowire.BytesType:
			elem, err = parseRefValue(field, SequenceValue)
		case num == 7 && typ == protowire.BytesType:
			elem, err = parseRefValue(field, OptionalValue)
		case num == 4 || num == 6:
			return nil, fmt.Errorf("sparse tensors and maps: %w", onnx.ErrUnsupported)
		default:
			continue // name, elem_type
		}
		if err != nil {
			return nil, err
		}
		if kind == SequenceValue {
			v.seq = append(v.seq, elem)
		} else {
			v.opt = elem
		}
	}
	return v, nil
}

// value turns a reference value into what Run takes for a value declared
// as info.
func (r *refValue) value(info ValueInfo) (tensor.Any, error) {
	switch r.kind {
	case SequenceValue:
		elem, err := dtypeOf(info.Type)
		if err != nil && info.Type != onnx.Undefined {
			return nil, err
		}
		s := &Sequence{Elem: elem}
		for _, e := range r.seq {
			v, err := e.value(ValueInfo{Kind: e.kind, Type: info.Type})
			if err != nil {
				return nil, err
			}
			s.Values = append(s.Values, v)
			s.Elem = v.DType()
		}
		return s, nil
	case OptionalValue:
		if r.opt == nil {
			return &Optional{}, nil
		}
		v, err := r.opt.value(ValueInfo{Kind: r.opt.kind, Type: info.Type})
		if err != nil {
			return nil, err
		}
		return &Optional{Value: v}, nil
	}
	bfloat16Bits(r.tensor, info.Type)
	return decodeTensor(nil, r.tensor, 0)
}

// compare compares got with the reference value r of an output declared as
// info: "" when they match; unsupported says the mismatch is a type this
// package cannot represent.
func (r *refValue) compare(got tensor.Any, info ValueInfo) (msg string, unsupported bool) {
	switch r.kind {
	case SequenceValue:
		s, ok := got.(*Sequence)
		if !ok {
			return fmt.Sprintf("got %s, want a sequence", valueKind(got)), false
		}
		if len(s.Values) != len(r.seq) {
			return fmt.Sprintf("sequence of %d, want %d", len(s.Values), len(r.seq)), false
		}
		for i, e := range r.seq {
			if msg, u := e.compare(s.Values[i], ValueInfo{Kind: e.kind, Type: info.Type}); msg != "" {
				return fmt.Sprintf("element %d: %s", i, msg), u
			}
		}
		return "", false
	case OptionalValue:
		o, ok := got.(*Optional)
		if !ok {
			return fmt.Sprintf("got %s, want an optional", valueKind(got)), false
		}
		if (o.Value == nil) != (r.opt == nil) {
			return fmt.Sprintf("got %v, want an optional with value %v", o, r.opt != nil), false
		}
		if r.opt == nil {
			return "", false
		}
		return r.opt.compare(o.Value, ValueInfo{Kind: r.opt.kind, Type: info.Type})
	}
	if got != nil && !isTensor(got) {
		return fmt.Sprintf("got %s, want a tensor", valueKind(got)), false
	}
	bfloat16Bits(r.tensor, info.Type)
	return compareNodeOutput(got, r.tensor)
}

// bfloat16Bits retypes a UINT16 tensor of a value the model declares
// BFLOAT16 as BFLOAT16: numpy has no bfloat16, so onnx 1.12 writes the
// bit patterns of bfloat16 test data as UINT16 tensors (the Cast tests).
func bfloat16Bits(tp *onnxpb.TensorProto, declared onnx.DataType) {
	if declared == onnx.BFloat16 && onnx.DataType(tp.GetDataType()) == onnx.Uint16 {
		tp.DataType = proto.Int32(int32(onnx.BFloat16))
	}
}

// compareNodeOutput compares got with the reference tensor want at the
// node-suite tolerances. It returns "" when they match, and says whether a
// mismatch is an element type this package cannot represent.
func compareNodeOutput(got tensor.Any, want *onnxpb.TensorProto) (msg string, unsupported bool) {
	return compareTensor(got, want, nodeRtol, nodeAtol)
}

// compareTensor is compareNodeOutput with float tolerances rtol and atol
// (|got−want| ≤ atol + rtol·|want|, numpy's assert_allclose).
func compareTensor(got tensor.Any, want *onnxpb.TensorProto, rtol, atol float64) (msg string, unsupported bool) {
	if got == nil {
		return "not produced", false
	}
	wt := onnx.DataType(want.GetDataType())
	wd, err := dtypeOf(wt)
	if err != nil {
		return err.Error(), true
	}
	if got.DType() != wd {
		return fmt.Sprintf("element type %s, want %s (%s)", got.DType(), wd, wt), false
	}
	wshape := make([]int, len(want.GetDims()))
	for i, d := range want.GetDims() {
		wshape[i] = int(d)
	}
	if !tensor.SameShape(got.Shape(), wshape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape(), wshape), false
	}
	wv, err := onnx.DecodeTensor(nil, want)
	if err != nil {
		return err.Error(), errors.Is(err, onnx.ErrUnsupported)
	}
	if ws, ok := wv.([][]byte); ok {
		gs := got.(*tensor.Strings).Data()
		for k := range ws {
			if gs[k] != string(ws[k]) {
				return fmt.Sprintf("element %d is %q, want %q", k, gs[k], ws[k]), false
			}
		}
		return "", false
	}
	gv := reflect.ValueOf(got).MethodByName("Data").Call(nil)[0].Interface()
	gf, gi, gu, err := canonical(gv)
	if err != nil {
		return err.Error(), true
	}
	f, i, u, err := canonical(wv)
	if err != nil {
		return err.Error(), true
	}
	var bad []string
	nbad := 0
	report := func(k int, g, w any) {
		if nbad < 3 {
			bad = append(bad, fmt.Sprintf("[%d] got %v, want %v", k, g, w))
		}
		nbad++
	}
	switch {
	case f != nil:
		for k := range f {
			if !closeEnough(gf[k], f[k], rtol, atol) {
				report(k, gf[k], f[k])
			}
		}
	case i != nil:
		for k := range i {
			if gi[k] != i[k] {
				report(k, gi[k], i[k])
			}
		}
	default:
		for k := range u {
			if gu[k] != u[k] {
				report(k, gu[k], u[k])
			}
		}
	}
	if nbad == 0 {
		return "", false
	}
	return fmt.Sprintf("%d of %d elements differ (rtol %g, atol %g): %s", nbad, got.Size(), rtol, atol, strings.Join(bad, ", ")), false
}

// closeEnough applies a tolerance; NaN matches NaN and infinities must be
// equal.
func closeEnough(g, w, rtol, atol float64) bool {
	switch {
	case math.IsNaN(w) || math.IsNaN(g):
		return math.IsNaN(w) && math.IsNaN(g)
	case math.IsInf(w, 0) || math.IsInf(g, 0):
		return g == w
	}
	return math.Abs(g-w) <= atol+rtol*math.Abs(w)
}

// canonical widens a slice of elements to float64 (float types), int64
// (signed integers) or uint64 (unsigned integers and bools).
func canonical(v any) (f []float64, i []int64, u []uint64, err error) {
	switch s := v.(type) {
	case []float32:
		f = widen[float32, float64](s)
	case []float64:
		f = s
	case []numeric.Float16:
		f = make([]float64, len(s))
		for k, x := range s {
			f[k] = x.Float64()
		}
	case []numeric.BFloat16:
		f = make([]float64, len(s))
		for k, x := range s {
			f[k] = x.Float64()
		}
	case []numeric.Float8E4M3FN:
		f = make([]float64, len(s))
		for k, x := range s {
			f[k] = float64(x.Float32())
		}
	case []numeric.Float8E5M2:
		f = make([]float64, len(s))
		for k, x := range s {
			f[k] = float64(x.Float32())
		}
	case []int8:
		i = widen[int8, int64](s)
	case []int16:
		i = widen[int16, int64](s)
	case []int32:
		i = widen[int32, int64](s)
	case []int64:
		i = s
	case []uint8:
		u = widen[uint8, uint64](s)
	case []uint16:
		u = widen[uint16, uint64](s)
	case []uint32:
		u = widen[uint32, uint64](s)
	case []uint64:
		u = s
	default:
		return nil, nil, nil, fmt.Errorf("cannot compare elements of type %T: %w", v, onnx.ErrUnsupported)
	}
	if f == nil && i == nil && u == nil { // an empty slice of some type
		switch v.(type) {
		case []float32, []float64, []numeric.Float16, []numeric.BFloat16, []numeric.Float8E4M3FN, []numeric.Float8E5M2:
			f = []float64{}
		case []int8, []int16, []int32, []int64:
			i = []int64{}
		default:
			u = []uint64{}
		}
	}
	return f, i, u, nil
}

func widen[S, D ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64](s []S) []D {
	d := make([]D, len(s))
	for k, x := range s {
		d[k] = D(x)
	}
	return d
}
