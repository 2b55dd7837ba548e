package exec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func compileBuilder(t *testing.T, b *onnx.Builder) (*Program, error) {
	t.Helper()
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return Compile(onnx.New(p, onnx.ReadOptions{}))
}

func TestUnknownOp(t *testing.T) {
	b := onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 21}, onnx.Opset{Domain: "com.example", Version: 3})
	b.Input("x", onnx.Float32, 2)
	b.Output("y", onnx.Float32, 2)
	b.AddNode(onnx.Node{Name: "weird", Op: "FooBar", Domain: "com.example", Inputs: []string{"x"}, Outputs: []string{"y"}})
	_, err := compileBuilder(t, b)
	if !errors.Is(err, ErrUnsupportedOp) {
		t.Fatalf("got %v, want ErrUnsupportedOp", err)
	}
	for _, want := range []string{"FooBar", "com.example", "weird", "opset 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// A known op at an opset before its kernel's range.
	b = onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 19})
	b.Input("x", onnx.Float32, 2)
	b.Output("y", onnx.Float32, 2)
	b.AddNode(onnx.Node{Name: "g0", Op: "Gelu", Inputs: []string{"x"}, Outputs: []string{"y"}})
	if _, err := compileBuilder(t, b); !errors.Is(err, ErrUnsupportedOp) || !strings.Contains(err.Error(), "ai.onnx") {
		t.Errorf("Gelu at opset 19: got %v, want ErrUnsupportedOp naming ai.onnx", err)
	}
}

func TestBadAttribute(t *testing.T) {
	b := onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, 2)
	b.Output("y", onnx.Float32, 2)
	b.AddNode(onnx.Node{Name: "g0", Op: "Gelu", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: []onnx.Attr{{Name: "approximate", Value: "cubic"}}})
	_, err := compileBuilder(t, b)
	if !errors.Is(err, ErrAttribute) || !strings.Contains(err.Error(), "g0") || !strings.Contains(err.Error(), "cubic") {
		t.Errorf("got %v, want ErrAttribute naming node g0 and the value", err)
	}
}

func loadTestModel(t *testing.T, name string) *Program {
	t.Helper()
	m, err := onnx.Load(filepath.Join("..", "..", "testdata", "onnx", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInputs(t *testing.T) {
	mlp := loadTestModel(t, "mlp_nbits.onnx")
	gemma := loadTestModel(t, "gemma3_tiny.onnx")
	ok := gemmaInputs(1, 1, 3, 2)
	with := func(k string, v tensor.Any) map[string]tensor.Any {
		m := map[string]tensor.Any{}
		for a, b := range ok {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		p     *Program
		feeds map[string]tensor.Any
		want  []error
		text  string
	}{
		{"wrong last dim", mlp, map[string]tensor.Any{"x": randF32(rnd(1), 2, 31)}, []error{ErrInput, tensor.ErrShape}, "x"},
		{"wrong rank", mlp, map[string]tensor.Any{"x": randF32(rnd(1), 32)}, []error{ErrInput, tensor.ErrShape}, "rank"},
		{"wrong dtype", mlp, map[string]tensor.Any{"x": i64s([]int{1, 32}, make([]int64, 32)...)}, []error{ErrInput}, "int64"},
		{"missing input", mlp, map[string]tensor.Any{}, []error{ErrInput}, "missing"},
		{"extra input", mlp, map[string]tensor.Any{"x": randF32(rnd(1), 1, 32), "z": randF32(rnd(1), 1)}, []error{ErrInput}, "z"},
		{"symbolic dim mismatch", gemma, with("position_ids", i64s([]int{1, 4}, 0, 1, 2, 3)), []error{ErrInput, tensor.ErrShape}, "sequence_length"},
		{"missing past", gemma, with("past_key_values.1.value", nil), []error{ErrInput}, "past_key_values.1.value"},
		{"token out of range", gemma, with("input_ids", i64s([]int{1, 3}, 1, 2, 99)), []error{tensor.ErrIndex}, "Gather"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.p.Run(context.Background(), tc.feeds)
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("got %v, want an error wrapping %v", err, w)
				}
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not mention %q", err, tc.text)
			}
		})
	}
}

func TestBadFiles(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "onnx", "mlp_nbits.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10, len(raw) / 2, len(raw) - 1} {
		if _, err := onnx.Parse(raw[:n], onnx.ReadOptions{Name: "trunc"}); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
	r := rnd(5)
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(r.IntN(256))
	}
	if _, err := onnx.Parse(junk, onnx.ReadOptions{}); err == nil {
		t.Error("random bytes: no error")
	}

	// An initializer whose bytes do not match its shape: Parse rejects it,
	// and Compile does too when validation is skipped.
	b := buildMLP()
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	p.GetGraph().GetInitializer()[0].RawData = p.GetGraph().GetInitializer()[0].RawData[:5]
	bad, err := onnx.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.Parse(bad, onnx.ReadOptions{}); !errors.Is(err, onnx.ErrInvalid) {
		t.Errorf("short raw_data: got %v, want onnx.ErrInvalid", err)
	}
	m, err := onnx.Parse(bad, onnx.ReadOptions{NoValidate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(m); err == nil || !strings.Contains(err.Error(), "fc1.weight_Q4") {
		t.Errorf("Compile with short raw_data: got %v, want an error naming fc1.weight_Q4", err)
	}

	// Missing external data file.
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	p, _ = buildMLP().Model()
	if err := onnx.Save(path, p, onnx.WriteOptions{ExternalData: "m.data", ExternalThreshold: 64}); err != nil {
		t.Fatal(err)
	}
	if m, err := onnx.Load(path); err != nil {
		t.Fatalf("with external data: %v", err)
	} else {
		if _, err := Compile(m); err != nil {
			t.Errorf("Compile with external data: %v", err)
		}
		m.Close()
	}
	if err := os.Remove(filepath.Join(dir, "m.data")); err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.Load(path); err == nil || !strings.Contains(err.Error(), "m.data") {
		t.Errorf("missing external data: got %v, want an error naming m.data", err)
	}
}

// FuzzCompile feeds arbitrary bytes through Parse and Compile: neither may
// panic. (Run is not fuzzed: a valid model may legitimately ask for huge
// tensors.)
func FuzzCompile(f *testing.F) {
	if raw, err := os.ReadFile(casesFile); err == nil {
		var cases []jsonCase
		if json.Unmarshal(raw, &cases) == nil {
			for _, c := range cases {
				if m, err := base64.StdEncoding.DecodeString(c.Model); err == nil {
					f.Add(m)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnx.Parse(data, onnx.ReadOptions{NoValidate: len(data)%2 == 0})
		if err != nil {
			return
		}
		_, _ = Compile(m)
	})
}
