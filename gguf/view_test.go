package gguf_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// viewBuilder returns a Builder with metadata, eager and lazy tensors of
// several types, and the lazy tensors' bytes by name.
func viewBuilder(t *testing.T) (*gguf.Builder, map[string][]byte) {
	t.Helper()
	b := gguf.NewBuilder()
	for _, kv := range []gguf.KV{
		{Key: gguf.KeyArchitecture, Value: gguf.Value{Type: gguf.TypeString, V: "demo"}},
		{Key: "demo.tokens", Value: gguf.Value{Type: gguf.TypeArray, V: gguf.Array{Elem: gguf.TypeString, Values: []string{"a", "bc", ""}}}},
		{Key: gguf.KeyAlignment, Value: gguf.Value{Type: gguf.TypeUint32, V: uint32(64)}},
	} {
		if err := b.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	lazy := map[string][]byte{}
	for i, typ := range []quant.Type{quant.F32, quant.BF16, quant.Q8_0, quant.F16} {
		dims := []uint64{32, uint64(i + 1)}
		nb, _ := typ.RowBytes(32 * (i + 1))
		data := make([]byte, nb)
		for j := range data {
			data[j] = byte(i*31 + j)
		}
		if typ == quant.Q8_0 {
			for r := 0; r < i+1; r++ {
				data[r*34], data[r*34+1] = 0, 0x3c // scale 1.0
			}
		}
		name := fmt.Sprintf("t%d", i)
		var err error
		if i%2 == 0 {
			err = b.AddTensor(name, typ, dims, data)
		} else {
			lazy[name] = data
			err = b.AddTensorFunc(name, typ, dims, func(dst []byte) error { copy(dst, data); return nil })
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return b, lazy
}

// TestView: a View reads like the written file read back — metadata,
// tensor infos, data offset and every tensor's bytes — and AddTensorFunc
// tensors are written as AddTensor would write the same bytes.
func TestView(t *testing.T) {
	b, lazy := viewBuilder(t)
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	want, err := gguf.Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	released := 0
	v := b.View(func() error { released++; return errors.New("released") })
	if v.DataOffset != want.DataOffset || v.Alignment != want.Alignment || v.Version != want.Version {
		t.Errorf("view: data offset %d, alignment %d, version %d; file: %d, %d, %d", v.DataOffset, v.Alignment, v.Version, want.DataOffset, want.Alignment, want.Version)
	}
	if !reflect.DeepEqual(v.Metadata, want.Metadata) {
		t.Errorf("view metadata %v, file %v", v.Metadata, want.Metadata)
	}
	if len(v.Tensors) != len(want.Tensors) {
		t.Fatalf("view has %d tensors, file %d", len(v.Tensors), len(want.Tensors))
	}
	for i, ti := range want.Tensors {
		vi := v.Tensors[i]
		if vi.Name != ti.Name || !reflect.DeepEqual(vi.Dims, ti.Dims) || vi.Type != ti.Type || vi.Offset != ti.Offset || vi.Size != ti.Size {
			t.Errorf("tensor %d: view %+v, file %+v", i, vi, ti)
		}
		got, err := v.TensorData(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := want.TensorData(ti.Name)
		if !bytes.Equal(got, w) {
			t.Errorf("tensor %s: view bytes differ from the file's", ti.Name)
		}
		if l, ok := lazy[ti.Name]; ok && !bytes.Equal(w, l) {
			t.Errorf("tensor %s: written bytes are not the fill function's", ti.Name)
		}
		gf, err1 := v.TensorFloat32(ti.Name)
		wf, err2 := want.TensorFloat32(ti.Name)
		if err1 != nil || err2 != nil || !sameBits(gf, wf) {
			t.Errorf("tensor %s: TensorFloat32 differs (%v, %v)", ti.Name, err1, err2)
		}
	}
	// Appending to the Builder later does not change the snapshot.
	if err := b.AddTensor("late", quant.F32, []uint64{1}, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Tensor("late"); err == nil {
		t.Error("a tensor added after View is in the view")
	}
	if err := v.Close(); err == nil || err.Error() != "released" {
		t.Errorf("first Close: %v, want the release error", err)
	}
	if err := v.Close(); err != nil || released != 1 {
		t.Errorf("second Close: %v, release called %d times, want nil and 1", err, released)
	}
	if _, err := v.TensorData("t0"); err == nil {
		t.Error("TensorData after Close succeeded")
	}
}

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestViewBudget: a lazy tensor is produced only within the view's
// budget.
func TestViewBudget(t *testing.T) {
	b := gguf.NewBuilder()
	if err := b.AddTensorFunc("big", quant.F32, []uint64{1024}, func(dst []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	v := b.View(nil, gguf.Options{Budget: 1000})
	if _, err := v.TensorData("big"); !errors.Is(err, budget.ErrExceeded) {
		t.Errorf("4096-byte tensor in a 1000-byte budget: %v, want budget.ErrExceeded", err)
	}
}

// TestAddTensorFuncErrors: a nil or failing fill function, and a bad shape,
// are errors naming the tensor; a failing fill stops WriteTo.
func TestAddTensorFuncErrors(t *testing.T) {
	b := gguf.NewBuilder()
	if err := b.AddTensorFunc("nil", quant.F32, []uint64{4}, nil); err == nil {
		t.Error("nil fill accepted")
	}
	if err := b.AddTensorFunc("odd", quant.Q8_0, []uint64{31}, func([]byte) error { return nil }); err == nil {
		t.Error("31 Q8_0 values accepted")
	}
	boom := errors.New("boom")
	calls := 0
	for _, name := range []string{"a", "b"} {
		if err := b.AddTensorFunc(name, quant.F32, []uint64{4}, func([]byte) error { calls++; return boom }); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	if !errors.Is(err, boom) || !bytes.Contains([]byte(err.Error()), []byte(`"a"`)) || calls != 1 {
		t.Errorf("WriteTo: %v after %d calls, want boom for tensor \"a\" after 1", err, calls)
	}
}
