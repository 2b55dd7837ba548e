package quantize

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// ONNX rewrites m's main graph in place: every MatMul (default domain)
// whose second input B is a 2-D float32 initializer [K, N] becomes a
// com.microsoft.MatMulNBits node with the same inputs A and output, named as
// ONNX Runtime's MatMulNBitsQuantizer names them: node <MatMul>_Q<bits>,
// initializers <B>_Q<bits> (uint8 [N, k_blocks, blob]), <B>_scales (float32
// [N·k_blocks]) and, when asymmetric, <B>_zero_points (uint8, packed,
// flat). The codes are numeric.QuantizeBlockwiseKN's (ORT's padding, so the
// bytes equal ORT's quantizer's). A float initializer that no other node
// or graph output uses is removed, and the com.microsoft opset (version 1)
// is imported. Other MatMuls are reported as skipped with the reason.
func ONNX(ctx context.Context, m *onnx.Model, opts Options) (*Report, error) {
	if !opts.Type.IsONNX() {
		return nil, fmt.Errorf("%w: type %q is not an ONNX type (mnb4, mnb8)", ErrInput, opts.Type)
	}
	bits := 4
	if opts.Type == MNB8 {
		bits = 8
	}
	bo := numeric.BlockOptions{Bits: bits, BlockSize: opts.blockSize(), Symmetric: !opts.Asymmetric, Padding: numeric.PadORT}
	if err := numeric.ValidateBlockParams(bo.Bits, bo.BlockSize); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if opts.AccuracyLevel < 0 || opts.AccuracyLevel > 4 {
		return nil, fmt.Errorf("%w: accuracy level %d outside 0..4", ErrInput, opts.AccuracyLevel)
	}
	g := m.Graph()
	if g == nil {
		return nil, fmt.Errorf("%w: %s has no graph", ErrInput, m.Name)
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
	}
	// uses counts every reference to a value: node inputs (also in
	// subgraphs, conservatively) and graph outputs.
	uses := map[string]int{}
	var count func(g *onnxpb.GraphProto)
	count = func(g *onnxpb.GraphProto) {
		for _, n := range g.GetNode() {
			for _, in := range n.GetInput() {
				uses[in]++
			}
			for _, a := range n.GetAttribute() {
				if a.GetG() != nil {
					count(a.GetG())
				}
				for _, sg := range a.GetGraphs() {
					count(sg)
				}
			}
		}
		for _, o := range g.GetOutput() {
			uses[o.GetName()]++
		}
	}
	count(g)

	var cands []int
	for i, n := range g.GetNode() {
		if n.GetOpType() == "MatMul" && n.GetDomain() == "" && len(n.GetInput()) == 2 {
			cands = append(cands, i)
		}
	}
	r := &Report{Type: opts.Type}
	removed := map[string]bool{}
	names := map[string]bool{}
	for _, t := range g.GetInitializer() {
		names[t.GetName()] = true
	}
	for done, i := range cands {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := g.Node[i]
		bName := n.GetInput()[1]
		if opts.Progress != nil {
			opts.Progress(done, len(cands), bName)
		}
		tr := TensorReport{Name: bName}
		t, ok := inits[bName]
		switch {
		case !ok:
			tr.Skipped = "B is not an initializer"
		case onnx.DataType(t.GetDataType()) != onnx.Float32:
			tr.Skipped = fmt.Sprintf("B is %s, not float32", onnx.DataType(t.GetDataType()))
		case len(t.GetDims()) != 2:
			tr.Skipped = fmt.Sprintf("B has rank %d, not 2", len(t.GetDims()))
		}
		if t != nil {
			tr.Shape = append([]int64(nil), t.GetDims()...)
		}
		if tr.Skipped != "" {
			if t != nil {
				tr.Type = onnx.DataType(t.GetDataType()).String()
			}
			r.Tensors = append(r.Tensors, tr)
			continue
		}
		k, nOut := int(t.GetDims()[0]), int(t.GetDims()[1])
		w, err := onnx.TensorData[float32](m, t)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		q, err := numeric.QuantizeBlockwiseKN(w, k, nOut, bo)
		if err != nil {
			return nil, fmt.Errorf("quantize: %s: initializer %q [%d, %d]: %w", m.Name, bName, k, nOut, err)
		}
		if err := fillError(&tr, q, w, k, nOut); err != nil {
			return nil, err
		}
		suffix := fmt.Sprintf("_Q%d", bits)
		qName := unique(names, bName+suffix)
		sName := unique(names, bName+"_scales")
		newInits := []*onnxpb.TensorProto{}
		bt, err := onnx.NewTensor(qName, onnx.Uint8, []int64{int64(nOut), int64(q.KBlocks()), int64(q.BlobSize())}, q.B)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		st, err := onnx.NewTensor(sName, onnx.Float32, []int64{int64(len(q.Scales))}, q.Scales)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		newInits = append(newInits, bt, st)
		inputs := []string{n.GetInput()[0], qName, sName}
		if q.ZeroPoints != nil {
			zName := unique(names, bName+"_zero_points")
			zt, err := onnx.NewTensor(zName, onnx.Uint8, []int64{int64(len(q.ZeroPoints))}, q.ZeroPoints)
			if err != nil {
				return nil, fmt.Errorf("quantize: %w", err)
			}
			newInits = append(newInits, zt)
			inputs = append(inputs, zName)
		}
		attrs := []onnx.Attr{{Name: "K", Value: int64(k)}, {Name: "N", Value: int64(nOut)},
			{Name: "bits", Value: int64(bits)}, {Name: "block_size", Value: int64(bo.BlockSize)}}
		if opts.AccuracyLevel != 0 {
			attrs = append(attrs, onnx.Attr{Name: "accuracy_level", Value: int64(opts.AccuracyLevel)})
		}
		nodeName := ""
		if n.GetName() != "" {
			nodeName = n.GetName() + suffix
		}
		np, err := onnx.NodeProto(onnx.Node{Name: nodeName, Op: "MatMulNBits", Domain: onnx.MicrosoftDomain,
			Inputs: inputs, Outputs: append([]string(nil), n.GetOutput()...), Attrs: attrs})
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		g.Node[i] = np
		g.Initializer = append(g.Initializer, newInits...)
		tr.Type = fmt.Sprintf("MatMulNBits %d-bit", bits)
		tr.After = int64(len(q.B) + 4*len(q.Scales) + len(q.ZeroPoints))
		if uses[bName]--; uses[bName] == 0 {
			removed[bName] = true
		}
		r.Tensors = append(r.Tensors, tr)
	}
	if opts.Progress != nil {
		opts.Progress(len(cands), len(cands), "")
	}
	if len(removed) > 0 {
		keep := g.Initializer[:0]
		for _, t := range g.Initializer {
			if !removed[t.GetName()] {
				keep = append(keep, t)
			}
		}
		g.Initializer = keep
		ins := g.Input[:0]
		for _, vi := range g.Input { // IR < 4 lists initializers as inputs
			if !removed[vi.GetName()] {
				ins = append(ins, vi)
			}
		}
		g.Input = ins
	}
	if _, _, nq := r.Totals(); nq > 0 {
		if _, ok := m.OpsetVersion(onnx.MicrosoftDomain); !ok {
			m.Proto.OpsetImport = append(m.Proto.OpsetImport, &onnxpb.OperatorSetIdProto{
				Domain: proto.String(onnx.MicrosoftDomain), Version: proto.Int64(1)})
		}
	}
	return r, nil
}

// fillError sets the error and the float size of a quantized KN weight.
func fillError(tr *TensorReport, q *numeric.BlockQuantized, wKN []float32, k, n int) error {
	nk := make([]float32, len(wKN))
	for i := range k {
		for j := range n {
			nk[j*k+i] = wKN[i*n+j]
		}
	}
	e, err := q.Error(nk)
	if err != nil {
		return fmt.Errorf("quantize: %s: %w", tr.Name, err)
	}
	tr.Quantized = true
	tr.RMSE, tr.MaxAbs, tr.RelRMSE = e.RMSE, e.MaxAbs, e.RelativeRMSE
	tr.Before = int64(4 * len(wKN))
	return nil
}

// unique returns name, or name with a numeric suffix if it is taken, and
// records it.
func unique(names map[string]bool, name string) string {
	u := name
	for i := 1; names[u]; i++ {
		u = fmt.Sprintf("%s_%d", name, i)
	}
	names[u] = true
	return u
}

func onnxFile(ctx context.Context, in, out string, opts Options) (*Report, error) {
	m, err := onnx.Load(in)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	defer m.Close()
	r, err := ONNX(ctx, m, opts)
	if err != nil {
		return nil, err
	}
	var wo onnx.WriteOptions
	for _, t := range m.Graph().GetInitializer() {
		if onnx.IsExternal(t) {
			wo.ExternalData = strings.TrimSuffix(filepath.Base(out), filepath.Ext(out)) + ".onnx.data"
			break
		}
	}
	if err := m.Save(out, wo); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	return r, nil
}
