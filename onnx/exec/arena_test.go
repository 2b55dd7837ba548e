package exec

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// arenaModel: two Convs of the same output size, the first one's output
// held by a sequence across the second (whose buffer the arena would hand
// out again if it did not stop recycling), and a chain of Convs whose
// buffers it does recycle.
func arenaModel(t *testing.T) (*onnx.Model, *tensor.Tensor[float32]) {
	r := rnd(51)
	x := randN(r, 1, 4, 16, 16)
	consts := map[string]*tensor.Tensor[float32]{"w1": randN(r, 4, 4, 3, 3), "w2": randN(r, 4, 4, 3, 3), "w3": randN(r, 4, 4, 1, 1)}
	pad := at("pads", []int64{1, 1, 1, 1})
	fg := fuseGraph{nodes: []onnx.Node{
		node("c1", "Conv", []string{"x", "w1"}, []string{"y1"}, pad),
		node("c2", "Conv", []string{"y1", "w2"}, []string{"y2"}, pad),
		node("c3", "Conv", []string{"y2", "w3"}, []string{"y3"}),
		node("seq", "SequenceConstruct", []string{"y3"}, []string{"s"}),
		node("c4", "Conv", []string{"x", "w2"}, []string{"y4"}, pad),
		node("c5", "Conv", []string{"y4", "w3"}, []string{"y5"}),
		node("at", "SequenceAt", []string{"s", "zero"}, []string{"a"}),
		node("sum", "Add", []string{"a", "y5"}, []string{"y"}),
	}, consts: consts, inputs: map[string]*tensor.Tensor[float32]{"x": x}}
	b := onnx.NewBuilder("arena", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, dimsAny(x)...)
	b.Output("y", onnx.Float32, nil)
	for _, name := range sortedKeys(consts) {
		onnx.Initializer(b, name, onnx.Float32, []int64{4, 4, int64(consts[name].Shape()[2]), int64(consts[name].Shape()[3])}, consts[name].Data())
	}
	onnx.Initializer(b, "zero", onnx.Int64, nil, []int64{0})
	for _, n := range fg.nodes {
		b.AddNode(n)
	}
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return onnx.New(p, onnx.ReadOptions{}), x
}

// TestArena checks that recycled buffers never change a result: runs
// give what a program without recycling gives, the outputs of one run
// are not overwritten by the next, a value a sequence holds survives, and
// concurrent runs agree.
func TestArena(t *testing.T) {
	m, x := arenaModel(t)
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	ref.arena = nil
	feeds := map[string]tensor.Any{"x": x}
	want, err := ref.Run(context.Background(), feeds)
	if err != nil {
		t.Fatal(err)
	}
	same := func(got map[string]tensor.Any) bool {
		for _, k := range []string{"y"} {
			if !slices.Equal(got[k].(*tensor.Tensor[float32]).Data(), want[k].(*tensor.Tensor[float32]).Data()) {
				return false
			}
		}
		return true
	}
	first, err := p.Run(context.Background(), feeds)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string][]float32{}
	for k, v := range first {
		keep[k] = slices.Clone(v.(*tensor.Tensor[float32]).Data())
	}
	if !same(first) {
		t.Fatal("first run differs from the run without recycling")
	}
	for range 3 {
		got, err := p.Run(context.Background(), feeds)
		if err != nil {
			t.Fatal(err)
		}
		if !same(got) {
			t.Fatal("a later run differs from the run without recycling")
		}
	}
	for k, v := range first {
		if !slices.Equal(v.(*tensor.Tensor[float32]).Data(), keep[k]) {
			t.Fatalf("output %q of the first run changed in later runs", k)
		}
	}
	if p.arena.reused == 0 {
		t.Error("nothing was recycled")
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				got, err := p.Run(context.Background(), feeds)
				if err != nil {
					errs <- err.Error()
					return
				}
				if !same(got) {
					errs <- "a concurrent run differs"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestArenaUnusedOutput checks that an output no node reads goes back to
// the arena after its step: EmbedLayerNormalization always computes its
// embedding sum (output 2), which this graph leaves unnamed; its normalized
// output is the graph's output (kept by the caller), so after a run the
// arena must hold exactly the sum's buffer, and a second run reuses it.
func TestArenaUnusedOutput(t *testing.T) {
	const batch, seq, hid, vocab = 2, 8, 256, 16 // outputs of 4096 values: above arenaMin
	r := rnd(52)
	b := onnx.NewBuilder("unused", onnx.Opset{Domain: "", Version: 17}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1})
	b.Input("ids", onnx.Int32, batch, seq)
	b.Output("y", onnx.Float32, nil)
	onnx.Initializer(b, "word", onnx.Float32, []int64{vocab, hid}, randN(r, vocab, hid).Data())
	onnx.Initializer(b, "pos", onnx.Float32, []int64{seq, hid}, randN(r, seq, hid).Data())
	onnx.Initializer(b, "gamma", onnx.Float32, []int64{hid}, randN(r, hid).Data())
	onnx.Initializer(b, "beta", onnx.Float32, []int64{hid}, randN(r, hid).Data())
	b.AddNode(onnx.Node{Name: "embed", Op: "EmbedLayerNormalization", Domain: onnx.MicrosoftDomain,
		Inputs: []string{"ids", "", "word", "pos", "", "gamma", "beta"}, Outputs: []string{"y", "mask_index"}})
	mp, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(onnx.New(mp, onnx.ReadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, batch*seq)
	for i := range ids {
		ids[i] = int32(i % vocab)
	}
	x, err := tensor.New([]int{batch, seq}, ids)
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]tensor.Any{"ids": x}
	var outs [2][]float32
	for run := range 2 {
		got, err := p.Run(context.Background(), feeds)
		if err != nil {
			t.Fatal(err)
		}
		outs[run] = got["y"].(*tensor.Tensor[float32]).Data()
		if n := len(p.arena.free[batch*seq*hid]); n != 1 {
			t.Fatalf("run %d: the arena holds %d buffers of the output's size, want 1 (the unused embedding sum)", run, n)
		}
	}
	if p.arena.reused < 1 {
		t.Errorf("the second run reused %d buffers, want the first run's embedding sum", p.arena.reused)
	}
	if &outs[0][0] == &outs[1][0] || !slices.Equal(outs[0], outs[1]) {
		t.Error("the second run's output shares the first's buffer or differs from it")
	}
}
