package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/internal/mmap"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func build(t testing.TB, b *Builder) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := b.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d bytes, %v (buffer %d)", n, err, buf.Len())
	}
	return buf.Bytes()
}

// TestReferenceBytes checks Builder against the bytes the reference (Rust)
// implementation's serialization tests expect.
func TestReferenceBytes(t *testing.T) {
	pad := func(s string, n int) []byte {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(n))
		return append(b[:], []byte(s+strings.Repeat(" ", n-len(s)))...)
	}
	data := f32bytes(0, 1, 2, 3, 4, 5)
	for _, c := range []struct {
		name  string
		build func(*Builder)
		want  []byte
	}{
		{"attn.0", func(b *Builder) { b.Add("attn.0", F32, []int{1, 2, 3}, data) },
			append(pad(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`, 64), data...)},
		{"attn0 aligned", func(b *Builder) { b.Add("attn0", F32, []int{1, 1, 2, 3}, data) },
			append(pad(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}`, 72), data...)},
		{"empty", func(*Builder) {}, pad(`{}`, 8)},
		{"metadata", func(b *Builder) { b.SetMetadata("framework", "pt") }, pad(`{"__metadata__":{"framework":"pt"}}`, 40)},
	} {
		b := NewBuilder()
		c.build(b)
		if got := build(t, b); !bytes.Equal(got, c.want) {
			t.Errorf("%s: got\n%q\nwant\n%q", c.name, got, c.want)
		}
		if _, err := Read(c.want); err != nil {
			t.Errorf("%s: Read: %v", c.name, err)
		}
	}
}

// sampleBuilder has one tensor of every dtype, a scalar, an empty tensor
// and metadata.
func sampleBuilder(t testing.TB) (*Builder, map[string][]byte) {
	b := NewBuilder()
	b.SetMetadata("format", "pt")
	b.SetMetadata("note", `quotes " and <tags> & ünïcode`)
	want := map[string][]byte{}
	for d := BOOL; d <= U64; d++ {
		shape := []int{2, 3}
		data := make([]byte, 6*d.Size())
		for i := range data {
			data[i] = byte(int(d)*31 + i)
		}
		name := "t." + strings.ToLower(d.String())
		if err := b.Add(name, d, shape, data); err != nil {
			t.Fatal(err)
		}
		want[name] = data
	}
	if err := b.Add("scalar", F64, nil, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	want["scalar"] = make([]byte, 8)
	if err := b.Add("empty", BF16, []int{4, 0}, nil); err != nil {
		t.Fatal(err)
	}
	want["empty"] = []byte{}
	return b, want
}

func TestRoundTrip(t *testing.T) {
	b, want := sampleBuilder(t)
	raw := build(t, b)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	opened, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	read, err := Read(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*File{read, opened} {
		if len(f.Tensors) != len(want) {
			t.Fatalf("%d tensors, want %d", len(f.Tensors), len(want))
		}
		if f.Metadata["note"] != `quotes " and <tags> & ünïcode` || f.Metadata["format"] != "pt" {
			t.Errorf("metadata %v", f.Metadata)
		}
		for name, data := range want {
			tt, err := f.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tt.Data, data) {
				t.Errorf("%s: data %v, want %v", name, tt.Data, data)
			}
			if tt.File != f.Path || int(tt.Offset)+len(tt.Data) > len(raw) || !bytes.Equal(raw[tt.Offset:tt.Offset+int64(len(tt.Data))], data) {
				t.Errorf("%s: File %q Offset %d do not locate the data", name, tt.File, tt.Offset)
			}
			// Every tensor starts at a multiple of its element size (the
			// writer orders tensors by decreasing dtype).
			if s := tt.DType.Size(); (tt.Offset-8-f.HeaderSize)%int64(s) != 0 {
				t.Errorf("%s: offset %d not aligned to %d", name, tt.Offset, s)
			}
		}
		if s, _ := f.Tensor("scalar"); len(s.Shape) != 0 || s.Elements() != 1 {
			t.Errorf("scalar: shape %v, %d elements", s.Shape, s.Elements())
		}
		if e, _ := f.Tensor("empty"); fmt.Sprint(e.Shape) != "[4 0]" || e.Elements() != 0 || e.DType != BF16 {
			t.Errorf("empty: %v %v %d elements", e.DType, e.Shape, e.Elements())
		}
		if _, err := f.Tensor("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing tensor: %v", err)
		}
	}
	// Open's tensors are slices of the mapping, not copies.
	m, _ := mmap.Open(path)
	mapped := m.Mapped()
	m.Close()
	if tt, _ := opened.Tensor("t.f32"); mapped && &tt.Data[0] != &opened.mapping.Data()[tt.Offset] {
		t.Error("Open copied tensor data")
	}
	if err := opened.Close(); err != nil {
		t.Fatal(err)
	}
	if err := opened.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDTypes(t *testing.T) {
	for d := BOOL; d <= U64; d++ {
		got, ok := ParseDType(d.String())
		if !ok || got != d || d.Size() == 0 {
			t.Errorf("ParseDType(%q) = %v, %v; size %d", d.String(), got, ok, d.Size())
		}
		if n := d.Numeric(); n.Size() != 0 && n.Size() != d.Size() {
			t.Errorf("%v.Numeric() = %v of size %d", d, n, n.Size())
		}
	}
	for _, s := range []string{"", "f32", "F4", "F6_E2M3", "invalid", "FLOAT"} {
		if d, ok := ParseDType(s); ok {
			t.Errorf("ParseDType(%q) = %v, want false", s, d)
		}
	}
	if Invalid.Size() != 0 || DType(200).String() != "DType(200)" {
		t.Error("Invalid or out-of-range DType")
	}
}

func TestFloat32(t *testing.T) {
	b := NewBuilder()
	vals := []float32{0, 1, -2.5, 65504, 0.333251953125}
	add := func(name string, d DType, enc func(i int, v float32, p []byte)) {
		data := make([]byte, len(vals)*d.Size())
		for i, v := range vals {
			enc(i, v, data[i*d.Size():])
		}
		if err := b.Add(name, d, []int{len(vals)}, data); err != nil {
			t.Fatal(err)
		}
	}
	add("f32", F32, func(_ int, v float32, p []byte) { binary.LittleEndian.PutUint32(p, math.Float32bits(v)) })
	add("f64", F64, func(_ int, v float32, p []byte) { binary.LittleEndian.PutUint64(p, math.Float64bits(float64(v))) })
	add("f16", F16, func(i int, _ float32, p []byte) {
		binary.LittleEndian.PutUint16(p, []uint16{0, 0x3c00, 0xc100, 0x7bff, 0x3555}[i])
	})
	add("bf16", BF16, func(_ int, v float32, p []byte) { binary.LittleEndian.PutUint16(p, uint16(math.Float32bits(v)>>16)) })
	if err := b.Add("i32", I32, []int{1}, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	f, err := Read(build(t, b))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want []float32
	}{
		{"f32", vals}, {"f64", vals}, {"f16", vals},
		{"bf16", []float32{0, 1, -2.5, 65280, 0.33203125}},
	} {
		tt, _ := f.Tensor(c.name)
		got, err := tt.Float32()
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	tt, _ := f.Tensor("i32")
	if _, err := tt.Float32(); err == nil {
		t.Error("Float32 of an I32 tensor: no error")
	}
	small, err := Read(build(t, b), Options{Budget: 4})
	if err == nil {
		tt, _ := small.Tensor("f32")
		_, err = tt.Float32()
	}
	if !errors.Is(err, budget.ErrExceeded) {
		t.Errorf("tiny budget: got %v, want budget.ErrExceeded", err)
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder()
	if err := b.Add("a", F32, []int{2}, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		dt    DType
		shape []int
		n     int
	}{
		{"a", F32, []int{2}, 8},            // duplicate
		{"", F32, []int{2}, 8},             // empty name
		{"__metadata__", F32, []int{2}, 8}, // reserved
		{"b", Invalid, []int{2}, 8},        // dtype
		{"c", F32, []int{3}, 8},            // size
		{"d", F32, []int{-1}, 0},           // negative dim
	} {
		if err := b.Add(c.name, c.dt, c.shape, make([]byte, c.n)); err == nil {
			t.Errorf("Add(%q, %v, %v, %d bytes): no error", c.name, c.dt, c.shape, c.n)
		}
	}
}

// file assembles a safetensors image from a header and data.
func file(header string, data int) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(len(header)))
	return append(append(b[:], header...), make([]byte, data)...)
}

func oneLine(t *testing.T, err error) {
	t.Helper()
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestBadFiles(t *testing.T) {
	long := func(n uint64) []byte {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], n)
		return append(b[:], "{}"...)
	}
	ten := `{`
	for i := range 10 {
		if i > 0 {
			ten += ","
		}
		ten += fmt.Sprintf(`"weight_%d":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}`, i)
	}
	ten += `}`
	for _, c := range []struct {
		name   string
		data   []byte
		tensor string // named in the error
		want   string
	}{
		{"empty file", nil, "", "shorter than the 8-byte header length"},
		{"short", []byte{1, 2, 3}, "", "shorter than the 8-byte"},
		{"length past end", long(1000), "", "runs past the end of the file"},
		{"length absurd", long(1 << 62), "", "over the 100000000-byte limit"},
		{"length huge", long(math.MaxUint64), "", "over the 100000000-byte limit"},
		{"length zero", file("", 0), "", "too short"},
		{"not an object", file(`[1,2]`, 0), "", "does not start with '{'"},
		{"leading space", file(` {}`, 0), "", "does not start with '{'"},
		{"bad UTF-8", file("{\"\xff\":{}}", 0), "", "not valid UTF-8"},
		{"truncated JSON", file(`{"a":{"dtype":"F32"`, 0), "a", "JSON ends early"},
		{"unclosed object", file(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}`, 4), "", "bad JSON header"},
		{"trailing garbage", file(`{}x`, 0), "", "bytes after the JSON header"},
		{"two objects", file(`{} {}`, 0), "", "bytes after the JSON header"},
		{"unknown dtype", file(`{"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}`, 1), "w", `unknown dtype "F4"`},
		{"no dtype", file(`{"w":{"shape":[2],"data_offsets":[0,8]}}`, 8), "w", `unknown dtype ""`},
		{"no shape", file(`{"w":{"dtype":"F32","data_offsets":[0,8]}}`, 8), "w", "no shape"},
		{"negative dim", file(`{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, 8), "w", "bad entry"},
		{"float dim", file(`{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, 8), "w", "bad entry"},
		{"string dim", file(`{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, 8), "w", "bad entry"},
		{"entry not object", file(`{"w":7}`, 0), "w", "bad entry"},
		{"one offset", file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`, 8), "w", "data_offsets has 1 entries"},
		{"offsets reversed", file(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, 8), "w", "end before they begin"},
		{"offsets past end", file(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), "w", "run past the end of the 8-byte data section"},
		{"size mismatch", file(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), "w", "hold 8 bytes, but F32 [3] needs 12"},
		{"shape overflow", file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, 8), "w", ""},
		{"overlap", file(ten, 16), "weight_", "overlap tensor"},
		{"gap", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "w", "gap of 4 bytes"},
		{"trailing data", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8), "", "4 bytes after the last tensor"},
		{"zero-size inside another", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`, 8), "z", "overlap"},
		{"duplicate tensor", file(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), "w", "appears twice"},
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`, 0), "", "__metadata__ appears twice"},
		{"metadata not strings", file(`{"__metadata__":{"a":1}}`, 0), "", "__metadata__ must map strings to strings"},
		{"name with newline", file("{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[9],\"data_offsets\":[0,4]}}", 4), "a\nb", "F32 [9] needs 36"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(c.data)
			if err == nil {
				t.Fatalf("Read(%q): no error", c.data)
			}
			oneLine(t, err)
			var fe *FormatError
			if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FormatError wrapping ErrFormat", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(fe.Tensor, c.tensor) || (c.tensor == "") != (fe.Tensor == "") {
				t.Errorf("got %q (tensor %q), want it to contain %q and name tensor %q", err, fe.Tensor, c.want, c.tensor)
			}
		})
	}
	// Valid oddities: whitespace after the object, null metadata, zero-size
	// tensors anywhere in order, unknown fields.
	for _, h := range []string{
		"{}\r\n\t ",
		`{"__metadata__":null}`,
		`{"z":{"dtype":"I8","shape":[0,5],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"extra":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0],"x":1}}`,
	} {
		n := 0
		if strings.Contains(h, `"a"`) {
			n = 4
		}
		if _, err := Read(file(h, n)); err != nil {
			t.Errorf("Read(%q): %v", h, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "trunc.safetensors")
	if err := os.WriteFile(p, file(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), `tensor "w"`) {
		t.Errorf("truncated file: got %v, want the path and the tensor named", err)
	}
	if _, err := Open(dir); !errors.Is(err, mmap.ErrNotRegular) {
		t.Errorf("Open(directory): got %v, want mmap.ErrNotRegular", err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing): got %v, want os.ErrNotExist", err)
	}
	big := filepath.Join(dir, "big.safetensors")
	hdr := `{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}` + strings.Repeat(" ", 4000)
	if err := os.WriteFile(big, file(hdr, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(big, Options{Budget: 1000})
	if !errors.Is(err, budget.ErrExceeded) || !strings.Contains(err.Error(), big) {
		t.Errorf("header over the budget: got %v, want budget.ErrExceeded naming the file", err)
	} else {
		oneLine(t, err)
	}
}
