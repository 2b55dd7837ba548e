package exec

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// runNode compiles a one-node opset-21 model of op with inputs a and b (b
// may be nil), output type out and attributes, and runs it.
func runNode(t *testing.T, op string, out onnx.DataType, attrs []onnx.Attr, in ...tensor.Any) (tensor.Any, error) {
	t.Helper()
	b := onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 21})
	feeds := map[string]tensor.Any{}
	var names []string
	for i, x := range in {
		name := fmt.Sprintf("x%d", i)
		dt := onnxTypeOf(t, x)
		dims := make([]any, 0, x.Dims())
		for _, d := range x.Shape() {
			dims = append(dims, d)
		}
		b.Input(name, dt, dims...)
		feeds[name] = x
		names = append(names, name)
	}
	b.Output("y", out)
	b.AddNode(onnx.Node{Name: "n", Op: op, Inputs: names, Outputs: []string{"y"}, Attrs: attrs})
	p, err := compileBuilder(t, b)
	if err != nil {
		return nil, err
	}
	res, err := p.Run(context.Background(), feeds)
	if err != nil {
		return nil, err
	}
	return res["y"], nil
}

func onnxTypeOf(t *testing.T, x tensor.Any) onnx.DataType {
	for dt := onnx.DataType(1); dt <= onnx.Uint64; dt++ {
		if d, ok := dt.NumericDType(); ok && d == x.DType() && dt != onnx.Bool {
			return dt
		}
	}
	t.Fatalf("no ONNX type for %s", x.DType())
	return 0
}

func TestUnsignedElementTypes(t *testing.T) {
	const big = uint64(1) << 63
	u64 := func(v ...uint64) tensor.Any { return tensor.Must(tensor.New([]int{len(v)}, v)) }
	u32 := func(v ...uint32) tensor.Any { return tensor.Must(tensor.New([]int{len(v)}, v)) }
	u16 := func(v ...uint16) tensor.Any { return tensor.Must(tensor.New([]int{len(v)}, v)) }
	f32 := func(v ...float32) tensor.Any { return tensor.Must(tensor.New([]int{len(v)}, v)) }
	f64 := func(v ...float64) tensor.Any { return tensor.Must(tensor.New([]int{len(v)}, v)) }
	b8 := func(v ...uint8) tensor.Any { return tensor.Must(tensor.New([]int{len(v)}, v)) }
	to := func(dt onnx.DataType) []onnx.Attr { return []onnx.Attr{{Name: "to", Value: int64(dt)}} }
	tests := []struct {
		name  string
		op    string
		out   onnx.DataType
		attrs []onnx.Attr
		in    []tensor.Any
		want  tensor.Any
	}{
		{"Max uint64 past 2^63", "Max", onnx.Uint64, nil, []tensor.Any{u64(big+1, 5, 0), u64(3, big, math.MaxUint64)}, u64(big+1, big, math.MaxUint64)},
		{"Min uint64 past 2^63", "Min", onnx.Uint64, nil, []tensor.Any{u64(big+1, 5, 0), u64(3, big, math.MaxUint64)}, u64(3, 5, 0)},
		{"Div uint64", "Div", onnx.Uint64, nil, []tensor.Any{u64(math.MaxUint64, 10), u64(2, 3)}, u64(math.MaxUint64/2, 3)},
		{"Add uint64 wraps", "Add", onnx.Uint64, nil, []tensor.Any{u64(math.MaxUint64, big), u64(2, big)}, u64(1, 0)},
		{"Sub uint32 wraps", "Sub", onnx.Uint32, nil, []tensor.Any{u32(1, 7), u32(2, 3)}, u32(math.MaxUint32, 4)},
		{"Max uint16", "Max", onnx.Uint16, nil, []tensor.Any{u16(1, 65535), u16(2, 3)}, u16(2, 65535)},
		{"Less uint64", "Less", onnx.Bool, nil, []tensor.Any{u64(1, big, math.MaxUint64), u64(big, 1, math.MaxUint64)}, b8(1, 0, 0)},
		{"Greater uint32", "Greater", onnx.Bool, nil, []tensor.Any{u32(math.MaxUint32, 0), u32(1, 0)}, b8(1, 0)},
		{"Cast uint64 to double", "Cast", onnx.Float64, to(onnx.Float64), []tensor.Any{u64(big, 3)}, f64(9223372036854775808, 3)},
		{"Cast double to uint64", "Cast", onnx.Uint64, to(onnx.Uint64), []tensor.Any{f64(9223372036854777856, 3.9)}, u64(9223372036854777856, 3)},
		{"Cast float to uint16", "Cast", onnx.Uint16, to(onnx.Uint16), []tensor.Any{f32(65535, 1.5)}, u16(65535, 1)},
		{"Cast uint32 to float", "Cast", onnx.Float32, to(onnx.Float32), []tensor.Any{u32(math.MaxUint32, 7)}, f32(4294967296, 7)},
		{"Cast int64 to uint32 wraps", "Cast", onnx.Uint32, to(onnx.Uint32), []tensor.Any{tensor.Must(tensor.New([]int{2}, []int64{-1, 1 << 32}))}, u32(math.MaxUint32, 0)},
		{"Cast uint64 to bool", "Cast", onnx.Bool, to(onnx.Bool), []tensor.Any{u64(big, 0)}, b8(1, 0)},
		{"Pow float32 by uint32", "Pow", onnx.Float32, nil, []tensor.Any{f32(2, 3), u32(3, 2)}, f32(8, 9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runNode(t, tt.op, tt.out, tt.attrs, tt.in...)
			if err != nil {
				t.Fatalf("%s%v: %v", tt.op, tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s%v = %v, want %v", tt.op, tt.in, got, tt.want)
			}
		})
	}
}
