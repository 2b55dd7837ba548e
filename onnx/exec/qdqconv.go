package exec

import (
	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// fuseQDQConv rewrites the QDQ patterns of a quantized CNN into integer
// ops, as ONNX Runtime's QDQ transformer does:
//
//	DQ(x), DQ(w), [DQ(b)] → Conv → Q  ⇒ QLinearConv
//	DQ(a), DQ(b) → Add → Q            ⇒ com.microsoft.QLinearAdd
//	DQ(x) → GlobalAveragePool → Q     ⇒ com.microsoft.QLinearGlobalAveragePool
//	DQ(x) → MaxPool | Flatten → Q     ⇒ MaxPool | Flatten of the codes
//	                                     (Q with the DQ's parameters)
//
// x, a and b are uint8 or int8 data (q8Type) with per-tensor constant
// parameters (q8Params), as is the Q, which must be the only consumer of
// the float result (no graph output). The Conv's w is an int8 or uint8
// initializer dequantized per tensor or per output channel (axis 0), its
// bias, if any, the dequantization of an int32 initializer with no zero
// point and scale x_scale·w_scale (elementwise equal constants). The
// com.microsoft patterns need that domain imported. DequantizeLinear nodes
// left without consumers are dropped. Fused nodes keep the float op's name.
// Last, layoutNHWC moves the integer ops to channels-last tensors.
func fuseQDQConv(g *qdqGraph, nodes []*onnxpb.NodeProto) []*onnxpb.NodeProto {
	uses, consumer := usesAndConsumers(nodes)
	// qAfter returns the Q that is the only consumer of n's result.
	qAfter := func(n *onnxpb.NodeProto) *onnxpb.NodeProto {
		outs := n.GetOutput()
		if len(outs) != 1 || uses[outs[0]] != 1 || g.outputs[outs[0]] {
			return nil
		}
		q := consumer[outs[0]]
		if q == nil || q.GetOpType() != "QuantizeLinear" || !defaultDomain(q) || q.GetInput()[0] != outs[0] || !g.q8Params(q) {
			return nil
		}
		return q
	}
	// dq8 returns the per-tensor DequantizeLinear producing name, or nil.
	dq8 := func(name string) *onnxpb.NodeProto {
		d := g.dq(name)
		if d == nil || !g.q8Params(d) {
			return nil
		}
		return d
	}
	replaced := map[*onnxpb.NodeProto]*onnxpb.NodeProto{}
	drop := map[*onnxpb.NodeProto]bool{}
	for _, n := range nodes {
		if !defaultDomain(n) || len(n.GetInput()) == 0 {
			continue
		}
		in := n.GetInput()
		var fused *onnxpb.NodeProto
		var q *onnxpb.NodeProto
		switch n.GetOpType() {
		case "Conv":
			dx := dq8(in[0])
			if dx == nil || len(in) < 2 {
				break
			}
			dw := g.dq(in[1])
			if dw == nil || !g.convWeight(dw) {
				break
			}
			bias := ""
			if len(in) > 2 && in[2] != "" {
				if bias = g.convBias(in[2], dx, dw); bias == "" {
					break
				}
			}
			if q = qAfter(n); q == nil {
				break
			}
			fused = &onnxpb.NodeProto{Name: n.Name, OpType: proto.String("QLinearConv"), Attribute: n.GetAttribute(),
				Input: []string{dx.GetInput()[0], dx.GetInput()[1], zp(dx), dw.GetInput()[0], dw.GetInput()[1], zp(dw), q.GetInput()[1], qzp(q), bias}}
		case "Add":
			if !g.ms || len(in) != 2 {
				break
			}
			da, db := dq8(in[0]), dq8(in[1])
			if da == nil || db == nil {
				break
			}
			if q = qAfter(n); q == nil || !g.sameQType(da, db, q) {
				break
			}
			fused = &onnxpb.NodeProto{Name: n.Name, OpType: proto.String("QLinearAdd"), Domain: proto.String(onnx.MicrosoftDomain),
				Input: []string{da.GetInput()[0], da.GetInput()[1], zp(da), db.GetInput()[0], db.GetInput()[1], zp(db), q.GetInput()[1], qzp(q)}}
		case "GlobalAveragePool":
			d := dq8(in[0])
			if !g.ms || d == nil {
				break
			}
			if q = qAfter(n); q == nil || !g.sameQType(d, d, q) {
				break
			}
			cl, _ := onnx.NewAttribute("channels_last", int64(0))
			fused = &onnxpb.NodeProto{Name: n.Name, OpType: proto.String("QLinearGlobalAveragePool"), Domain: proto.String(onnx.MicrosoftDomain),
				Attribute: []*onnxpb.AttributeProto{cl}, Input: []string{d.GetInput()[0], d.GetInput()[1], zp(d), q.GetInput()[1], qzp(q)}}
		case "MaxPool", "Flatten":
			d := dq8(in[0])
			if d == nil || len(n.GetOutput()) != 1 {
				break
			}
			if q = qAfter(n); q == nil || !g.sameParams(d, q) {
				break
			}
			fused = proto.Clone(n).(*onnxpb.NodeProto)
			fused.Input = []string{d.GetInput()[0]}
		}
		if fused == nil {
			continue
		}
		fused.Output = []string{q.GetOutput()[0]}
		replaced[n], drop[q] = fused, true
	}
	if len(replaced) == 0 {
		return layoutNHWC(g, nodes)
	}
	out := make([]*onnxpb.NodeProto, 0, len(nodes))
	for _, n := range nodes {
		switch {
		case drop[n]:
		case replaced[n] != nil:
			out = append(out, replaced[n])
		default:
			out = append(out, n)
		}
	}
	// drop the DequantizeLinear nodes nothing reads any more
	left := map[string]int{}
	for _, n := range out {
		countUses(n, left)
	}
	kept := out[:0]
	for _, n := range out {
		if n.GetOpType() == "DequantizeLinear" && defaultDomain(n) && len(n.GetOutput()) == 1 &&
			left[n.GetOutput()[0]] == 0 && uses[n.GetOutput()[0]] > 0 && !g.outputs[n.GetOutput()[0]] {
			continue
		}
		kept = append(kept, n)
	}
	return layoutNHWC(g, kept)
}

// convWeight reports whether DequantizeLinear d dequantizes an int8 or
// uint8 initializer of rank ≥ 3 per tensor or per output channel (axis 0,
// constant scales and zero points of the weight's type).
func (g *qdqGraph) convWeight(d *onnxpb.NodeProto) bool {
	in := d.GetInput()
	w, ok := g.inits[in[0]]
	if !ok || len(w.GetDims()) < 3 {
		return false
	}
	if g.q8Params(d) {
		return true
	}
	m := int(w.GetDims()[0])
	axis, _ := onnx.AttrOr(d, "axis", int64(1))
	if bs, _ := onnx.AttrOr(d, "block_size", int64(0)); bs != 0 || axis != 0 || g.constSize(in[1]) != m || f32Const(g, in[1]) == nil {
		return false
	}
	if z := zp(d); z != "" {
		t, ok := g.inits[z]
		if !ok || g.constSize(z) != m || onnx.DataType(t.GetDataType()) != onnx.DataType(w.GetDataType()) {
			return false
		}
	}
	return true
}

// convBias returns the int32 initializer that name dequantizes when its
// scale is x_scale·w_scale (per channel where w's is) and it has no zero
// point, else "".
func (g *qdqGraph) convBias(name string, dx, dw *onnxpb.NodeProto) string {
	dc := g.producer[name]
	if dc == nil || dc.GetOpType() != "DequantizeLinear" || !defaultDomain(dc) || len(dc.GetInput()) < 2 || zp(dc) != "" {
		return ""
	}
	c, ok := g.inits[dc.GetInput()[0]]
	if !ok || onnx.DataType(c.GetDataType()) != onnx.Int32 || len(c.GetDims()) != 1 {
		return ""
	}
	sx, sw, sc := f32Const(g, dx.GetInput()[1]), f32Const(g, dw.GetInput()[1]), f32Const(g, dc.GetInput()[1])
	if sx == nil || sw == nil || sc == nil || len(sx) != 1 || (len(sc) != len(sw) && len(sc) != 1) || (len(sc) != 1 && int(c.GetDims()[0]) != len(sc)) {
		return ""
	}
	if len(sc) > 1 {
		if axis, _ := onnx.AttrOr(dc, "axis", int64(1)); axis != 0 && axis != -1 {
			return ""
		}
	}
	for i, s := range sc {
		if s != sx[0]*sw[min(i, len(sw)-1)] {
			return ""
		}
	}
	return dc.GetInput()[0]
}

// zpType returns the quantized element type of a QuantizeLinear (its zero
// point's type; uint8 when absent) or DequantizeLinear (its data's type),
// or Undefined when that is not known at compile time.
func (g *qdqGraph) zpType(n *onnxpb.NodeProto) onnx.DataType {
	if n.GetOpType() == "DequantizeLinear" {
		// the type of its data: an initializer or a QuantizeLinear's output
		x := n.GetInput()[0]
		if t, ok := g.inits[x]; ok {
			return onnx.DataType(t.GetDataType())
		}
		if p := g.producer[x]; p != nil && p.GetOpType() == "QuantizeLinear" {
			return g.zpType(p)
		}
		return onnx.Undefined
	}
	z := qzp(n)
	if z == "" {
		return onnx.Uint8
	}
	t, ok := g.inits[z]
	if !ok {
		return onnx.Undefined
	}
	return onnx.DataType(t.GetDataType())
}

// sameQType reports whether the quantized inputs of a and b and the
// output of q share one type (com.microsoft's QLinear ops require it).
func (g *qdqGraph) sameQType(a, b, q *onnxpb.NodeProto) bool {
	t := g.zpType(q)
	if t == onnx.Undefined || g.zpType(a) != t || g.zpType(b) != t {
		return false
	}
	if od, _ := onnx.AttrOr(q, "output_dtype", int64(0)); od != 0 && od != int64(t) {
		return false
	}
	return true
}

// sameParams reports whether a DequantizeLinear and a QuantizeLinear have
// the same constant scale and zero point (so Q(op(DQ(x))) = op(x) for an
// op that only selects or moves values).
func (g *qdqGraph) sameParams(d, q *onnxpb.NodeProto) bool {
	if !g.sameQType(d, d, q) {
		return false
	}
	sd, sq := f32Const(g, d.GetInput()[1]), f32Const(g, q.GetInput()[1])
	if len(sd) != 1 || len(sq) != 1 || sd[0] != sq[0] || !(sd[0] > 0) {
		return false
	}
	zd, zq := zp(d), qzp(q)
	if zd == zq {
		return true
	}
	vd, vq := int8Const(g, zd), int8Const(g, zq)
	return vd != nil && vq != nil && vd[0] == vq[0]
}

// int8Const returns a uint8 or int8 scalar initializer as int, or nil; an
// absent name ("") is 0.
func int8Const(g *qdqGraph, name string) []int {
	if name == "" {
		return []int{0}
	}
	t, ok := g.inits[name]
	if !ok {
		return nil
	}
	switch onnx.DataType(t.GetDataType()) {
	case onnx.Uint8:
		v, err := onnx.TensorData[uint8](g.model, t)
		if err == nil && len(v) == 1 {
			return []int{int(v[0])}
		}
	case onnx.Int8:
		v, err := onnx.TensorData[int8](g.model, t)
		if err == nil && len(v) == 1 {
			return []int{int(v[0])}
		}
	}
	return nil
}
