package onnx

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// TestBudget checks that tensors whose data would decode to more than
// ReadOptions.Budget are refused with an error naming the tensor, wherever
// the data is: raw_data, typed fields or an external file.
func TestBudget(t *testing.T) {
	p, _, _ := mlp(t) // w1 is 8 KiB, w2 4 KiB
	good, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(good, ReadOptions{Budget: 64 << 10}); err != nil {
		t.Fatalf("within the budget: %v", err)
	}
	check := func(t *testing.T, err error, want ...string) {
		t.Helper()
		if !errors.Is(err, budget.ErrExceeded) {
			t.Fatalf("got %v, want an error wrapping budget.ErrExceeded", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "onnx: ") || strings.Count(msg, "\n") > 0 {
			t.Errorf("error %q: want one line starting with \"onnx: \"", msg)
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("error %q does not contain %q", msg, w)
			}
		}
	}

	t.Run("raw_data", func(t *testing.T) {
		m := New(p, ReadOptions{Name: "mlp.onnx", Budget: 6 << 10})
		check(t, m.Validate(), "mlp.onnx", `tensor "w1"`, "FLOAT [4 512]", "8 KiB", "6 KiB")
		_, err := TensorView[float32](m, m.Initializer("w1"))
		check(t, err, `tensor "w1"`)
	})
	t.Run("model bytes", func(t *testing.T) {
		_, err := Parse(good, ReadOptions{Name: "mlp.onnx", Budget: 1 << 10})
		check(t, err, "mlp.onnx", "the model needs")
		_, err = Read(bytes.NewReader(good), ReadOptions{Name: "mlp.onnx", Budget: 1 << 10})
		check(t, err, "mlp.onnx", "the model needs")
	})
	t.Run("typed fields", func(t *testing.T) {
		// 1000 zeros packed in int64_data take ~1 KB in the file and 8 KB
		// decoded.
		tp := typed("ids", Int64, []int64{1000}, func(p *onnxpb.TensorProto) { p.Int64Data = make([]int64, 1000) })
		m := New(&onnxpb.ModelProto{}, ReadOptions{Budget: 4 << 10})
		_, err := m.TensorBytes(tp)
		check(t, err, `tensor "ids"`, "INT64 [1000]", "7.81 KiB")
		_, err = TensorData[int64](m, tp)
		check(t, err, `tensor "ids"`)
	})
	t.Run("4-bit unpacked", func(t *testing.T) {
		// 3000 INT4 values: 1500 bytes in raw_data, 3000 decoded.
		tp := &onnxpb.TensorProto{Name: proto.String("q"), DataType: proto.Int32(int32(Int4)), Dims: []int64{3000}, RawData: make([]byte, 1500)}
		m := New(&onnxpb.ModelProto{}, ReadOptions{Budget: 2000})
		_, err := TensorData[int8](m, tp)
		check(t, err, `tensor "q"`, "INT4 [3000]")
	})
	t.Run("external", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "mlp.onnx")
		if err := Save(path, p, WriteOptions{ExternalData: "mlp.data", ExternalThreshold: 64}); err != nil {
			t.Fatal(err)
		}
		m, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		small, err := Marshal(m.Proto)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(small, ReadOptions{Dir: dir, Name: "mlp.onnx", Budget: 6 << 10})
		check(t, err, `tensor "w1"`, "8 KiB")
	})
	if got := (*Model)(nil).Budget(); got.Bytes() != budget.Default() {
		t.Errorf("nil model's Budget: got %d, want the default %d", got, budget.Default())
	}
}
