package exec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// The convolution, pooling, normalization and resampling ops checked
// against ONNX Runtime on the variants the ONNX node tests leave out
// (groups, dilations, 3-D, ceil_mode with padding, antialias, reflection
// padding, …). Regenerate with
//
//	go test ./onnx/exec -run TestCNNGoldens -update
//	cd tools/ort && node run_cases.mjs --cases ../../testdata/onnx/cnn/cases.json --out ../../testdata/onnx/cnn/ort.json
const (
	cnnCasesFile = "../../testdata/onnx/cnn/cases.json"
	cnnORTFile   = "../../testdata/onnx/cnn/ort.json"
)

func cnnCases() []opCase {
	r := rnd(31)
	f := randF32
	var cs []opCase
	add := func(name string, m func() (*onnx.Builder, map[string]tensor.Any)) {
		cs = append(cs, opCase{name: name, model: m, rtol: 1e-4, atol: 1e-5})
	}
	y1 := []out{{"y", onnx.Float32}}
	// Conv and ConvTranspose
	add("conv_group_dilated", single("Conv", "", 11, []in{x(f(r, 1, 4, 9, 8)), inp("w", f(r, 6, 2, 3, 2)), inp("b", f(r, 6))}, y1,
		at("group", int64(2)), at("dilations", []int64{2, 1}), at("strides", []int64{1, 2}), at("pads", []int64{1, 0, 2, 1})))
	add("conv_3d", single("Conv", "", 11, []in{x(f(r, 1, 3, 5, 6, 4)), inp("w", f(r, 4, 3, 2, 3, 2))}, y1,
		at("strides", []int64{2, 1, 1}), at("pads", []int64{0, 1, 1, 1, 1, 0})))
	add("conv_1d_same_lower", single("Conv", "", 11, []in{x(f(r, 1, 2, 11)), inp("w", f(r, 3, 2, 4))}, y1,
		at("auto_pad", "SAME_LOWER"), at("strides", []int64{2})))
	add("conv_depthwise_same_upper", single("Conv", "", 11, []in{x(f(r, 1, 4, 7, 7)), inp("w", f(r, 4, 1, 3, 3)), inp("b", f(r, 4))}, y1,
		at("auto_pad", "SAME_UPPER"), at("group", int64(4)), at("strides", []int64{2, 2})))
	add("convtranspose_group_dilated", single("ConvTranspose", "", 11, []in{x(f(r, 1, 4, 4, 5)), inp("w", f(r, 4, 3, 3, 2)), inp("b", f(r, 6))}, y1,
		at("group", int64(2)), at("dilations", []int64{2, 1}), at("strides", []int64{3, 2}), at("pads", []int64{1, 0, 2, 1}), at("output_padding", []int64{1, 1})))
	add("convtranspose_output_shape", single("ConvTranspose", "", 11, []in{x(f(r, 1, 2, 4, 4)), inp("w", f(r, 2, 3, 3, 3))}, y1,
		at("strides", []int64{2, 2}), at("output_shape", []int64{8, 9})))
	add("convtranspose_3d_same_upper", single("ConvTranspose", "", 11, []in{x(f(r, 1, 2, 3, 2, 3)), inp("w", f(r, 2, 2, 2, 3, 2))}, y1,
		at("auto_pad", "SAME_UPPER"), at("strides", []int64{2, 2, 2})))
	add("convinteger_u8", single("ConvInteger", "", 10, []in{x(randU8(r, 1, 3, 6, 5)), inp("w", randU8(r, 4, 3, 3, 2)), inp("xz", tensor.Scalar(uint8(120))), inp("wz", tensor.Scalar(uint8(7)))},
		[]out{{"y", onnx.Int32}}, at("pads", []int64{1, 1, 1, 0}), at("strides", []int64{1, 2})))
	cs = append(cs, opCase{name: "qlinearconv_per_channel", rtol: 0, atol: qtol, model: single("QLinearConv", "", 10, []in{x(randU8(r, 1, 4, 7, 6)), inp("xs", tensor.Scalar(float32(0.03))), inp("xz", tensor.Scalar(uint8(128))),
		inp("w", randI8(r, 6, 2, 3, 3)), inp("ws", f32s([]int{6}, 0.01, 0.02, 0.004, 0.03, 0.015, 0.008)), inp("wz", tensor.Must(tensor.New([]int{6}, make([]int8, 6)))),
		inp("ys", tensor.Scalar(float32(0.2))), inp("yz", tensor.Scalar(uint8(100))), inp("b", i32s([]int{6}, 100, -50, 0, 300, -1000, 7))},
		[]out{{"y", onnx.Uint8}}, at("group", int64(2)), at("pads", []int64{1, 1, 1, 1}))})
	// Pools
	add("maxpool_ceil_pads_dilations_colmajor", single("MaxPool", "", 12, []in{x(f(r, 1, 2, 9, 8))}, []out{{"y", onnx.Float32}, {"i", onnx.Int64}},
		at("kernel_shape", []int64{3, 2}), at("strides", []int64{2, 3}), at("pads", []int64{1, 0, 1, 1}), at("dilations", []int64{1, 2}),
		at("ceil_mode", int64(1)), at("storage_order", int64(1))))
	add("maxpool_3d_indices", single("MaxPool", "", 12, []in{x(f(r, 2, 1, 4, 5, 3))}, []out{{"y", onnx.Float32}, {"i", onnx.Int64}},
		at("kernel_shape", []int64{2, 2, 2}), at("auto_pad", "SAME_UPPER")))
	add("averagepool_ceil_include_pad", single("AveragePool", "", 11, []in{x(f(r, 1, 2, 7, 6))}, y1,
		at("kernel_shape", []int64{3, 3}), at("strides", []int64{2, 2}), at("pads", []int64{1, 1, 1, 1}), at("ceil_mode", int64(1)), at("count_include_pad", int64(1))))
	add("averagepool_3d_exclude_pad", single("AveragePool", "", 11, []in{x(f(r, 1, 2, 5, 4, 6))}, y1,
		at("kernel_shape", []int64{2, 3, 2}), at("strides", []int64{2, 1, 2}), at("pads", []int64{1, 1, 0, 0, 1, 1})))
	add("averagepool_dilations", single("AveragePool", "", 19, []in{x(f(r, 1, 1, 7, 7))}, y1,
		at("kernel_shape", []int64{2, 2}), at("dilations", []int64{2, 2}), at("pads", []int64{1, 1, 1, 1})))
	add("lppool_p3", single("LpPool", "", 18, []in{x(f(r, 1, 2, 6, 5))}, y1,
		at("kernel_shape", []int64{3, 2}), at("p", int64(3)), at("pads", []int64{1, 0, 1, 1})))
	add("globallppool", single("GlobalLpPool", "", 2, []in{x(f(r, 2, 3, 4, 5))}, y1))
	add("globalmaxpool_3d", single("GlobalMaxPool", "", 1, []in{x(f(r, 2, 3, 2, 4, 3))}, y1))
	add("maxroipool", single("MaxRoiPool", "", 1, []in{x(f(r, 2, 2, 8, 9)),
		inp("rois", f32s([]int{3, 5}, 0, 1, 1, 6, 5, 1, 0, 2, 8, 7, 1, 3.4, 2.6, 4.2, 3.1))}, y1,
		at("pooled_shape", []int64{2, 3}), at("spatial_scale", float32(0.8))))
	add("roialign_max_half_pixel", single("RoiAlign", "", 16, []in{x(f(r, 2, 2, 8, 8)),
		inp("rois", f32s([]int{3, 4}, 1, 1, 6, 5, 0, 2, 7.5, 7, 3.4, 2.6, 4.2, 3.1)), inp("bi", i64s([]int{3}, 0, 1, 1))}, y1,
		at("mode", "max"), at("output_height", int64(3)), at("output_width", int64(2)), at("spatial_scale", float32(0.9))))
	add("roialign_avg_adaptive", single("RoiAlign", "", 16, []in{x(f(r, 1, 2, 10, 10)),
		inp("rois", f32s([]int{2, 4}, 0.5, 1, 9, 8.5, 2, 2, 3, 3)), inp("bi", i64s([]int{2}, 0, 0))}, y1,
		at("output_height", int64(3)), at("output_width", int64(3)), at("sampling_ratio", int64(0))))
	add("maxunpool_pads", single("MaxUnpool", "", 11, []in{x(f32s([]int{1, 1, 2, 2}, 1, 2, 3, 4)), inp("i", i64s([]int{1, 1, 2, 2}, 0, 4, 5, 8))}, y1,
		at("kernel_shape", []int64{2, 2}), at("strides", []int64{2, 2}), at("pads", []int64{0, 0, 1, 1})))
	// Normalizations
	add("batchnorm_training", single("BatchNormalization", "", 15, []in{x(f(r, 3, 4, 2, 3)), inp("s", f(r, 4)), inp("b", f(r, 4)), inp("m", f(r, 4)),
		inp("v", f32s([]int{4}, 0.5, 1, 2, 0.25))}, []out{{"y", onnx.Float32}, {"rm", onnx.Float32}, {"rv", onnx.Float32}},
		at("training_mode", int64(1)), at("momentum", float32(0.7)), at("epsilon", float32(1e-3))))
	add("batchnorm_1d", single("BatchNormalization", "", 15, []in{x(f(r, 3, 4)), inp("s", f(r, 4)), inp("b", f(r, 4)), inp("m", f(r, 4)),
		inp("v", f32s([]int{4}, 0.5, 1, 2, 0.25))}, y1))
	add("instancenorm_3d", single("InstanceNormalization", "", 6, []in{x(f(r, 2, 3, 2, 3, 4)), inp("s", f(r, 3)), inp("b", f(r, 3))}, y1,
		at("epsilon", float32(1e-3))))
	add("groupnorm_21", single("GroupNormalization", "", 21, []in{x(f(r, 2, 6, 3, 2)), inp("s", f(r, 6)), inp("b", f(r, 6))}, y1,
		at("num_groups", int64(3))))
	add("lrn_size5", single("LRN", "", 13, []in{x(f(r, 2, 7, 3, 2))}, y1,
		at("size", int64(5)), at("alpha", float32(0.01)), at("beta", float32(0.6)), at("bias", float32(2))))
	add("mvn_axes", single("MeanVarianceNormalization", "", 13, []in{x(f(r, 2, 3, 4, 2))}, y1, at("axes", []int64{1, 3})))
	// Pad, DepthToSpace, SpaceToDepth, Col2Im
	add("pad_reflect_axes_crop", single("Pad", "", 18, []in{x(f(r, 2, 5, 4)), inp("pads", i64s([]int{4}, 3, 2, -1, 2)), absent(), inp("axes", i64s([]int{2}, 1, -1))}, y1,
		at("mode", "reflect")))
	add("pad_wrap", single("Pad", "", 19, []in{x(f(r, 2, 3, 4)), inp("pads", i64s([]int{6}, 0, 2, 1, 1, 1, 3))}, y1, at("mode", "wrap")))
	add("pad_edge_int64", single("Pad", "", 13, []in{x(i64s([]int{2, 3}, 1, 2, 3, 4, 5, 6)), inp("pads", i64s([]int{4}, 1, 2, 2, 0))}, []out{{"y", onnx.Int64}},
		at("mode", "edge")))
	add("pad_constant_value", single("Pad", "", 13, []in{x(f(r, 2, 3)), inp("pads", i64s([]int{4}, 1, 0, 0, 2)), inp("v", tensor.Scalar(float32(-7.5)))}, y1))
	add("depthtospace_crd", single("DepthToSpace", "", 13, []in{x(f(r, 2, 18, 2, 3))}, y1, at("blocksize", int64(3)), at("mode", "CRD")))
	add("spacetodepth", single("SpaceToDepth", "", 13, []in{x(f(r, 1, 2, 6, 4))}, y1, at("blocksize", int64(2))))
	add("col2im", single("Col2Im", "", 18, []in{x(f(r, 2, 2*6, 12)), inp("img", i64s([]int{2}, 6, 7)), inp("blk", i64s([]int{2}, 2, 3))}, y1,
		at("strides", []int64{2, 1}), at("pads", []int64{1, 0, 0, 1}), at("dilations", []int64{1, 2})))
	// Resize and GridSample
	img := f(r, 1, 2, 7, 9)
	add("resize_linear_antialias", single("Resize", "", 18, []in{x(img), absent(), inp("s", f32s([]int{4}, 1, 1, 0.5, 0.4))}, y1,
		at("mode", "linear"), at("antialias", int64(1))))
	add("resize_cubic_antialias", single("Resize", "", 18, []in{x(img), absent(), absent(), inp("sz", i64s([]int{4}, 1, 2, 3, 4))}, y1,
		at("mode", "cubic"), at("antialias", int64(1))))
	add("resize_not_larger_axes", single("Resize", "", 18, []in{x(img), absent(), absent(), inp("sz", i64s([]int{2}, 10, 20))}, y1,
		at("mode", "linear"), at("axes", []int64{2, 3}), at("keep_aspect_ratio_policy", "not_larger")))
	add("resize_not_smaller_nearest", single("Resize", "", 18, []in{x(img), absent(), absent(), inp("sz", i64s([]int{2}, 4, 4))}, y1,
		at("axes", []int64{3, 2}), at("keep_aspect_ratio_policy", "not_smaller"), at("nearest_mode", "round_prefer_ceil")))
	add("resize_half_pixel_symmetric", single("Resize", "", 19, []in{x(img), absent(), inp("s", f32s([]int{4}, 1, 1, 1.7, 0.6))}, y1,
		at("mode", "linear"), at("coordinate_transformation_mode", "half_pixel_symmetric")))
	add("resize_cubic_exclude_outside", single("Resize", "", 13, []in{x(img), absent(), inp("s", f32s([]int{4}, 1, 1, 1.5, 2.3))}, y1,
		at("mode", "cubic"), at("exclude_outside", int64(1)), at("cubic_coeff_a", float32(-0.5))))
	add("resize_crop_extrapolate", single("Resize", "", 13, []in{x(img), inp("roi", f32s([]int{8}, 0, 0, -0.2, 0.3, 1, 1, 0.9, 1.4)), absent(), inp("sz", i64s([]int{4}, 1, 2, 5, 6))}, y1,
		at("mode", "linear"), at("coordinate_transformation_mode", "tf_crop_and_resize"), at("extrapolation_value", float32(3.5))))
	add("resize_trilinear", single("Resize", "", 13, []in{x(f(r, 1, 1, 3, 4, 5)), absent(), inp("s", f32s([]int{5}, 1, 1, 2, 0.5, 1.5))}, y1,
		at("mode", "linear")))
	add("resize_nearest_floor_asymmetric", single("Resize", "", 13, []in{x(img), absent(), inp("s", f32s([]int{4}, 1, 1, 0.7, 1.8))}, y1,
		at("coordinate_transformation_mode", "asymmetric"), at("nearest_mode", "floor")))
	add("upsample_linear", single("Upsample", "", 9, []in{x(f(r, 1, 1, 3, 4)), inp("s", f32s([]int{4}, 1, 1, 2, 1.5))}, y1, at("mode", "linear")))
	add("resize10_nearest_down", single("Resize", "", 10, []in{x(img), inp("s", f32s([]int{4}, 1, 1, 0.6, 0.5))}, y1))
	grid := func() *tensor.Tensor[float32] { // points inside and up to 1.6 outside [−1, 1]
		g := f(r, 2, 4, 5, 2)
		for i, v := range g.Data() {
			g.Data()[i] = v * 0.9
		}
		return g
	}
	gx := f(r, 2, 2, 5, 6)
	for _, mode := range []string{"bilinear", "nearest", "bicubic"} {
		for _, pad := range []string{"zeros", "border", "reflection"} {
			for _, ac := range []int64{0, 1} {
				add("gridsample_"+mode+"_"+pad+map[int64]string{0: "", 1: "_align"}[ac], single("GridSample", "", 16, []in{x(gx), inp("g", grid())}, y1,
					at("mode", mode), at("padding_mode", pad), at("align_corners", ac)))
			}
		}
	}
	return cs
}

// TestCNNGoldens compares cnnCases with ONNX Runtime's outputs.
func TestCNNGoldens(t *testing.T) {
	all := cnnCases()
	if *update {
		var out []jsonCase
		for _, c := range all {
			b, inputs := c.model()
			p, err := b.Model()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for _, o := range p.GetGraph().GetOutput() {
				o.GetType().GetTensorType().Shape = nil
			}
			raw, err := onnx.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			jc := jsonCase{Name: c.name, Model: base64.StdEncoding.EncodeToString(raw), Inputs: map[string]jsonValue{}, Rtol: c.rtol, Atol: c.atol}
			for name, v := range inputs {
				jc.Inputs[name] = toJSON(v, false)
			}
			out = append(out, jc)
		}
		data, err := json.MarshalIndent(out, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("../../testdata/onnx/cnn", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cnnCasesFile, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(cnnCasesFile)
	if err != nil {
		t.Fatal(err)
	}
	var cases []jsonCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	ort := readORT(t, cnnORTFile)
	results := map[string]ortResult{}
	for _, r := range ort.Results {
		results[r.Name] = r
	}
	if len(cases) != len(all) {
		t.Errorf("cases.json has %d cases, cnnCases %d: regenerate (see the comment above cnnCasesFile)", len(cases), len(all))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			r, ok := results[c.Name]
			if !ok {
				t.Fatalf("no ORT result for %s", c.Name)
			}
			if r.Error != "" {
				t.Skipf("ORT rejected the model: %s", r.Error)
			}
			model, err := base64.StdEncoding.DecodeString(c.Model)
			if err != nil {
				t.Fatal(err)
			}
			m, err := onnx.Parse(model, onnx.ReadOptions{Name: c.Name})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(m)
			if err != nil {
				t.Fatal(err)
			}
			feeds := map[string]tensor.Any{}
			for name, v := range c.Inputs {
				if feeds[name], err = fromJSON(v); err != nil {
					t.Fatal(err)
				}
			}
			got, err := p.Run(context.Background(), feeds)
			if err != nil {
				t.Fatal(err)
			}
			names := make([]string, 0, len(r.Outputs))
			for n := range r.Outputs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, name := range names {
				compareValue(t, name, got[name], r.Outputs[name], c.Rtol, c.Atol)
			}
		})
	}
}

// TestSpatialErrors checks that bad attributes and shapes of the
// normalization and resampling ops are errors, not panics.
func TestSpatialErrors(t *testing.T) {
	ctx := context.Background()
	r := rnd(32)
	x := randF32(r, 1, 4, 4, 4)
	for _, c := range []struct {
		name, op string
		opset    int64
		attrs    []onnx.Attr
		in       []tensor.Any
		want     string
	}{
		{"bn param", "BatchNormalization", 15, nil, []tensor.Any{x, randF32(r, 3), randF32(r, 4), randF32(r, 4), randF32(r, 4)}, "scale"},
		{"groups", "GroupNormalization", 18, []onnx.Attr{at("num_groups", int64(3))}, []tensor.Any{x, randF32(r, 3), randF32(r, 3)}, "does not divide"},
		{"no groups", "GroupNormalization", 18, nil, nil, "num_groups"},
		{"lrn size", "LRN", 13, []onnx.Attr{at("size", int64(0))}, nil, "size"},
		{"mvn axes", "MeanVarianceNormalization", 13, []onnx.Attr{at("axes", []int64{0, 7})}, []tensor.Any{x}, "axis 7"},
		{"pad mode", "Pad", 13, []onnx.Attr{at("mode", "mirror")}, nil, "mode"},
		{"pad wrap opset", "Pad", 13, []onnx.Attr{at("mode", "wrap")}, nil, "opset 19"},
		{"pad length", "Pad", 13, nil, []tensor.Any{x, i64s([]int{2}, 1, 1)}, "pads"},
		{"pad crop", "Pad", 13, nil, []tensor.Any{x, i64s([]int{8}, 0, 0, 0, -3, 0, 0, 0, -3)}, "crop"},
		{"pad reflect empty", "Pad", 13, []onnx.Attr{at("mode", "reflect")}, []tensor.Any{randF32(r, 0, 2), i64s([]int{4}, 1, 0, 1, 0)}, "empty"},
		{"depthtospace", "DepthToSpace", 13, []onnx.Attr{at("blocksize", int64(3))}, []tensor.Any{x}, "blocksize"},
		{"spacetodepth", "SpaceToDepth", 13, []onnx.Attr{at("blocksize", int64(3))}, []tensor.Any{x}, "multiples"},
		{"resize mode", "Resize", 13, []onnx.Attr{at("mode", "area")}, nil, "mode"},
		{"resize ctm", "Resize", 13, []onnx.Attr{at("coordinate_transformation_mode", "center")}, nil, "coordinate_transformation_mode"},
		{"resize scales", "Resize", 13, nil, []tensor.Any{x, nil, f32s([]int{3}, 1, 1, 2)}, "scales"},
		{"resize both", "Resize", 13, nil, []tensor.Any{x, nil, f32s([]int{4}, 1, 1, 2, 2), i64s([]int{4}, 1, 4, 8, 8)}, "both"},
		{"resize neither", "Resize", 13, nil, []tensor.Any{x}, "scales or sizes"},
		{"resize zero scale", "Resize", 13, nil, []tensor.Any{x, nil, f32s([]int{4}, 1, 1, 0, 2)}, "positive"},
		{"resize huge", "Resize", 13, nil, []tensor.Any{x, nil, f32s([]int{4}, 1, 1, 1e12, 1e12)}, "too large"},
		{"gridsample mode", "GridSample", 16, []onnx.Attr{at("mode", "area")}, nil, "mode"},
		{"gridsample grid", "GridSample", 16, nil, []tensor.Any{x, randF32(r, 1, 2, 2, 3)}, "grid"},
		{"col2im", "Col2Im", 18, nil, []tensor.Any{randF32(r, 1, 8, 5), i64s([]int{2}, 3, 3), i64s([]int{2}, 2, 2)}, "Col2Im input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := opKernel(t, c.op, c.opset, c.attrs...)
			if err == nil {
				if c.in == nil {
					t.Fatal("no compile error")
				}
				_, err = k(ctx, c.in)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error about %q", err, c.want)
			}
		})
	}
}

// TestCNNTypes checks that float16 and float64 inputs give the float32
// result rounded to their type, and that integer inputs of the ops that
// move or select values come out exact.
func TestCNNTypes(t *testing.T) {
	ctx := context.Background()
	r := rnd(33)
	x32 := randF32(r, 1, 2, 5, 6)
	w32 := randF32(r, 3, 2, 3, 3)
	to16, _ := fromFloats(numeric.Float16Type, x32.Shape(), x32.Data())
	w16, _ := fromFloats(numeric.Float16Type, w32.Shape(), w32.Data())
	x16, _ := floats(to16) // the float16 values as float32
	wr, _ := floats(w16)
	x64, _ := fromFloats(numeric.Float64, x32.Shape(), x32.Data())
	for _, c := range []struct {
		op    string
		opset int64
		attrs []onnx.Attr
		in16  []tensor.Any
		in32  []tensor.Any
	}{
		{"Conv", 11, []onnx.Attr{at("pads", []int64{1, 1, 1, 1})}, []tensor.Any{to16, w16}, []tensor.Any{f32s(x32.Shape(), x16...), f32s(w32.Shape(), wr...)}},
		{"MaxPool", 12, []onnx.Attr{at("kernel_shape", []int64{2, 2})}, []tensor.Any{to16}, []tensor.Any{f32s(x32.Shape(), x16...)}},
		{"AveragePool", 11, []onnx.Attr{at("kernel_shape", []int64{3, 2})}, []tensor.Any{x64}, []tensor.Any{x32}},
		{"Resize", 13, []onnx.Attr{at("mode", "cubic")}, []tensor.Any{x64, nil, f32s([]int{4}, 1, 1, 1.5, 0.5)}, []tensor.Any{x32, nil, f32s([]int{4}, 1, 1, 1.5, 0.5)}},
		{"InstanceNormalization", 6, nil, []tensor.Any{to16, f32s([]int{2}, 1, 2), f32s([]int{2}, 0, 1)}, []tensor.Any{f32s(x32.Shape(), x16...), f32s([]int{2}, 1, 2), f32s([]int{2}, 0, 1)}},
	} {
		t.Run(c.op, func(t *testing.T) {
			k := mustKernel(t, c.op, c.opset, c.attrs...)
			got, err := k(ctx, c.in16)
			if err != nil {
				t.Fatal(err)
			}
			want, err := k(ctx, c.in32)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].DType() != c.in16[0].DType() {
				t.Fatalf("output type %s, want %s", got[0].DType(), c.in16[0].DType())
			}
			wt, err := fromFloats(got[0].DType(), want[0].Shape(), want[0].(*tensor.Tensor[float32]).Data())
			if err != nil {
				t.Fatal(err)
			}
			g, _ := floats(got[0])
			w, _ := floats(wt)
			closeTo(t, c.op, g, f64s(w), 1e-6)
		})
	}
	// uint8 MaxPool and nearest Resize select input values exactly.
	xu := tensor.Must(tensor.New([]int{1, 1, 3, 4}, []uint8{0, 255, 7, 9, 200, 3, 4, 250, 1, 2, 128, 127}))
	got, err := mustKernel(t, "MaxPool", 12, at("kernel_shape", []int64{2, 2}), at("strides", []int64{1, 2}))(ctx, []tensor.Any{xu})
	if err != nil {
		t.Fatal(err)
	}
	if g := got[0].(*tensor.Tensor[uint8]).Data(); !slices.Equal(g, []uint8{255, 250, 200, 250}) {
		t.Fatalf("uint8 MaxPool got %v, want [255 250 200 250]", g)
	}
	got, err = mustKernel(t, "Resize", 13, at("coordinate_transformation_mode", "asymmetric"), at("nearest_mode", "floor"))(ctx, []tensor.Any{xu, nil, f32s([]int{4}, 1, 1, 1, 0.5)})
	if err != nil {
		t.Fatal(err)
	}
	if g := got[0].(*tensor.Tensor[uint8]).Data(); !slices.Equal(g, []uint8{0, 7, 200, 4, 1, 128}) {
		t.Fatalf("uint8 Resize got %v, want [0 7 200 4 1 128]", g)
	}
}
