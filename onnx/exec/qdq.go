package exec

import (
	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// QDQ fusion: a graph quantized in QDQ form (onnxruntime.quantization's
// default) keeps float ops between DequantizeLinear and QuantizeLinear
// nodes. Compile rewrites the matrix products among them into int8
// kernels, as ONNX Runtime's QDQ transformer does:
//
//	DQ(a), DQ(b) → MatMul → Q        ⇒ QLinearMatMul
//	DQ(a), DQ(b) → MatMul            ⇒ com.microsoft.MatMulIntegerToFloat
//	DQ(a), DQ(b), [DQ(c)] → Gemm → Q ⇒ com.microsoft.QGemm (quantized output)
//	DQ(a), DQ(b), [DQ(c)] → Gemm     ⇒ com.microsoft.QGemm (float output)
//
// A pattern is fused only when the result is exact in integers: the
// quantized inputs are uint8 or int8 (an initializer of that type, or the
// output of a QuantizeLinear to it), A's scale and zero point are
// per-tensor constants, B's per tensor or per column (axis 1 of a 2-D B),
// the Q's scale and zero point per-tensor constants, the product's output
// feeds that Q alone and is no graph output; a Gemm needs transA 0, beta 1
// and C (if any) the dequantization of an int32 initializer with scale
// a_scale·b_scale (elementwise equal constants) and no zero point.
// Patterns with a com.microsoft result need that domain imported. A
// DequantizeLinear left without consumers is dropped. Fused nodes keep
// the name of the MatMul or Gemm node.

// NoQDQFusion compiles QDQ graphs as written, each DequantizeLinear,
// float op and QuantizeLinear on its own (for tests and comparisons).
func NoQDQFusion() CompileOption { return func(c *compileConfig) { c.noQDQ = true } }

// qdqGraph indexes what the fusion needs to know about a graph.
type qdqGraph struct {
	inits    map[string]*onnxpb.TensorProto
	producer map[string]*onnxpb.NodeProto
	uses     map[string]int
	outputs  map[string]bool
	ms       bool // com.microsoft is imported
	model    *onnx.Model
}

// constSize returns the number of elements of initializer name, or -1.
func (g *qdqGraph) constSize(name string) int {
	t, ok := g.inits[name]
	if !ok {
		return -1
	}
	n := 1
	for _, d := range t.GetDims() {
		n *= int(d)
	}
	return n
}

// q8Type reports whether name is uint8 or int8 data: an initializer of that
// type or the output of a QuantizeLinear producing it.
func (g *qdqGraph) q8Type(name string) bool {
	if t, ok := g.inits[name]; ok {
		dt := onnx.DataType(t.GetDataType())
		return dt == onnx.Uint8 || dt == onnx.Int8
	}
	p := g.producer[name]
	if p == nil || p.GetOpType() != "QuantizeLinear" || !defaultDomain(p) {
		return false
	}
	return g.q8Params(p)
}

// q8Params reports whether a QuantizeLinear or DequantizeLinear node has a
// per-tensor constant scale and a uint8/int8 (or absent) constant zero
// point and no block size or output_dtype beyond those.
func (g *qdqGraph) q8Params(n *onnxpb.NodeProto) bool {
	in := n.GetInput()
	if len(in) < 2 || g.constSize(in[1]) != 1 {
		return false
	}
	if bs, _ := onnx.AttrOr(n, "block_size", int64(0)); bs != 0 {
		return false
	}
	if od, _ := onnx.AttrOr(n, "output_dtype", int64(0)); od != 0 && od != int64(onnx.Uint8) && od != int64(onnx.Int8) {
		return false
	}
	if len(in) > 2 && in[2] != "" {
		t, ok := g.inits[in[2]]
		if !ok || g.constSize(in[2]) != 1 {
			return false
		}
		if dt := onnx.DataType(t.GetDataType()); dt != onnx.Uint8 && dt != onnx.Int8 {
			return false
		}
	}
	return true
}

func defaultDomain(n *onnxpb.NodeProto) bool {
	return n.GetDomain() == "" || n.GetDomain() == "ai.onnx"
}

// dq returns the DequantizeLinear node producing name when its result is
// used only by fusable consumers' inputs (the caller checks them), else nil.
func (g *qdqGraph) dq(name string) *onnxpb.NodeProto {
	p := g.producer[name]
	if p == nil || p.GetOpType() != "DequantizeLinear" || !defaultDomain(p) || len(p.GetInput()) < 2 {
		return nil
	}
	if !g.q8Type(p.GetInput()[0]) {
		return nil
	}
	return p
}

// perColumnB reports whether a DequantizeLinear of a 2-D initializer B
// [K, N] is per tensor or per column.
func (g *qdqGraph) perColumnB(d *onnxpb.NodeProto) bool {
	if g.q8Params(d) {
		return true
	}
	in := d.GetInput()
	b, ok := g.inits[in[0]]
	if !ok || len(b.GetDims()) != 2 {
		return false
	}
	n := int(b.GetDims()[1])
	axis, _ := onnx.AttrOr(d, "axis", int64(1))
	if bs, _ := onnx.AttrOr(d, "block_size", int64(0)); bs != 0 || (axis != 1 && axis != -1) || g.constSize(in[1]) != n {
		return false
	}
	if len(in) > 2 && in[2] != "" {
		t, ok := g.inits[in[2]]
		if !ok || g.constSize(in[2]) != n || onnx.DataType(t.GetDataType()) != onnx.DataType(b.GetDataType()) {
			return false
		}
	}
	return true
}

// zp returns a DequantizeLinear's zero point input ("" when absent).
func zp(d *onnxpb.NodeProto) string {
	if len(d.GetInput()) > 2 {
		return d.GetInput()[2]
	}
	return ""
}

// countUses counts the inputs of n and of every node of its subgraphs
// (which may use any value of the enclosing graphs).
func countUses(n *onnxpb.NodeProto, uses map[string]int) {
	for _, in := range n.GetInput() {
		uses[in]++
	}
	for _, a := range n.GetAttribute() {
		gs := a.GetGraphs()
		if a.GetG() != nil {
			gs = append(gs, a.GetG())
		}
		for _, sg := range gs {
			for _, sn := range sg.GetNode() {
				countUses(sn, uses)
			}
			for _, o := range sg.GetOutput() {
				uses[o.GetName()]++
			}
		}
	}
}

// usesAndConsumers counts the uses of every value of nodes (countUses) and
// names, for each value, the last node reading it: the one consumer that
// the fusions look for when the count says there is only one.
func usesAndConsumers(nodes []*onnxpb.NodeProto) (map[string]int, map[string]*onnxpb.NodeProto) {
	uses := map[string]int{}
	consumer := map[string]*onnxpb.NodeProto{}
	for _, n := range nodes {
		countUses(n, uses)
		for _, in := range n.GetInput() {
			consumer[in] = n
		}
	}
	return uses, consumer
}

// fuseQDQ returns the nodes of gp (a graph of m) with the QDQ patterns
// above fused (the model is not modified).
func fuseQDQ(m *onnx.Model, gp *onnxpb.GraphProto, cfg compileConfig) []*onnxpb.NodeProto {
	nodes := gp.GetNode()
	if cfg.noQDQ {
		return nodes
	}
	g := &qdqGraph{inits: map[string]*onnxpb.TensorProto{}, producer: map[string]*onnxpb.NodeProto{}, uses: map[string]int{}, outputs: map[string]bool{}, model: m}
	_, g.ms = m.OpsetVersion(onnx.MicrosoftDomain)
	for _, t := range gp.GetInitializer() {
		g.inits[t.GetName()] = t
	}
	for _, n := range nodes {
		for _, o := range n.GetOutput() {
			g.producer[o] = n
		}
		countUses(n, g.uses)
	}
	for _, o := range gp.GetOutput() {
		g.outputs[o.GetName()] = true
	}
	replaced := map[*onnxpb.NodeProto]*onnxpb.NodeProto{} // product node → fused node
	dropped := map[*onnxpb.NodeProto]bool{}               // the Qs folded into fused nodes
	fusedUses := map[string]int{}                         // DQ outputs consumed by fused nodes
	for _, n := range nodes {
		if !defaultDomain(n) || (n.GetOpType() != "MatMul" && n.GetOpType() != "Gemm") {
			continue
		}
		in, outs := n.GetInput(), n.GetOutput()
		if len(in) < 2 || len(outs) != 1 {
			continue
		}
		da, db := g.dq(in[0]), g.dq(in[1])
		if da == nil || db == nil || !g.q8Params(da) || !g.perColumnB(db) {
			continue
		}
		// the Q consuming the product, if it is the only consumer
		var q *onnxpb.NodeProto
		if g.uses[outs[0]] == 1 && !g.outputs[outs[0]] {
			for _, c := range nodes {
				if len(c.GetInput()) > 0 && c.GetInput()[0] == outs[0] && c.GetOpType() == "QuantizeLinear" && defaultDomain(c) && g.q8Params(c) {
					q = c
				}
			}
		}
		fused := &onnxpb.NodeProto{Name: n.Name, Attribute: nil}
		aIn := []string{da.GetInput()[0], da.GetInput()[1], zp(da)}
		bIn := []string{db.GetInput()[0], db.GetInput()[1], zp(db)}
		switch n.GetOpType() {
		case "MatMul":
			if q != nil {
				fused.OpType = proto.String("QLinearMatMul")
				fused.Input = append(append(append([]string{}, aIn...), bIn...), q.GetInput()[1], qzp(q))
				fused.Output = []string{q.GetOutput()[0]}
			} else {
				if !g.ms {
					continue
				}
				fused.OpType, fused.Domain = proto.String("MatMulIntegerToFloat"), proto.String(onnx.MicrosoftDomain)
				fused.Input = []string{aIn[0], bIn[0], aIn[1], bIn[1], aIn[2], bIn[2]}
				fused.Output = outs
			}
		case "Gemm":
			if !g.ms || !gemmFusable(g, n, da, db) {
				continue
			}
			fused.OpType, fused.Domain = proto.String("QGemm"), proto.String(onnx.MicrosoftDomain)
			fused.Input = append(append([]string{}, aIn...), bIn...)
			if len(in) > 2 && in[2] != "" {
				fused.Input = append(fused.Input, g.producer[in[2]].GetInput()[0])
				fusedUses[in[2]]++
			} else {
				fused.Input = append(fused.Input, "")
			}
			for _, name := range []string{"alpha", "transB"} {
				if a := onnx.FindAttr(n, name); a != nil {
					fused.Attribute = append(fused.Attribute, a)
				}
			}
			if q != nil {
				fused.Input = append(fused.Input, q.GetInput()[1], qzp(q))
				fused.Output = []string{q.GetOutput()[0]}
			} else {
				fused.Output = outs
			}
		}
		replaced[n] = fused
		fusedUses[in[0]]++
		fusedUses[in[1]]++
		if q != nil && len(fused.Output) == 1 && fused.Output[0] == q.GetOutput()[0] {
			dropped[q] = true
		}
	}
	if len(replaced) == 0 {
		return fuseEpilogues(g, fuseDynamic(g, fuseQDQConv(g, nodes)))
	}
	out := make([]*onnxpb.NodeProto, 0, len(nodes))
	for _, n := range nodes {
		switch {
		case dropped[n]:
		case replaced[n] != nil:
			out = append(out, replaced[n])
		case n.GetOpType() == "DequantizeLinear" && defaultDomain(n) && len(n.GetOutput()) == 1 &&
			fusedUses[n.GetOutput()[0]] == g.uses[n.GetOutput()[0]] && !g.outputs[n.GetOutput()[0]]:
			// every consumer was fused
		default:
			out = append(out, n)
		}
	}
	return fuseEpilogues(g, fuseDynamic(g, fuseQDQConv(g, out)))
}

// fuseDynamic rewrites what quantize_dynamic writes for a MatMul,
//
//	xq, xs, xz = DynamicQuantizeLinear(x)
//	y = Mul(Cast(MatMulInteger(xq, W, xz, wz), FLOAT), Mul(xs, ws))
//
// with W and ws initializers, into com.microsoft.DynamicQuantizeMatMul(x,
// W, ws, wz), as ONNX Runtime's MatMulIntegerToFloat and
// DynamicQuantizeMatMul fusions do (the same arithmetic: float32(acc) ·
// (xs·ws)). Every intermediate must have no other consumer and be no graph
// output; the Muls may have their operands either way round.
func fuseDynamic(g *qdqGraph, nodes []*onnxpb.NodeProto) []*onnxpb.NodeProto {
	if !g.ms {
		return nodes
	}
	prod := map[string]*onnxpb.NodeProto{}
	for _, n := range nodes {
		for _, o := range n.GetOutput() {
			prod[o] = n
		}
	}
	private := func(name string, uses int) bool { return g.uses[name] == uses && !g.outputs[name] }
	is := func(n *onnxpb.NodeProto, op string) bool { return n != nil && n.GetOpType() == op && defaultDomain(n) }
	replaced := map[*onnxpb.NodeProto]*onnxpb.NodeProto{}
	drop := map[*onnxpb.NodeProto]bool{}
	for _, mul := range nodes {
		if !is(mul, "Mul") || len(mul.GetInput()) != 2 || len(mul.GetOutput()) != 1 {
			continue
		}
		for side := 0; side < 2; side++ {
			cast, sc := prod[mul.GetInput()[side]], prod[mul.GetInput()[1-side]]
			if !is(cast, "Cast") || !is(sc, "Mul") || len(cast.GetInput()) != 1 || len(sc.GetInput()) != 2 {
				continue
			}
			if to, _ := onnx.AttrOr(cast, "to", int64(0)); to != int64(onnx.Float32) {
				continue
			}
			mmi := prod[cast.GetInput()[0]]
			if !is(mmi, "MatMulInteger") || len(mmi.GetInput()) < 3 || !private(cast.GetInput()[0], 1) || !private(cast.GetOutput()[0], 1) || !private(sc.GetOutput()[0], 1) {
				continue
			}
			dql := prod[mmi.GetInput()[0]]
			if !is(dql, "DynamicQuantizeLinear") || len(dql.GetOutput()) != 3 {
				continue
			}
			xq, xs, xz := dql.GetOutput()[0], dql.GetOutput()[1], dql.GetOutput()[2]
			if mmi.GetInput()[0] != xq || mmi.GetInput()[2] != xz || !private(xq, 1) || !private(xz, 1) || !private(xs, 1) {
				continue
			}
			w := mmi.GetInput()[1]
			wt, ok := g.inits[w]
			if !ok || len(wt.GetDims()) != 2 || (onnx.DataType(wt.GetDataType()) != onnx.Int8 && onnx.DataType(wt.GetDataType()) != onnx.Uint8) {
				continue
			}
			ws := ""
			switch {
			case sc.GetInput()[0] == xs:
				ws = sc.GetInput()[1]
			case sc.GetInput()[1] == xs:
				ws = sc.GetInput()[0]
			}
			if n := g.constSize(ws); n != 1 && n != int(wt.GetDims()[1]) || f32Const(g, ws) == nil {
				continue
			}
			wz := ""
			if len(mmi.GetInput()) > 3 {
				wz = mmi.GetInput()[3]
			}
			replaced[mul] = &onnxpb.NodeProto{Name: mmi.Name, OpType: proto.String("DynamicQuantizeMatMul"), Domain: proto.String(onnx.MicrosoftDomain),
				Input: []string{dql.GetInput()[0], w, ws, wz}, Output: mul.GetOutput()}
			drop[dql], drop[mmi], drop[cast], drop[sc] = true, true, true, true
			break
		}
	}
	if len(replaced) == 0 {
		return nodes
	}
	out := make([]*onnxpb.NodeProto, 0, len(nodes))
	for _, n := range nodes {
		switch {
		case replaced[n] != nil:
			out = append(out, replaced[n])
		case !drop[n]:
			out = append(out, n)
		}
	}
	return out
}

// The private attributes fuseEpilogues sets on the integer products whose
// epilogue does the work of the node after them.
const (
	// attrDequantize on a QLinearMatMul: inputs 8 and 9 are the scale and
	// zero point of the DequantizeLinear of its result, which it outputs.
	attrDequantize = "zerfoo.dequantize"
	// attrBiasGelu on a product with a float result: its last input is the
	// bias of the com.microsoft.BiasGelu of that result, which it outputs.
	attrBiasGelu = "zerfoo.bias_gelu"
	// attrBias on a QLinearMatMul with attrDequantize: input qmmBias is a
	// bias added to its float result (the bias of the MultiHeadAttention
	// that reads the result as its packed query, key and value).
	attrBias = "zerfoo.bias"
)

// Input positions of the fused operands (optional inputs before them are
// padded with "").
const (
	qmmDQScale = 8  // QLinearMatMul: the DequantizeLinear's scale, then zero point
	qmmGelu    = 10 // QLinearMatMul with attrDequantize: the BiasGelu's bias
	qmmBias    = 11 // QLinearMatMul with attrDequantize and attrBias: the bias
	dqmmBias   = 4  // com.microsoft.DynamicQuantizeMatMul's own bias input
	mmiToFBias = 6  // com.microsoft.MatMulIntegerToFloat's own bias input
	dqmmGelu   = 5  // com.microsoft.DynamicQuantizeMatMul
	mmiToFGelu = 7  // com.microsoft.MatMulIntegerToFloat
)

// attrPackedQKV on a com.microsoft.MultiHeadAttention: its query input is
// the tensor [B, S, 3·D] that a Split on the last axis cut into query, key
// and value; the heads are read from it in place.
const attrPackedQKV = "zerfoo.packed_qkv"

// qkvSplit returns the Split whose three equal parts of the last axis are,
// in order, the query, key and value of MultiHeadAttention n and nothing
// else, when n has no past and outputs no present (else nil).
func (g *qdqGraph) qkvSplit(n *onnxpb.NodeProto, uses map[string]int) *onnxpb.NodeProto {
	if n.GetOpType() != "MultiHeadAttention" || n.GetDomain() != onnx.MicrosoftDomain || len(n.GetInput()) < 3 {
		return nil
	}
	in, outs := n.GetInput(), n.GetOutput()
	if len(in) > 6 && in[6] != "" || len(in) > 7 && in[7] != "" || len(outs) > 1 && outs[1] != "" || len(outs) > 2 && outs[2] != "" {
		return nil
	}
	sp := g.producer[in[0]]
	if sp == nil || sp.GetOpType() != "Split" || !defaultDomain(sp) || len(sp.GetOutput()) != 3 {
		return nil
	}
	for i, o := range sp.GetOutput() {
		if in[i] != o || uses[o] != 1 || g.outputs[o] {
			return nil
		}
	}
	if axis, _ := onnx.AttrOr(sp, "axis", int64(0)); axis != -1 {
		return nil
	}
	if a := onnx.FindAttr(sp, "split"); a != nil {
		return nil
	}
	if si := sp.GetInput(); len(si) > 1 && si[1] != "" {
		t, ok := g.inits[si[1]]
		if !ok || onnx.DataType(t.GetDataType()) != onnx.Int64 {
			return nil
		}
		v, err := onnx.TensorData[int64](g.model, t)
		if err != nil || len(v) != 3 || v[0] != v[1] || v[1] != v[2] {
			return nil
		}
	}
	return sp
}

// fuseEpilogues folds into an integer product the nodes after it that its
// epilogue can compute while the block of results is in cache, as ONNX
// Runtime fuses activations into its kernels:
//
//	QLinearMatMul → DequantizeLinear ⇒ QLinearMatMul with attrDequantize
//	(that, DynamicQuantizeMatMul or MatMulIntegerToFloat) → BiasGelu
//	                                 ⇒ the product with attrBiasGelu
//
//	(that, DynamicQuantizeMatMul or MatMulIntegerToFloat) → Split →
//	MultiHeadAttention with a bias ⇒ the product adds the bias
//	                                 (its own bias input, or attrBias)
//
// The arithmetic is the same: the codes requantized then dequantized, the
// GELU of the float result plus the bias, the float result plus the
// attention's bias (one float32 addition, as MultiHeadAttention does it
// per head). The DequantizeLinear must be per tensor with constant
// parameters (q8Params), the BiasGelu's and the attention's bias float32
// initializers; each intermediate has that one consumer and is no graph
// output.
func fuseEpilogues(g *qdqGraph, nodes []*onnxpb.NodeProto) []*onnxpb.NodeProto {
	uses, consumer := usesAndConsumers(nodes)
	// next returns the only consumer of n's single output if it is op.
	next := func(n *onnxpb.NodeProto, op, domain string) *onnxpb.NodeProto {
		outs := n.GetOutput()
		if len(outs) != 1 || uses[outs[0]] != 1 || g.outputs[outs[0]] {
			return nil
		}
		c := consumer[outs[0]]
		if c == nil || c.GetOpType() != op || len(c.GetOutput()) != 1 || len(c.GetInput()) == 0 || c.GetInput()[0] != outs[0] {
			return nil
		}
		if d := c.GetDomain(); d != domain && (domain != "" || d != "ai.onnx") {
			return nil
		}
		return c
	}
	pad := func(in []string, n int) []string {
		in = append([]string(nil), in...)
		for len(in) < n {
			in = append(in, "")
		}
		return in
	}
	flag := func(n *onnxpb.NodeProto, name string) {
		a, _ := onnx.NewAttribute(name, int64(1))
		n.Attribute = append(n.Attribute, a)
	}
	drop := map[*onnxpb.NodeProto]bool{}
	packed := map[*onnxpb.NodeProto]*onnxpb.NodeProto{} // MultiHeadAttention → its packed form
	// packed forms with a float32 constant bias, by the tensor they read
	biased := map[string]*onnxpb.NodeProto{}
	for _, n := range nodes {
		if sp := g.qkvSplit(n, uses); sp != nil {
			m := proto.Clone(n).(*onnxpb.NodeProto)
			m.Input[0], m.Input[1], m.Input[2] = sp.GetInput()[0], "", ""
			flag(m, attrPackedQKV)
			packed[n], drop[sp] = m, true
			if in := m.GetInput(); len(in) > 3 && in[3] != "" && f32Const(g, in[3]) != nil && uses[in[0]] == 1 && !g.outputs[in[0]] {
				biased[in[0]] = m
			}
		}
	}
	out := make([]*onnxpb.NodeProto, 0, len(nodes))
	for _, n := range nodes {
		if drop[n] {
			continue
		}
		if m := packed[n]; m != nil {
			out = append(out, m)
			continue
		}
		cur, gelu := n, -1
		switch {
		case n.GetOpType() == "QLinearMatMul" && defaultDomain(n) && len(n.GetInput()) <= 8:
			d := next(n, "DequantizeLinear", "")
			if d == nil || !g.q8Params(d) {
				break
			}
			cur = proto.Clone(n).(*onnxpb.NodeProto)
			cur.Input = append(pad(n.GetInput(), qmmDQScale), d.GetInput()[1], zp(d))
			cur.Output = d.GetOutput()
			flag(cur, attrDequantize)
			drop[d] = true
			gelu = qmmGelu
		case n.GetOpType() == "DynamicQuantizeMatMul" && n.GetDomain() == onnx.MicrosoftDomain && len(n.GetInput()) <= dqmmGelu:
			gelu = dqmmGelu
		case n.GetOpType() == "MatMulIntegerToFloat" && n.GetDomain() == onnx.MicrosoftDomain && len(n.GetInput()) <= mmiToFGelu:
			gelu = mmiToFGelu
		}
		if gelu >= 0 {
			if bg := next(cur, "BiasGelu", onnx.MicrosoftDomain); bg != nil && len(bg.GetInput()) == 2 && g.inits[bg.GetInput()[1]] != nil {
				if cur == n {
					cur = proto.Clone(n).(*onnxpb.NodeProto)
				}
				cur.Input = append(pad(cur.GetInput(), gelu), bg.GetInput()[1])
				cur.Output = bg.GetOutput()
				flag(cur, attrBiasGelu)
				drop[bg] = true
			}
		}
		if outs := cur.GetOutput(); gelu >= 0 && len(outs) == 1 && biased[outs[0]] != nil && (cur.GetOpType() != "QLinearMatMul" || f32Const(g, cur.GetInput()[qmmDQScale]) != nil) {
			m := biased[outs[0]]
			if cur == n {
				cur = proto.Clone(n).(*onnxpb.NodeProto)
			}
			if fuseBias(cur, m.Input[3], pad, flag) {
				m.Input[3] = ""
			}
		}
		out = append(out, cur)
	}
	return out
}

// fuseBias gives product n (a float result, no BiasGelu) the bias b: its
// own bias input when it has one and that is empty, else (QLinearMatMul
// with attrDequantize) input qmmBias and attrBias. It reports whether it
// did.
func fuseBias(n *onnxpb.NodeProto, b string, pad func([]string, int) []string, flag func(*onnxpb.NodeProto, string)) bool {
	if onnx.FindAttr(n, attrBiasGelu) != nil {
		return false
	}
	at := dqmmBias
	switch n.GetOpType() {
	case "QLinearMatMul":
		n.Input = append(pad(n.GetInput(), qmmBias), b)
		flag(n, attrBias)
		return true
	case "MatMulIntegerToFloat":
		at = mmiToFBias
	}
	if in := n.GetInput(); len(in) > at && in[at] != "" {
		return false
	}
	n.Input = pad(n.GetInput(), at+1)
	n.Input[at] = b
	return true
}

func qzp(q *onnxpb.NodeProto) string {
	if len(q.GetInput()) > 2 {
		return q.GetInput()[2]
	}
	return ""
}

// gemmFusable checks a Gemm's attributes and its bias for QGemm.
func gemmFusable(g *qdqGraph, n, da, db *onnxpb.NodeProto) bool {
	if ta, _ := onnx.AttrOr(n, "transA", int64(0)); ta != 0 {
		return false
	}
	if beta, _ := onnx.AttrOr(n, "beta", float32(1)); beta != 1 {
		return false
	}
	in := n.GetInput()
	if len(in) < 3 || in[2] == "" {
		return true
	}
	dc := g.producer[in[2]]
	if dc == nil || dc.GetOpType() != "DequantizeLinear" || !defaultDomain(dc) || len(dc.GetInput()) < 2 || zp(dc) != "" {
		return false
	}
	c, ok := g.inits[dc.GetInput()[0]]
	if !ok || onnx.DataType(c.GetDataType()) != onnx.Int32 {
		return false
	}
	// C's scale must be a_scale·b_scale: check the constants.
	sa, sb, sc := f32Const(g, da.GetInput()[1]), f32Const(g, db.GetInput()[1]), f32Const(g, dc.GetInput()[1])
	if sa == nil || sb == nil || sc == nil || len(sa) != 1 || (len(sc) != len(sb) && len(sc) != 1) {
		return false
	}
	for i, s := range sc {
		if s != sa[0]*sb[min(i, len(sb)-1)] {
			return false
		}
	}
	return true
}

// f32Const returns the values of a float32 initializer, or nil.
func f32Const(g *qdqGraph, name string) []float32 {
	t, ok := g.inits[name]
	if !ok || onnx.DataType(t.GetDataType()) != onnx.Float32 {
		return nil
	}
	v, err := onnx.TensorData[float32](g.model, t)
	if err != nil {
		return nil
	}
	return v
}
