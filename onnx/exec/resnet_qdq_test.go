package exec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// A ResNet-18-shaped CNN written with onnx.Builder in float form and in
// the QDQ form onnxruntime.quantization's static QDQ quantizer writes:
//
//	conv1 7×7/2 + Relu, MaxPool 3×3/2, 4 stages of 2 BasicBlocks
//	(Conv 3×3 + Relu, Conv 3×3, Add of the shortcut (a 1×1 Conv where the
//	shape changes), Relu), GlobalAveragePool, Flatten, Gemm (transB 1)
//
// with batch normalization folded into the convolutions' weights and
// biases, as exporters do before quantizing. Weights are random (seeded,
// He-normal; each block's second convolution halved, standing in for its
// BN scale). In QDQ form activations are uint8 per tensor (min/max ranges
// from one calibration run of the float model), Conv weights int8
// symmetric per output channel, biases int32 with scale x_scale·w_scale;
// each Relu is removed and the Q before it takes its range (as the
// quantizer fuses activations); MaxPool, Flatten keep their input's
// quantization, GlobalAveragePool and Add are requantized.

type resnetCfg struct {
	size    int    // input height and width
	widths  [4]int // channels of the stages
	classes int
}

// resnet18 is ResNet-18's shape; resnetSmall that of the committed goldens.
var (
	resnet18    = resnetCfg{size: 224, widths: [4]int{64, 128, 256, 512}, classes: 1000}
	resnetSmall = resnetCfg{size: 32, widths: [4]int{8, 16, 16, 32}, classes: 10}
)

// resnetConv is one convolution with BN folded: weights [m, c, k, k].
type resnetConv struct {
	name                string
	m, c, k, stride, pd int
	w, b                []float32
}

// resnetW holds the weights of every convolution, in graph order, and of
// the classifier ([classes, C]).
type resnetW struct {
	cfg   resnetCfg
	convs map[string]*resnetConv
	fcW   []float32
	fcB   []float32
}

func newResNetWeights(c resnetCfg, seed uint64) *resnetW {
	r := rand.New(rand.NewPCG(seed, 17))
	w := &resnetW{cfg: c, convs: map[string]*resnetConv{}}
	conv := func(name string, m, cin, k, stride int, gain float64) {
		std := gain * math.Sqrt(2/float64(cin*k*k))
		cv := &resnetConv{name: name, m: m, c: cin, k: k, stride: stride, pd: k / 2, w: make([]float32, m*cin*k*k), b: make([]float32, m)}
		for i := range cv.w {
			cv.w[i] = float32(std * r.NormFloat64())
		}
		for i := range cv.b {
			cv.b[i] = float32(0.05 * r.NormFloat64())
		}
		w.convs[name] = cv
	}
	conv("conv1", c.widths[0], 3, 7, 2, 1)
	in := c.widths[0]
	for s, out := range c.widths {
		for blk := range 2 {
			p := fmt.Sprintf("s%db%d_", s, blk)
			stride := 1
			if s > 0 && blk == 0 {
				stride = 2
			}
			conv(p+"c1", out, in, 3, stride, 1)
			conv(p+"c2", out, out, 3, 1, 0.5)
			if stride != 1 || in != out {
				conv(p+"down", out, in, 1, stride, 1)
			}
			in = out
		}
	}
	w.fcW = make([]float32, c.classes*in)
	w.fcB = make([]float32, c.classes)
	std := 1 / math.Sqrt(float64(in))
	for i := range w.fcW {
		w.fcW[i] = float32(std * r.NormFloat64())
	}
	for i := range w.fcB {
		w.fcB[i] = float32(0.01 * r.NormFloat64())
	}
	return w
}

// quantWPerChannel quantizes weights [m, rest] to int8, symmetric per
// output channel.
func quantWPerChannel(w []float32, m int) ([]int8, []float32) {
	per := len(w) / m
	q := make([]int8, len(w))
	s := make([]float32, m)
	for j := range m {
		var a float32
		for _, v := range w[j*per : (j+1)*per] {
			a = max(a, float32(math.Abs(float64(v))))
		}
		if a == 0 {
			a = 1
		}
		s[j] = a / 127
		for i, v := range w[j*per : (j+1)*per] {
			q[j*per+i] = int8(max(-127, min(127, math.RoundToEven(float64(v/s[j])))))
		}
	}
	return q, s
}

// buildResNet writes the model in form "float" or "qdq"; calib holds the
// uint8 range of every activation (qdq). probes (float form only) adds
// every activation as a graph output, for calibration. It returns the
// builder and the names of the activations.
func buildResNet(w *resnetW, form string, calib map[string]qrange, probes bool) (*onnx.Builder, []string) {
	c := w.cfg
	b := onnx.NewBuilder("resnet18_"+form, onnx.Opset{Domain: "", Version: 17}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1})
	b.Input("input", onnx.Float32, "batch", 3, c.size, c.size)
	node := func(name, op string, ins, outs []string, attrs ...onnx.Attr) {
		b.AddNode(onnx.Node{Name: name, Op: op, Inputs: ins, Outputs: outs, Attrs: attrs})
	}
	qdq := form == "qdq"
	var points []string
	point := func(name string) {
		points = append(points, name)
		if probes {
			b.Output(name, onnx.Float32)
		}
	}
	// qparams declares the scale and zero point of activation name.
	qparams := func(name string) (string, string) {
		q := calib[name]
		onnx.Initializer(b, name+"_s", onnx.Float32, nil, []float32{q.scale})
		onnx.Initializer(b, name+"_z", onnx.Uint8, nil, []uint8{q.zp})
		return name + "_s", name + "_z"
	}
	// qdqOut quantizes float value y with the parameters of activation
	// name and dequantizes it again into name.
	qdqOut := func(y, name string) {
		s, z := qparams(name)
		node(name+"_q", "QuantizeLinear", []string{y, s, z}, []string{name + "_q"})
		node(name+"_dq", "DequantizeLinear", []string{name + "_q", s, z}, []string{name})
	}
	// sameQ requantizes float y with x's parameters into name (MaxPool,
	// Flatten).
	sameQ := func(y, x, name string) {
		node(name+"_q", "QuantizeLinear", []string{y, x + "_s", x + "_z"}, []string{name + "_q"})
		node(name+"_dq", "DequantizeLinear", []string{name + "_q", x + "_s", x + "_z"}, []string{name})
	}
	// dqIn is the float input of a quantized op: DequantizeLinear of x's
	// codes (the consumer's own DQ, as the quantizer writes one per edge).
	dqIn := func(x, op string) string {
		if !qdq {
			return x
		}
		node(op+"_dqin_"+x, "DequantizeLinear", []string{x + "_q", x + "_s", x + "_z"}, []string{op + "_in_" + x})
		return op + "_in_" + x
	}
	// conv emits y = [Relu](Conv(x)).
	conv := func(name, x, y string, relu bool) {
		cv := w.convs[name]
		attrs := []onnx.Attr{{Name: "kernel_shape", Value: []int{cv.k, cv.k}}, {Name: "strides", Value: []int{cv.stride, cv.stride}},
			{Name: "pads", Value: []int{cv.pd, cv.pd, cv.pd, cv.pd}}}
		dims := []int64{int64(cv.m), int64(cv.c), int64(cv.k), int64(cv.k)}
		point(y)
		if !qdq {
			onnx.Initializer(b, name+"_w", onnx.Float32, dims, cv.w)
			onnx.Initializer(b, name+"_b", onnx.Float32, []int64{int64(cv.m)}, cv.b)
			out := y
			if relu {
				out = y + "_pre"
			}
			node(name, "Conv", []string{x, name + "_w", name + "_b"}, []string{out}, attrs...)
			if relu {
				node(name+"_relu", "Relu", []string{out}, []string{y})
			}
			return
		}
		q, s := quantWPerChannel(cv.w, cv.m)
		xs := calib[x].scale
		bq := make([]int32, cv.m)
		bs := make([]float32, cv.m)
		for j := range bq {
			bs[j] = xs * s[j]
			bq[j] = int32(math.RoundToEven(float64(cv.b[j] / bs[j])))
		}
		onnx.Initializer(b, name+"_wq", onnx.Int8, dims, q)
		onnx.Initializer(b, name+"_ws", onnx.Float32, []int64{int64(cv.m)}, s)
		onnx.Initializer(b, name+"_wz", onnx.Int8, []int64{int64(cv.m)}, make([]int8, cv.m))
		onnx.Initializer(b, name+"_bq", onnx.Int32, []int64{int64(cv.m)}, bq)
		onnx.Initializer(b, name+"_bs", onnx.Float32, []int64{int64(cv.m)}, bs)
		axis := onnx.Attr{Name: "axis", Value: 0}
		node(name+"_dqw", "DequantizeLinear", []string{name + "_wq", name + "_ws", name + "_wz"}, []string{name + "_w"}, axis)
		node(name+"_dqb", "DequantizeLinear", []string{name + "_bq", name + "_bs"}, []string{name + "_b"}, axis)
		node(name, "Conv", []string{dqIn(x, name), name + "_w", name + "_b"}, []string{y + "_float"}, attrs...)
		qdqOut(y+"_float", y)
	}
	point("input")
	x := "input"
	if qdq {
		s, z := qparams("input")
		node("input_q", "QuantizeLinear", []string{"input", s, z}, []string{"input_q"})
	}
	conv("conv1", x, "relu1", true)
	point("pool1")
	poolAttrs := []onnx.Attr{{Name: "kernel_shape", Value: []int{3, 3}}, {Name: "strides", Value: []int{2, 2}}, {Name: "pads", Value: []int{1, 1, 1, 1}}}
	if qdq {
		node("pool1", "MaxPool", []string{dqIn("relu1", "pool1")}, []string{"pool1_float"}, poolAttrs...)
		sameQ("pool1_float", "relu1", "pool1")
		calib["pool1"] = calib["relu1"]
		onnx.Initializer(b, "pool1_s", onnx.Float32, nil, []float32{calib["pool1"].scale})
		onnx.Initializer(b, "pool1_z", onnx.Uint8, nil, []uint8{calib["pool1"].zp})
	} else {
		node("pool1", "MaxPool", []string{"relu1"}, []string{"pool1"}, poolAttrs...)
	}
	x = "pool1"
	for s := range c.widths {
		for blk := range 2 {
			p := fmt.Sprintf("s%db%d_", s, blk)
			conv(p+"c1", x, p+"r1", true)
			conv(p+"c2", p+"r1", p+"y2", false)
			id := x
			if w.convs[p+"down"] != nil {
				conv(p+"down", x, p+"id", false)
				id = p + "id"
			}
			point(p + "out")
			if qdq {
				node(p+"add", "Add", []string{dqIn(p+"y2", p+"add"), dqIn(id, p+"add")}, []string{p + "sum"})
				qdqOut(p+"sum", p+"out")
			} else {
				node(p+"add", "Add", []string{p + "y2", id}, []string{p + "sum"})
				node(p+"relu", "Relu", []string{p + "sum"}, []string{p + "out"})
			}
			x = p + "out"
		}
	}
	point("gap")
	if qdq {
		node("gap", "GlobalAveragePool", []string{dqIn(x, "gap")}, []string{"gap_float"})
		qdqOut("gap_float", "gap")
		node("flatten", "Flatten", []string{dqIn("gap", "flatten")}, []string{"flat_float"})
		sameQ("flat_float", "gap", "flat")
		onnx.Initializer(b, "flat_s", onnx.Float32, nil, []float32{calib["gap"].scale})
		onnx.Initializer(b, "flat_z", onnx.Uint8, nil, []uint8{calib["gap"].zp})
		calib["flat"] = calib["gap"]
		x = "flat"
	} else {
		node("gap", "GlobalAveragePool", []string{x}, []string{"gap"})
		node("flatten", "Flatten", []string{"gap"}, []string{"flat"})
		x = "flat"
	}
	in := c.widths[3]
	fdims := []int64{int64(c.classes), int64(in)}
	point("logits")
	gemm := onnx.Attr{Name: "transB", Value: 1}
	if qdq {
		q, s := quantW(w.fcW)
		xs := calib[x].scale
		bq := make([]int32, c.classes)
		for j := range bq {
			bq[j] = int32(math.RoundToEven(float64(w.fcB[j] / (xs * s))))
		}
		onnx.Initializer(b, "fc_wq", onnx.Int8, fdims, q)
		onnx.Initializer(b, "fc_ws", onnx.Float32, nil, []float32{s})
		onnx.Initializer(b, "fc_wz", onnx.Int8, nil, []int8{0})
		onnx.Initializer(b, "fc_bq", onnx.Int32, []int64{int64(c.classes)}, bq)
		onnx.Initializer(b, "fc_bs", onnx.Float32, nil, []float32{xs * s})
		node("fc_dqw", "DequantizeLinear", []string{"fc_wq", "fc_ws", "fc_wz"}, []string{"fc_w"})
		node("fc_dqb", "DequantizeLinear", []string{"fc_bq", "fc_bs"}, []string{"fc_b"})
		node("fc", "Gemm", []string{dqIn(x, "fc"), "fc_w", "fc_b"}, []string{"logits_float"}, gemm)
		qdqOut("logits_float", "logits_qdq")
		node("out", "Identity", []string{"logits_qdq"}, []string{"logits"})
	} else {
		onnx.Initializer(b, "fc_w", onnx.Float32, fdims, w.fcW)
		onnx.Initializer(b, "fc_b", onnx.Float32, []int64{int64(c.classes)}, w.fcB)
		node("fc", "Gemm", []string{x, "fc_w", "fc_b"}, []string{"logits"}, gemm)
	}
	b.Output("logits", onnx.Float32, "batch", c.classes)
	return b, points
}

// resnetInput returns a seeded image batch, N(0, 1) like a normalized image.
func resnetInput(c resnetCfg, batch int, seed uint64) map[string]tensor.Any {
	r := rand.New(rand.NewPCG(seed, 7))
	d := make([]float32, batch*3*c.size*c.size)
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	return map[string]tensor.Any{"input": tensor.Must(tensor.New([]int{batch, 3, c.size, c.size}, d))}
}

// resnetModels builds the float and QDQ models of w, calibrated on feeds.
func resnetModels(t testing.TB, w *resnetW, feeds map[string]tensor.Any) map[string]*onnxpb.ModelProto {
	t.Helper()
	cal := resnetCalib(t, w, feeds)
	ms := map[string]*onnxpb.ModelProto{}
	for _, form := range []string{"float", "qdq"} {
		b, _ := buildResNet(w, form, cal, false)
		var err error
		if ms[form], err = b.Model(); err != nil {
			t.Fatalf("%s: %v", form, err)
		}
	}
	return ms
}

// resnetCalib runs the float model on feeds and returns the uint8 range of
// every activation.
func resnetCalib(t testing.TB, w *resnetW, feeds map[string]tensor.Any) map[string]qrange {
	t.Helper()
	b, points := buildResNet(w, "float", nil, true)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(onnx.New(p, onnx.ReadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := prog.Run(context.Background(), feeds)
	if err != nil {
		t.Fatal(err)
	}
	cal := map[string]qrange{}
	for _, name := range points {
		v, err := floats(out[name])
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := float32(0), float32(0)
		for _, x := range v {
			lo, hi = min(lo, x), max(hi, x)
		}
		cal[name] = rangeOf(lo, hi)
	}
	cal["logits_qdq"] = cal["logits"]
	return cal
}

var resnetDir = flag.String("resnet-dir", "", "directory of the full-size ResNet-18 models (TestResNetWrite writes them; TestResNetCompare and TestResNetLatency read them)")

const resnetGoldens = "../../testdata/onnx/quant/resnet_ort.json"

// TestResNetSmallORT runs the float and QDQ forms of a small ResNet-shaped
// CNN (32×32 input, widths 8–32) and compares the logits with ONNX Runtime
// 1.30's (graph optimizations on: ORT runs the QDQ convolutions as
// QLinearConv, as Compile does). Regenerate with
//
//	go test ./onnx/exec -run TestResNetSmallORT -update -bert-cases /tmp/resnet_cases.json
//	cd tools/ort && node bert_quant.mjs goldens /tmp/resnet_cases.json ../../testdata/onnx/quant/resnet_ort.json
func TestResNetSmallORT(t *testing.T) {
	w := newResNetWeights(resnetSmall, 1)
	feeds := resnetInput(resnetSmall, 2, 2)
	models := resnetModels(t, w, feeds)
	if *update {
		if *bertCasesOut == "" {
			t.Skip("-bert-cases not set")
		}
		var cs []jsonCase
		for _, form := range []string{"float", "qdq"} {
			raw, err := onnx.Marshal(models[form])
			if err != nil {
				t.Fatal(err)
			}
			jc := jsonCase{Name: form, Model: base64.StdEncoding.EncodeToString(raw), Inputs: map[string]jsonValue{"input": toJSON(feeds["input"], false)}}
			cs = append(cs, jc)
		}
		saveCases(t, *bertCasesOut, cs)
		return
	}
	ort := readORT(t, resnetGoldens)
	for _, r := range ort.Results {
		t.Run(r.Name, func(t *testing.T) {
			if r.Error != "" {
				t.Fatalf("ORT: %s", r.Error)
			}
			for _, opts := range [][]CompileOption{nil, {NoQDQFusion()}} {
				p, err := Compile(onnx.New(models[r.Name], onnx.ReadOptions{}), opts...)
				if err != nil {
					t.Fatal(err)
				}
				got, err := p.Run(context.Background(), feeds)
				if err != nil {
					t.Fatal(err)
				}
				compareRange(t, r.Name, got["logits"], r.Outputs["logits"], resnetTol(r.Name))
			}
		})
	}
}

// resnetTol is how far Zerfoo's logits may be from ORT's on the same
// model, relative to their largest magnitude. QDQ: one code of the output
// quantization (1/255 of its range) plus the flips of rounding ties the
// float ops between quantizations may cause (see bertTol).
func resnetTol(form string) float64 {
	if form == "float" {
		return 1e-4
	}
	return 2e-2
}

// TestResNetWrite writes the full-size ResNet-18 models (float, qdq) and
// inputs for batch 1 and 8 to -resnet-dir, for tools/ort/bert_quant.mjs
// bench (--forms float,qdq).
func TestResNetWrite(t *testing.T) {
	if *resnetDir == "" {
		t.Skip("-resnet-dir not set")
	}
	w := newResNetWeights(resnet18, 1)
	models := resnetModels(t, w, resnetInput(resnet18, 8, 3))
	for form, p := range models {
		if err := onnx.Save(filepath.Join(*resnetDir, form+".onnx"), p, onnx.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []int{1, 8} {
		data, err := json.Marshal(map[string]jsonValue{"input": toJSON(resnetInput(resnet18, b, 4)["input"], false)})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*resnetDir, fmt.Sprintf("inputs_b%d.json", b)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// loadResNet compiles -resnet-dir's model of form and reads the input of
// batch b.
func loadResNet(t testing.TB, form string, b int, opts ...CompileOption) (*Program, map[string]tensor.Any) {
	t.Helper()
	m, err := onnx.Load(filepath.Join(*resnetDir, form+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, opts...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(*resnetDir, fmt.Sprintf("inputs_b%d.json", b)))
	if err != nil {
		t.Fatal(err)
	}
	var in map[string]jsonValue
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	x, err := fromJSON(in["input"])
	if err != nil {
		t.Fatal(err)
	}
	return p, map[string]tensor.Any{"input": x}
}

// TestResNetCompare compares Zerfoo's logits of the full-size models with
// ORT's (DIR/ort_<form>_b<B>.json, written by bert_quant.mjs bench) and
// logs how far ORT's QDQ logits are from its float ones (the yardstick).
func TestResNetCompare(t *testing.T) {
	if *resnetDir == "" {
		t.Skip("-resnet-dir not set")
	}
	read := func(form string, b int) *ortFileT {
		raw, err := os.ReadFile(filepath.Join(*resnetDir, fmt.Sprintf("ort_%s_b%d.json", form, b)))
		if err != nil {
			t.Logf("%s b%d: %v", form, b, err)
			return nil
		}
		var ort ortFileT
		if err := json.Unmarshal(raw, &ort); err != nil {
			t.Fatal(err)
		}
		return &ort
	}
	for _, b := range []int{1, 8} {
		of, oq := read("float", b), read("qdq", b)
		if of != nil && oq != nil {
			q, f := oq.Results[0].Outputs["logits"].Data, of.Results[0].Outputs["logits"].Data
			var e, s, sq float64
			for i, v := range f {
				d := math.Abs(q[i] - v)
				e, s, sq = max(e, d), max(s, math.Abs(v)), sq+d*d
			}
			t.Logf("b%d: ORT qdq vs ORT float: max %.3g (%.3g of the range), rms %.3g", b, e, e/s, math.Sqrt(sq/float64(len(f))))
		}
		for _, form := range []string{"float", "qdq"} {
			ort := read(form, b)
			if ort == nil {
				continue
			}
			p, feeds := loadResNet(t, form, b)
			got, err := p.Run(context.Background(), feeds)
			if err != nil {
				t.Fatal(err)
			}
			compareRange(t, fmt.Sprintf("%s/b%d", form, b), got["logits"], ort.Results[0].Outputs["logits"], resnetTol(form))
		}
	}
}

var (
	resnetRuns    = flag.Int("resnet-runs", 0, "TestResNetLatency: timed runs per form and batch (0: skip)")
	resnetBatches = flag.String("resnet-batches", "1,8", "TestResNetLatency: the batch sizes, comma-separated (1 and 8 have inputs)")
)

// TestResNetLatency prints, as JSON lines like tools/ort/bert_quant.mjs
// bench, the median and minimum wall time of -resnet-runs runs (after 2
// warm-up runs and a garbage collection) of the QDQ model at batch 1 and
// 8, and the CPU time per run; threads are GOMAXPROCS.
//
//	GOMAXPROCS=1 go test ./onnx/exec -run TestResNetLatency -v -resnet-dir DIR -resnet-runs 5
func TestResNetLatency(t *testing.T) {
	if *resnetDir == "" || *resnetRuns <= 0 {
		t.Skip("-resnet-dir or -resnet-runs not set")
	}
	for _, b := range resnetBatchList(t) {
		p, feeds := loadResNet(t, "qdq", b)
		ctx := context.Background()
		for range 2 {
			if _, err := p.Run(ctx, feeds); err != nil {
				t.Fatal(err)
			}
		}
		timeRuns(t, p, feeds, "qdq", b, *resnetRuns)
	}
}

// resnetBatchList returns the batches of -resnet-batches.
func resnetBatchList(t testing.TB) []int {
	var bs []int
	for _, f := range strings.Split(*resnetBatches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("-resnet-batches %q: %v", *resnetBatches, err)
		}
		bs = append(bs, b)
	}
	return bs
}

// TestQDQConvFusion checks that Compile fuses the small ResNet's QDQ
// convolutions into QLinearConv, its Adds into QLinearAdd, its
// GlobalAveragePool into QLinearGlobalAveragePool and runs MaxPool and
// Flatten on the codes, leaving no float Conv, Add or QuantizeLinear but
// the input's, with one Transpose (layoutNHWC: the pooled codes back to
// NCHW), and that the fused program's logits are within one step of
// the output quantization of the unfused one's.
func TestQDQConvFusion(t *testing.T) {
	w := newResNetWeights(resnetSmall, 1)
	feeds := resnetInput(resnetSmall, 2, 2)
	m := onnx.New(resnetModels(t, w, feeds)["qdq"], onnx.ReadOptions{})
	fused, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Compile(m, NoQDQFusion())
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, st := range fused.main.steps {
		count[st.op]++
	}
	convs := len(w.convs)
	for op, want := range map[string]int{"QLinearConv": convs, "com.microsoft.QLinearAdd": 8, "com.microsoft.QLinearGlobalAveragePool": 1,
		"Conv": 0, "Add": 0, "GlobalAveragePool": 0, "QuantizeLinear": 1, "MaxPool": 1, "Flatten": 1, "Transpose": 1} {
		if count[op] != want {
			t.Errorf("%d %s steps after fusion, want %d (ops %v)", count[op], op, want, count)
		}
	}
	a, err := fused.Run(context.Background(), feeds)
	if err != nil {
		t.Fatal(err)
	}
	b, err := plain.Run(context.Background(), feeds)
	if err != nil {
		t.Fatal(err)
	}
	got, want := a["logits"].(*tensor.Tensor[float32]).Data(), b["logits"].(*tensor.Tensor[float32]).Data()
	step := float64(resnetCalib(t, w, feeds)["logits"].scale)
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > step*1.001 {
			t.Errorf("logit %d: fused %v, unfused %v: more than one step (%g) apart", i, got[i], want[i], step)
		}
	}
}
