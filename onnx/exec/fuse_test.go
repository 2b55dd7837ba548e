package exec

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// fuseGraph builds a one-output float32 model from nodes; consts become
// initializers, inputs are fed at run time.
type fuseGraph struct {
	nodes  []onnx.Node
	consts map[string]*tensor.Tensor[float32]
	inputs map[string]*tensor.Tensor[float32]
}

func (fg fuseGraph) model(t *testing.T) *onnx.Model {
	t.Helper()
	b := onnx.NewBuilder("fuse", onnx.Opset{Domain: "", Version: 21})
	for _, name := range sortedKeys(fg.inputs) {
		b.Input(name, onnx.Float32, dimsAny(fg.inputs[name])...)
	}
	b.Output("y", onnx.Float32, nil)
	for _, name := range sortedKeys(fg.consts) {
		c := fg.consts[name]
		dims := make([]int64, c.Dims())
		for i, d := range c.Shape() {
			dims[i] = int64(d)
		}
		onnx.Initializer(b, name, onnx.Float32, dims, c.Data())
	}
	for _, n := range fg.nodes {
		b.AddNode(n)
	}
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return onnx.New(p, onnx.ReadOptions{})
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

func node(name, op string, ins, outs []string, attrs ...onnx.Attr) onnx.Node {
	return onnx.Node{Name: name, Op: op, Inputs: ins, Outputs: outs, Attrs: attrs}
}

// bnParams adds the constants of a BatchNormalization over c channels
// named p.scale, p.b, p.mean and p.var (var positive).
func bnParams(r *rand.Rand, consts map[string]*tensor.Tensor[float32], p string, c int) []string {
	consts[p+".scale"] = randN(r, c)
	consts[p+".b"] = randN(r, c)
	consts[p+".mean"] = randN(r, c)
	v := randN(r, c)
	for i, x := range v.Data() {
		v.Data()[i] = 0.5 + float32(math.Abs(float64(x)))
	}
	consts[p+".var"] = v
	return []string{p + ".scale", p + ".b", p + ".mean", p + ".var"}
}

// TestFusion checks that the fused program computes what the unfused one
// (NoConstantFolding) does, and that the fusions that should happen do:
// the steps left are the ones listed.
func TestFusion(t *testing.T) {
	r := rnd(31)
	pads := at("pads", []int64{1, 0, 2, 1})
	type tc struct {
		name  string
		fg    fuseGraph
		steps []string // steps of the fused program
	}
	var cases []tc
	add := func(name string, steps []string, nodes []onnx.Node, consts, inputs map[string]*tensor.Tensor[float32]) {
		cases = append(cases, tc{name, fuseGraph{nodes, consts, inputs}, steps})
	}
	{ // Conv (no bias, strided, padded) → BN → Relu
		cs := map[string]*tensor.Tensor[float32]{"w": randN(r, 5, 3, 3, 2)}
		bn := bnParams(r, cs, "bn", 5)
		add("conv_bn_relu", []string{"conv"}, []onnx.Node{
			node("conv", "Conv", []string{"x", "w"}, []string{"c"}, pads, at("strides", []int64{2, 1})),
			node("bn", "BatchNormalization", append([]string{"c"}, bn...), []string{"n"}, at("epsilon", float32(1e-3))),
			node("relu", "Relu", []string{"n"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 2, 3, 9, 7)})
	}
	{ // Conv (bias, dilated) → BN → Mul C×1×1 → Add scalar → Sum with an earlier Conv → Relu
		cs := map[string]*tensor.Tensor[float32]{"w": randN(r, 4, 3, 3, 3), "b": randN(r, 4), "w2": randN(r, 4, 3, 1, 1),
			"s": randN(r, 4, 1, 1), "t": randN(r, 1)}
		bn := bnParams(r, cs, "bn", 4)
		add("conv_bn_mul_add_sum_relu", []string{"short", "conv"}, []onnx.Node{
			node("short", "Conv", []string{"x", "w2"}, []string{"sc"}),
			node("conv", "Conv", []string{"x", "w", "b"}, []string{"c"}, at("pads", []int64{2, 2, 2, 2}), at("dilations", []int64{2, 2})),
			node("bn", "BatchNormalization", append([]string{"c"}, bn...), []string{"n"}),
			node("mul", "Mul", []string{"s", "n"}, []string{"m"}),
			node("add", "Add", []string{"m", "t"}, []string{"a"}),
			node("sum", "Sum", []string{"sc", "a"}, []string{"z"}),
			node("relu", "Relu", []string{"z"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 1, 3, 6, 5)})
	}
	{ // depthwise Conv (bias) → BN → Add of the input → Relu
		cs := map[string]*tensor.Tensor[float32]{"w": randN(r, 4, 1, 3, 3), "b": randN(r, 4)}
		bn := bnParams(r, cs, "bn", 4)
		add("depthwise_bn_add_relu", []string{"conv"}, []onnx.Node{
			node("conv", "Conv", []string{"x", "w", "b"}, []string{"c"}, at("group", int64(4)), at("pads", []int64{1, 1, 1, 1})),
			node("bn", "BatchNormalization", append([]string{"c"}, bn...), []string{"n"}),
			node("add", "Add", []string{"n", "x"}, []string{"a"}),
			node("relu", "Relu", []string{"a"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 2, 4, 5, 6)})
	}
	{ // the residual is computed after the Conv: the Add stays; grouped 1-D conv, Mul by C×1
		cs := map[string]*tensor.Tensor[float32]{"w": randN(r, 6, 2, 3), "s": randN(r, 6, 1)}
		add("residual_after", []string{"conv", "sig", "add"}, []onnx.Node{
			node("conv", "Conv", []string{"x", "w"}, []string{"c"}, at("group", int64(2)), at("pads", []int64{1, 1})),
			node("mul", "Mul", []string{"c", "s"}, []string{"m"}),
			node("sig", "Sigmoid", []string{"x2"}, []string{"g"}),
			node("add", "Add", []string{"m", "g"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 1, 4, 8), "x2": randN(r, 1, 6, 8)})
	}
	{ // residuals that broadcast: fused, computed by the Add's own kernel
		cs := map[string]*tensor.Tensor[float32]{"w": randN(r, 3, 2, 1, 1)}
		add("residual_broadcast", []string{"conv"}, []onnx.Node{
			node("conv", "Conv", []string{"x", "w"}, []string{"c"}),
			node("add", "Add", []string{"res", "c"}, []string{"a"}),
			node("relu", "Relu", []string{"a"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 1, 2, 3, 4), "res": randN(r, 2, 3, 1, 4)})
	}
	{ // a Conv read twice: nothing fuses
		cs := map[string]*tensor.Tensor[float32]{"w": randN(r, 3, 2, 2, 2)}
		bn := bnParams(r, cs, "bn", 3)
		add("shared", []string{"conv", "bn", "add"}, []onnx.Node{
			node("conv", "Conv", []string{"x", "w"}, []string{"c"}),
			node("bn", "BatchNormalization", append([]string{"c"}, bn...), []string{"n"}),
			node("add", "Add", []string{"n", "c"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 1, 2, 4, 4)})
	}
	{ // BN → Mul C×1×1 → Add 1×C×1×1 → Relu (DenseNet's pre-activation)
		cs := map[string]*tensor.Tensor[float32]{"s": randN(r, 5, 1, 1), "t": randN(r, 1, 5, 1, 1)}
		bn := bnParams(r, cs, "bn", 5)
		add("bn_mul_add_relu", []string{"bn"}, []onnx.Node{
			node("bn", "BatchNormalization", append([]string{"x"}, bn...), []string{"n"}),
			node("mul", "Mul", []string{"n", "s"}, []string{"m"}),
			node("add", "Add", []string{"t", "m"}, []string{"a"}),
			node("relu", "Relu", []string{"a"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 2, 5, 3, 2)})
	}
	{ // a Mul whose constant runs along the last dim (C = W = 5): fused,
		// but not per channel at rank 4, so the run takes the unfused path
		cs := map[string]*tensor.Tensor[float32]{"s": randN(r, 5)}
		bn := bnParams(r, cs, "bn", 5)
		add("bn_mul_last_dim", []string{"bn"}, []onnx.Node{
			node("bn", "BatchNormalization", append([]string{"x"}, bn...), []string{"n"}),
			node("mul", "Mul", []string{"n", "s"}, []string{"m"}),
			node("relu", "Relu", []string{"m"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 1, 5, 2, 5)})
	}
	{ // a Conv's Mul by a constant that does not broadcast per channel stays
		cs := map[string]*tensor.Tensor[float32]{"w": randN(r, 3, 2, 1, 1), "s": randN(r, 4)}
		add("conv_mul_last_dim", []string{"conv", "mul"}, []onnx.Node{
			node("conv", "Conv", []string{"x", "w"}, []string{"c"}),
			node("mul", "Mul", []string{"c", "s"}, []string{"y"}),
		}, cs, map[string]*tensor.Tensor[float32]{"x": randN(r, 1, 2, 3, 4)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.fg.model(t)
			fused, err := Compile(m)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := Compile(m, NoConstantFolding())
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, st := range fused.main.steps {
				steps = append(steps, st.name)
			}
			if !slices.Equal(steps, c.steps) {
				t.Errorf("fused steps %v, want %v", steps, c.steps)
			}
			feeds := map[string]tensor.Any{}
			for k, v := range c.fg.inputs {
				feeds[k] = v
			}
			got, err := fused.Run(context.Background(), feeds)
			if err != nil {
				t.Fatal(err)
			}
			want, err := plain.Run(context.Background(), feeds)
			if err != nil {
				t.Fatal(err)
			}
			g, w := got["y"].(*tensor.Tensor[float32]), want["y"].(*tensor.Tensor[float32])
			if !slices.Equal(g.Shape(), w.Shape()) {
				t.Fatalf("shape %v, want %v", g.Shape(), w.Shape())
			}
			for i, wv := range w.Data() {
				if gv := g.Data()[i]; math.Abs(float64(gv-wv)) > 1e-4*(1+math.Abs(float64(wv))) {
					t.Fatalf("y[%d] = %v, want %v", i, gv, wv)
				}
			}
		})
	}
}

// TestFusionRandom compares fused and unfused programs on random chains
// after a Conv (random groups, strides, pads, with or without bias): the
// ops that fuse (BatchNormalization, per-channel and other Mul/Add
// constants, residual Add/Sum of the input or of an earlier Conv, Relu) in
// random order, and ops that do not (Sigmoid).
func TestFusionRandom(t *testing.T) {
	r := rnd(77)
	removed := 0
	for it := range 40 {
		c := 2 * (1 + r.IntN(3))
		group := []int{1, 2, c}[r.IntN(3)]
		m := c               // so that a residual of the input fits
		k := 1 + 2*r.IntN(2) // odd: the output keeps the input's size, so residuals of x fit
		h, w := 3+r.IntN(5), 3+r.IntN(5)
		p := int64(k / 2)
		cs := map[string]*tensor.Tensor[float32]{"w": randN(r, m, c/group, k, k), "w0": randN(r, m, c, 1, 1)}
		ins := []string{"x", "w"}
		if r.IntN(2) == 0 {
			cs["b"] = randN(r, m)
			ins = append(ins, "b")
		}
		nodes := []onnx.Node{
			node("c0", "Conv", []string{"x", "w0"}, []string{"e"}),
			node("conv", "Conv", ins, []string{"v0"}, at("group", int64(group)), at("pads", []int64{p, p, p, p})),
		}
		cur := "v0"
		for j := range 1 + r.IntN(5) {
			out := "v" + string(rune('1'+j))
			name := "n" + string(rune('1'+j))
			switch r.IntN(7) {
			case 0:
				bn := bnParams(r, cs, name, m)
				nodes = append(nodes, node(name, "BatchNormalization", append([]string{cur}, bn...), []string{out}))
			case 1:
				cs[name+".k"] = randN(r, []int{m, 1, 1}...)
				nodes = append(nodes, node(name, "Mul", []string{cur, name + ".k"}, []string{out}))
			case 2:
				cs[name+".k"] = randN(r, []int{1, m, 1, 1}...)
				nodes = append(nodes, node(name, "Add", []string{name + ".k", cur}, []string{out}))
			case 3:
				cs[name+".k"] = randN(r, w) // along the last dim: not per channel
				nodes = append(nodes, node(name, "Mul", []string{cur, name + ".k"}, []string{out}))
			case 4:
				other := []string{"x", "e"}[r.IntN(2)]
				op := []string{"Add", "Sum"}[r.IntN(2)]
				nodes = append(nodes, node(name, op, []string{cur, other}, []string{out}))
			case 5:
				nodes = append(nodes, node(name, "Relu", []string{cur}, []string{out}))
			case 6:
				nodes = append(nodes, node(name, "Sigmoid", []string{cur}, []string{out}))
			}
			cur = out
		}
		nodes = append(nodes, node("out", "Identity", []string{cur}, []string{"y"}))
		fg := fuseGraph{nodes: nodes, consts: cs, inputs: map[string]*tensor.Tensor[float32]{"x": randN(r, 1, c, h, w)}}
		mdl := fg.model(t)
		fused, err := Compile(mdl)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Compile(mdl, NoConstantFolding())
		if err != nil {
			t.Fatal(err)
		}
		removed += len(plain.main.steps) - len(fused.main.steps)
		feeds := map[string]tensor.Any{"x": fg.inputs["x"]}
		got, err := fused.Run(context.Background(), feeds)
		if err != nil {
			t.Fatalf("graph %d: %v", it, err)
		}
		want, err := plain.Run(context.Background(), feeds)
		if err != nil {
			t.Fatal(err)
		}
		g, wv := got["y"].(*tensor.Tensor[float32]).Data(), want["y"].(*tensor.Tensor[float32]).Data()
		for i := range wv {
			if d := math.Abs(float64(g[i] - wv[i])); d > 1e-4*(1+math.Abs(float64(wv[i]))) {
				var ops []string
				for _, n := range nodes {
					ops = append(ops, n.Op)
				}
				t.Fatalf("graph %d %v (group %d, k %d, %d×%d): y[%d] = %v, want %v", it, ops, group, k, h, w, i, g[i], wv[i])
			}
		}
	}
	if removed < 20 {
		t.Errorf("fusion removed %d steps from 40 graphs, want more", removed)
	}
}
