package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// sample builds a small file with every metadata type and three tensors.
func sample(t testing.TB) (*Builder, []byte) {
	t.Helper()
	b := NewBuilder()
	set := func(k string, v any) {
		if err := b.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	set(KeyArchitecture, "gemma3")
	set("u8", uint8(200))
	set("i8", int8(-5))
	set("u16", uint16(60000))
	set("i16", int16(-30000))
	set("u32", uint32(4000000000))
	set("i32", int32(-2000000000))
	set("f32", float32(1.5))
	set("bool", true)
	set("str", "héllo ▁")
	set("u64", uint64(1)<<63)
	set("i64", int64(-1)<<62)
	set("f64", math.Pi)
	set("arr.str", []string{"a", "", "<0x0A>"})
	set("arr.f32", []float32{0.5, -1})
	set("arr.i32", []int32{1, 2, 3})
	set("arr.bool", []bool{true, false})
	set("arr.nested", []Array{{TypeUint8, []uint8{1, 2}}, {TypeString, []string{"x"}}, {TypeArray, []Array{{TypeInt64, []int64{-7}}}}})
	set("arr.empty", []uint64{})
	w := make([]float32, 64*2)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	if err := b.AddFloat32("w.q4_0", quant.Q4_0, []uint64{64, 2}, w); err != nil {
		t.Fatal(err)
	}
	if err := b.AddFloat32("norm", quant.F32, []uint64{3}, []float32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddFloat32("w.q4_k", quant.Q4_K, []uint64{256, 1, 1, 1}, make([]float32, 256)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return b, buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	b, data := sample(t)
	f, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 32 || f.DataOffset%32 != 0 {
		t.Errorf("got version %d, alignment %d, data offset %d", f.Version, f.Alignment, f.DataOffset)
	}
	if !reflect.DeepEqual(f.Metadata, b.kvs) {
		t.Errorf("metadata:\ngot  %v\nwant %v", f.Metadata, b.kvs)
	}
	for i, ti := range f.Tensors {
		want := b.tensors[i]
		if ti.Name != want.Name || !reflect.DeepEqual(ti.Dims, want.Dims) || ti.Type != want.Type || ti.Offset != want.Offset || ti.Size != want.Size {
			t.Errorf("tensor %d: got %+v, want %+v", i, ti, want)
		}
		got, err := f.TensorData(ti.Name)
		if err != nil || !bytes.Equal(got, b.data[i]) {
			t.Errorf("tensor %q data: got %x, %v, want %x", ti.Name, got, err, b.data[i])
		}
	}
	if v, err := f.TensorFloat32("norm"); err != nil || !reflect.DeepEqual(v, []float32{1, 2, 3}) {
		t.Errorf("norm: got %v, %v", v, err)
	}
	if w, err := f.TensorFloat32("w.q4_0"); err != nil || len(w) != 128 || w[0] != -3 {
		t.Errorf("w.q4_0: got %v, %v, want 128 values starting with -3 (the block's extreme is exact)", w, err)
	} else {
		for i, v := range w {
			if want := float32(i%7) - 3; math.Abs(float64(v-want)) > 3.0/8 {
				t.Errorf("w.q4_0[%d]: got %v, want %v ± 3/8", i, v, want)
			}
		}
	}
	if s, err := f.String(KeyArchitecture); err != nil || s != "gemma3" {
		t.Errorf("architecture: got %q, %v", s, err)
	}
	if u, err := f.Uint("u8"); err != nil || u != 200 {
		t.Errorf("Uint(u8): got %d, %v", u, err)
	}
	if _, err := f.Uint("i8"); err == nil {
		t.Errorf("Uint(i8 = -5): got no error")
	}
	if x, err := f.Float("f32"); err != nil || x != 1.5 {
		t.Errorf("Float(f32): got %v, %v", x, err)
	}
	if _, err := f.String("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: got %v, want ErrNotFound", err)
	}
	if _, err := f.TensorData("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tensor: got %v, want ErrNotFound", err)
	}
	// Writing what was read gives the same bytes.
	b2 := NewBuilder()
	for _, kv := range f.Metadata {
		if err := b2.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range f.Tensors {
		d, _ := f.TensorData(ti.Name)
		if err := b2.AddTensor(ti.Name, ti.Type, ti.Dims, d); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := b2.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("rewrite differs: %d vs %d bytes", buf.Len(), len(data))
	}
}

func TestOpenMapped(t *testing.T) {
	_, data := sample(t)
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.TensorFloat32("norm")
	if err != nil || !reflect.DeepEqual(got, []float32{1, 2, 3}) {
		t.Errorf("norm: got %v, %v", got, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.TensorData("norm"); err == nil {
		t.Errorf("TensorData after Close: got no error")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.gguf")); err == nil {
		t.Errorf("Open(missing): got no error")
	}
}

func TestAlignmentAndVersion2(t *testing.T) {
	b := NewBuilder()
	if err := b.Set(KeyAlignment, uint32(64)); err != nil {
		t.Fatal(err)
	}
	if err := b.AddFloat32("a", quant.F32, []uint64{3}, []float32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddFloat32("b", quant.F16, []uint64{2}, []float32{4, 5}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	b.WriteTo(&buf)
	data := buf.Bytes()
	binary.LittleEndian.PutUint32(data[4:], 2) // v2 has the same layout
	f, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || f.Alignment != 64 || f.DataOffset%64 != 0 || f.Tensors[1].Offset != 64 {
		t.Errorf("got version %d alignment %d data offset %d, b at %d", f.Version, f.Alignment, f.DataOffset, f.Tensors[1].Offset)
	}
	if v, _ := f.TensorFloat32("b"); !reflect.DeepEqual(v, []float32{4, 5}) {
		t.Errorf("b: got %v", v)
	}
	for _, bad := range []any{uint32(48), uint32(0), uint64(32), "32"} {
		if err := NewBuilder().Set(KeyAlignment, bad); err == nil {
			t.Errorf("Set(alignment, %T %v): got no error", bad, bad)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder()
	cases := []struct {
		name string
		err  error
	}{
		{"dup", b.AddTensor("x", quant.F32, []uint64{1}, make([]byte, 4))},
		{"dup2", b.AddTensor("x", quant.F32, []uint64{1}, make([]byte, 4))},
		{"size", b.AddTensor("y", quant.F32, []uint64{2}, make([]byte, 4))},
		{"block", b.AddTensor("z", quant.Q4_0, []uint64{16}, make([]byte, 9))},
		{"dims", b.AddTensor("d", quant.F32, nil, nil)},
		{"type", b.AddTensor("t", quant.Type(99), []uint64{1}, make([]byte, 4))},
		{"long", b.AddTensor(strings.Repeat("n", 64), quant.F32, []uint64{1}, make([]byte, 4))},
		{"value", b.Set("k", struct{}{})},
		{"mismatch", b.Set("k", Value{TypeUint32, "no"})},
		{"arr", b.Set("k", Array{TypeString, []int32{1}})},
	}
	for i, c := range cases {
		if (i == 0) != (c.err == nil) {
			t.Errorf("%s: got %v", c.name, c.err)
		}
	}
}
