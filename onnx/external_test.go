package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// mlp builds y = relu(x·w1)·w2 with w1 [4,512] and w2 [512,2] float32
// (8 KiB and 4 KiB) and a small bias b [2].
func mlp(t testing.TB) (*onnxpb.ModelProto, []float32, []float32) {
	t.Helper()
	w1 := make([]float32, 4*512)
	for i := range w1 {
		w1[i] = float32(i%13) - 6
	}
	w2 := make([]float32, 512*2)
	for i := range w2 {
		w2[i] = float32(i%7) * 0.5
	}
	b := NewBuilder("mlp", Opset{"", 21})
	b.Input("x", Float32, "batch", 4)
	Initializer(b, "w1", Float32, []int64{4, 512}, w1)
	Initializer(b, "w2", Float32, []int64{512, 2}, w2)
	Initializer(b, "b", Float32, []int64{2}, []float32{1, -1})
	b.AddNode(Node{Name: "mm1", Op: "MatMul", Inputs: []string{"x", "w1"}, Outputs: []string{"h"}})
	b.AddNode(Node{Name: "relu", Op: "Relu", Inputs: []string{"h"}, Outputs: []string{"r"}})
	b.AddNode(Node{Name: "mm2", Op: "MatMul", Inputs: []string{"r", "w2"}, Outputs: []string{"z"}})
	b.AddNode(Node{Name: "add", Op: "Add", Inputs: []string{"z", "b"}, Outputs: []string{"y"}})
	b.Output("y", Float32, "batch", 2)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return p, w1, w2
}

func extInfo(t *testing.T, tp *onnxpb.TensorProto) ExternalData {
	t.Helper()
	ed, err := ParseExternalData(tp)
	if err != nil {
		t.Fatal(err)
	}
	return ed
}

func TestExternalDataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p, w1, w2 := mlp(t)
	path := filepath.Join(dir, "mlp.onnx")
	if err := Save(path, p, WriteOptions{ExternalData: "mlp.onnx.data", ExternalThreshold: 4096}); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(p.GetGraph().GetInitializer()[0], mustTensor(t, "w1", []int64{4, 512}, w1)) {
		t.Errorf("Save modified the model's initializer")
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	w1p, w2p, bp := m.Initializer("w1"), m.Initializer("w2"), m.Initializer("b")
	if !IsExternal(w1p) || !IsExternal(w2p) || IsExternal(bp) {
		t.Fatalf("external: w1 %v w2 %v b %v, want true true false (threshold 4096)", IsExternal(w1p), IsExternal(w2p), IsExternal(bp))
	}
	e1, e2 := extInfo(t, w1p), extInfo(t, w2p)
	want1 := ExternalData{Location: "mlp.onnx.data", Offset: 0, Length: 8192}
	want2 := ExternalData{Location: "mlp.onnx.data", Offset: 8192, Length: 4096}
	if e1 != want1 || e2 != want2 {
		t.Errorf("external data: got %+v %+v, want %+v %+v", e1, e2, want1, want2)
	}
	st, err := os.Stat(filepath.Join(dir, "mlp.onnx.data"))
	if err != nil || st.Size() != 8192+4096 {
		t.Errorf("data file: %v, size %d, want 12288", err, st.Size())
	}
	got1, err := TensorData[float32](m, w1p)
	if err != nil || !reflect.DeepEqual(got1, w1) {
		t.Errorf("w1: err %v, equal %v", err, reflect.DeepEqual(got1, w1))
	}
	got2, err := TensorView[float32](m, w2p)
	if err != nil || !reflect.DeepEqual(got2, w2) {
		t.Errorf("w2 view: err %v, equal %v", err, reflect.DeepEqual(got2, w2))
	}
	gotb, err := TensorData[float32](m, bp)
	if err != nil || !reflect.DeepEqual(gotb, []float32{1, -1}) {
		t.Errorf("b: got %v, %v, want [1 -1]", gotb, err)
	}

	// Saving the loaded model elsewhere without ExternalData inlines the data.
	path2 := filepath.Join(t.TempDir(), "inline.onnx")
	if err := m.Save(path2, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path2)
	if err != nil {
		t.Fatal(err)
	}
	if IsExternal(m2.Initializer("w1")) {
		t.Errorf("inline save kept w1 external")
	}
	if got, _ := TensorData[float32](m2, m2.Initializer("w1")); !reflect.DeepEqual(got, w1) {
		t.Errorf("inline w1 differs")
	}
	if err := m.Save(path, WriteOptions{ExternalData: "mlp.onnx.data"}); err == nil {
		t.Errorf("Save over the external file the model reads from: got nil error")
	}
}

func TestExternalAlignment(t *testing.T) {
	dir := t.TempDir()
	b := NewBuilder("g", Opset{"", 21})
	Initializer(b, "small", Uint8, []int64{100}, make([]uint8, 100))
	Initializer(b, "big", Float32, []int64{1500}, make([]float32, 1500))
	Initializer(b, "small2", Int64, []int64{3}, []int64{1, 2, 3})
	b.Output("small2", Int64, 3)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a.onnx")
	if err := Save(path, p, WriteOptions{ExternalData: "sub/../a.bin", ExternalThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var offs []int64
	for _, name := range []string{"small", "big", "small2"} {
		offs = append(offs, extInfo(t, m.Initializer(name)).Offset)
	}
	// small at 0 (100 bytes), big (6000 bytes) page-aligned at 4096, small2 64-aligned after it.
	if want := []int64{0, 4096, 10112}; !reflect.DeepEqual(offs, want) {
		t.Errorf("offsets: got %v, want %v", offs, want)
	}
	got, err := TensorData[int64](m, m.Initializer("small2"))
	if err != nil || !reflect.DeepEqual(got, []int64{1, 2, 3}) {
		t.Errorf("small2: got %v, %v", got, err)
	}
}

func mustTensor(t *testing.T, name string, dims []int64, data []float32) *onnxpb.TensorProto {
	t.Helper()
	tp, err := NewTensor(name, Float32, dims, data)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// extModel writes a model whose initializer "w" (FLOAT [4]) has the given
// external_data entries, plus a 16-byte file "w.bin", and returns its path.
func extModel(t *testing.T, kv ...string) string {
	t.Helper()
	dir := t.TempDir()
	data := make([]byte, 16)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tp := &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{4}, DataType: proto.Int32(int32(Float32)),
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}
	for i := 0; i+1 < len(kv); i += 2 {
		tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	b := NewBuilder("g", Opset{"", 21})
	b.AddInitializer(tp)
	b.Output("w", Float32, 4)
	p := b.model // not validated: the external data may be bad on purpose
	path := filepath.Join(dir, "m.onnx")
	if err := Write(fileWriter(t, path), p); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileWriter(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestExternalDataErrors(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		want string
	}{
		{"ok", []string{"location", "w.bin"}, ""},
		{"ok offset length checksum", []string{"location", "./w.bin", "offset", "0", "length", "16", "checksum", "abc"}, ""},
		{"missing file", []string{"location", "nope.bin"}, `tensor "w": external data: open "nope.bin"`},
		{"no location", []string{"offset", "0"}, `tensor "w": external data: no location`},
		{"dotdot", []string{"location", "../w.bin"}, `location "../w.bin" is not a relative path inside the model directory`},
		{"dotdot inside", []string{"location", "a/../../w.bin"}, "is not a relative path inside"},
		{"absolute", []string{"location", "/etc/passwd"}, `location "/etc/passwd" is not a relative path`},
		{"offset past end", []string{"location", "w.bin", "offset", "20"}, `offset 20 is past the end of "w.bin" (16 bytes)`},
		{"length past end", []string{"location", "w.bin", "offset", "8", "length", "16"}, `offset 8 + length 16 is past the end of "w.bin" (16 bytes)`},
		{"bad offset", []string{"location", "w.bin", "offset", "-4"}, `offset "-4" is not a non-negative integer`},
		{"short", []string{"location", "w.bin", "offset", "4"}, "external data has 12 bytes, want 16 for FLOAT [4]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := extModel(t, tc.kv...)
			m, err := Load(path)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				defer m.Close()
				got, err := TensorData[float32](m, m.Initializer("w"))
				if err != nil || len(got) != 4 {
					t.Fatalf("TensorData: %v, %v", got, err)
				}
				return
			}
			if err == nil {
				m.Close()
				t.Fatalf("Load: got nil error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load error %q does not name the file and contain %q", err, tc.want)
			}
			// Without validation Load succeeds and TensorData reports the same problem.
			data, _ := os.ReadFile(path)
			m, err = Parse(data, ReadOptions{Dir: filepath.Dir(path), Name: path, NoValidate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			_, err = TensorData[float32](m, m.Initializer("w"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("TensorData error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLocalPath(t *testing.T) {
	for _, tc := range []struct {
		loc  string
		want bool
	}{
		{"w.bin", true}, {"a/b.bin", true}, {"./a.bin", true}, {"a/../b", true},
		{"", false}, {"..", false}, {"../a", false}, {"a/../../b", false}, {"/a", false}, {"\\a", false}, {"a\x00b", false},
	} {
		if got := localPath(tc.loc); got != tc.want {
			t.Errorf("localPath(%s) = %v, want %v", strconv.Quote(tc.loc), got, tc.want)
		}
	}
}

func TestSaveBadExternalName(t *testing.T) {
	p, _, _ := mlp(t)
	err := Save(filepath.Join(t.TempDir(), "m.onnx"), p, WriteOptions{ExternalData: "../x.bin"})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Save with ExternalData ../x.bin: got %v, want ErrInvalid", err)
	}
}
