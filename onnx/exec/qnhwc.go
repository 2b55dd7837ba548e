package exec

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// attrNHWC is the private attribute layoutNHWC sets on a QLinearConv or a
// MaxPool of codes that reads or writes channels-last tensors: bit 0 (1)
// says its data input is [N, H, W, C] instead of [N, C, H, W], bit 1 (2)
// that its output is [N, OH, OW, M] instead of [N, M, OH, OW]. Nothing
// else about the op changes.
const attrNHWC = "zerfoo.nhwc"

const (
	nhwcIn  = 1
	nhwcOut = 2
)

// permToNCHW is the Transpose perm from NHWC to NCHW.
var permToNCHW = []int64{0, 3, 1, 2}

// layoutNHWC makes the integer ops of a fused QDQ CNN (fuseQDQConv) pass
// channels-last codes to each other, as ONNX Runtime's NHWC transformer
// does: in NHWC a convolution's rows of A are runs of C contiguous bytes
// (a 1×1 convolution reads the image in place) and its requantized rows
// are the output, where NCHW costs a transpose of every input and output.
//
// The channels-last region, in graph order: every QLinearConv that
// qconv can run (initializer weights of rank 4, one group, initializer
// scales, zero points and bias); a MaxPool of one output and a 2-D
// kernel, and a com.microsoft.QLinearGlobalAveragePool (channels_last 0),
// whose input the region produces; a com.microsoft.QLinearAdd both of
// whose inputs it produces (an element-wise op gives the same result on
// both inputs permuted alike, broadcasting included). A region QLinearConv
// takes an NCHW input from outside and transposes it itself (attrNHWC
// bit 0 clear) and writes NCHW when no region op reads its result. The
// pooling becomes channels_last; the other results are renamed, and a
// Transpose back to NCHW under the old name follows any that something
// outside the region reads (a node, a subgraph, the graph's outputs).
func layoutNHWC(g *qdqGraph, nodes []*onnxpb.NodeProto) []*onnxpb.NodeProto {
	region := map[string]bool{} // values the region produces
	member := map[*onnxpb.NodeProto]bool{}
	producer := map[string]*onnxpb.NodeProto{}
	for _, n := range nodes {
		if g.nhwcMember(n, region) {
			member[n] = true
			region[n.GetOutput()[0]] = true
			producer[n.GetOutput()[0]] = n
		}
	}
	if len(member) == 0 {
		return nodes
	}
	// uses of each region value by region ops, and by anything
	inner := map[string]int{}
	for n := range member {
		for _, in := range n.GetInput() {
			if region[in] {
				inner[in]++
			}
		}
	}
	all := map[string]int{}
	names := map[string]bool{}
	for _, n := range nodes {
		countUses(n, all)
		for _, o := range n.GetOutput() {
			names[o] = true
		}
	}
	for name := range all {
		names[name] = true
	}
	for name := range g.inits {
		names[name] = true
	}
	renamed := map[string]string{}
	for v := range region {
		if producer[v].GetOpType() == "QLinearConv" && inner[v] == 0 {
			continue // no region op reads it: the conv writes NCHW
		}
		nv := v + "/nhwc"
		for i := 2; names[nv]; i++ {
			nv = fmt.Sprintf("%s/nhwc%d", v, i)
		}
		names[nv] = true
		renamed[v] = nv
	}
	out := make([]*onnxpb.NodeProto, 0, len(nodes)+2)
	for _, n := range nodes {
		if !member[n] {
			out = append(out, n)
			continue
		}
		c := proto.Clone(n).(*onnxpb.NodeProto)
		v := n.GetOutput()[0]
		nv, toNHWC := renamed[v]
		switch c.GetOpType() {
		case "QLinearConv", "MaxPool":
			mode := int64(0)
			if region[n.GetInput()[0]] {
				mode |= nhwcIn
			}
			if toNHWC {
				mode |= nhwcOut
			}
			a, _ := onnx.NewAttribute(attrNHWC, mode)
			c.Attribute = append(c.Attribute, a)
		case "QLinearGlobalAveragePool":
			for i, a := range c.Attribute {
				if a.GetName() == "channels_last" {
					c.Attribute = append(c.Attribute[:i:i], c.Attribute[i+1:]...)
					break
				}
			}
			a, _ := onnx.NewAttribute("channels_last", int64(1))
			c.Attribute = append(c.Attribute, a)
		}
		for i, in := range c.Input {
			if r, ok := renamed[in]; ok {
				c.Input[i] = r
			}
		}
		out = append(out, c)
		if !toNHWC {
			continue
		}
		c.Output[0] = nv
		if all[v] > inner[v] || g.outputs[v] {
			perm, _ := onnx.NewAttribute("perm", permToNCHW)
			out = append(out, &onnxpb.NodeProto{Name: proto.String(c.GetName() + "/nchw"), OpType: proto.String("Transpose"),
				Input: []string{nv}, Output: []string{v}, Attribute: []*onnxpb.AttributeProto{perm}})
		}
	}
	return out
}

// nhwcMember reports whether n joins the channels-last region of
// layoutNHWC, given the values the region produced before it.
func (g *qdqGraph) nhwcMember(n *onnxpb.NodeProto, region map[string]bool) bool {
	in, outs := n.GetInput(), n.GetOutput()
	if len(outs) != 1 || outs[0] == "" || len(in) == 0 {
		return false
	}
	switch {
	case n.GetOpType() == "QLinearConv" && defaultDomain(n):
		if len(in) < 8 || onnx.FindAttr(n, attrNHWC) != nil {
			return false
		}
		for i, name := range in {
			if i == 0 || (name == "" && (i == 5 || i == 8)) {
				continue
			}
			if _, ok := g.inits[name]; !ok {
				return false
			}
		}
		if w := g.inits[in[3]]; len(w.GetDims()) != 4 {
			return false
		}
		if gr, _ := onnx.AttrOr(n, "group", int64(1)); gr != 1 {
			return false
		}
		return true
	case n.GetOpType() == "MaxPool" && defaultDomain(n):
		k := onnx.FindAttr(n, "kernel_shape")
		return region[in[0]] && k != nil && len(k.GetInts()) == 2 && onnx.FindAttr(n, attrNHWC) == nil
	case n.GetOpType() == "QLinearGlobalAveragePool" && n.GetDomain() == onnx.MicrosoftDomain:
		cl, _ := onnx.AttrOr(n, "channels_last", int64(0))
		return region[in[0]] && cl == 0
	case n.GetOpType() == "QLinearAdd" && n.GetDomain() == onnx.MicrosoftDomain:
		return len(in) >= 5 && region[in[0]] && region[in[3]]
	}
	return false
}

// nhwcMode reads attrNHWC (0 when absent).
func nhwcMode(n *Node) (int64, error) {
	mode, err := n.Int(attrNHWC, 0)
	if err != nil {
		return 0, err
	}
	if mode < 0 || mode > nhwcIn|nhwcOut {
		return 0, attrErr("%s %d, want 0 to 3", attrNHWC, mode)
	}
	return mode, nil
}

// buildQLinearConv is QLinearConv: the general kernel (buildConvInteger),
// or with attrNHWC the packed one on channels-last tensors (the general
// one between transposes where the weights do not allow packing).
func buildQLinearConv(n *Node) (Kernel, error) {
	mode, err := nhwcMode(n)
	if err != nil {
		return nil, err
	}
	if mode == 0 {
		return buildConvInteger(true)(n)
	}
	w, err := readWindow(n, "QLinearConv", false)
	if err != nil {
		return nil, err
	}
	if qc := newQConv(n, w); qc != nil {
		qc.inNHWC, qc.outNHWC = mode&nhwcIn != 0, mode&nhwcOut != 0
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 8); err != nil {
				return nil, err
			}
			return qc.run(ctx, in[0])
		}), nil
	}
	k, err := buildConvInteger(true)(n)
	if err != nil {
		return nil, err
	}
	return nhwcAround(k, mode), nil
}

// buildMaxPool is MaxPool: the general kernel (buildPool), or with
// attrNHWC the 2-D one on channels-last codes.
func buildMaxPool(n *Node) (Kernel, error) {
	mode, err := nhwcMode(n)
	if err != nil {
		return nil, err
	}
	general, err := buildPool(poolMax)(n)
	if err != nil || mode == 0 {
		return general, err
	}
	w, err := readWindow(n, "MaxPool", true)
	if err != nil {
		return nil, err
	}
	if len(w.kernel) != 2 || (len(n.Proto.GetOutput()) > 1 && n.Proto.GetOutput()[1] != "") {
		return nhwcAround(general, mode), nil
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if mode&nhwcIn == 0 {
			if x.Dims() != 4 {
				return nil, shapeErr("MaxPool input %v, want 4 dims", x.Shape())
			}
			var err error
			if x, err = transpose(ctx, x, []int{0, 2, 3, 1}); err != nil {
				return nil, err
			}
		}
		y, err := maxPoolNHWC(ctx, x, w)
		if err != nil || mode&nhwcOut != 0 {
			return y, err
		}
		return transpose(ctx, y, []int{0, 3, 1, 2})
	}), nil
}

// nhwcAround runs the one-output NCHW kernel k on channels-last tensors
// as mode says: its first input transposed to NCHW, its output to NHWC.
func nhwcAround(k Kernel, mode int64) Kernel {
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if mode&nhwcIn != 0 && len(in) > 0 && in[0] != nil {
			if in[0].Dims() != 4 {
				return nil, shapeErr("NHWC input %v, want 4 dims", in[0].Shape())
			}
			x, err := transpose(ctx, in[0], []int{0, 3, 1, 2})
			if err != nil {
				return nil, err
			}
			in = append([]tensor.Any{x}, in[1:]...)
		}
		outs, err := k(ctx, in)
		if err != nil || mode&nhwcOut == 0 {
			return outs, err
		}
		if outs[0].Dims() != 4 {
			return nil, shapeErr("NHWC output %v, want 4 dims", outs[0].Shape())
		}
		y, err := transpose(ctx, outs[0], []int{0, 2, 3, 1})
		if err != nil {
			return nil, err
		}
		return append([]tensor.Any{y}, outs[1:]...), nil
	}
}
