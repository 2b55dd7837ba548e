package exec

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func TestTfIdfVectorizerModes(t *testing.T) {
	x := tensor.Must(tensor.New([]int{6}, []int64{1, 2, 1, 2, 3, 1}))
	attrs := func(mode string, extra ...onnx.Attr) []onnx.Attr {
		return append([]onnx.Attr{
			{Name: "mode", Value: mode}, {Name: "min_gram_length", Value: int64(1)}, {Name: "max_gram_length", Value: int64(2)},
			{Name: "max_skip_count", Value: int64(1)}, {Name: "ngram_counts", Value: []int64{0, 2}},
			{Name: "ngram_indexes", Value: []int64{2, 0, 1, 3}}, {Name: "pool_int64s", Value: []int64{1, 3, 1, 2, 2, 1}},
		}, extra...)
	}
	// Unigram 1 (column 2) 3 times, 3 (column 0) once. Bigrams at skip 0:
	// (1,2) twice (column 1), (2,1) once (column 3); at skip 1 the pairs are
	// (1,1), (2,2), (1,3), (2,1): (2,1) once more.
	weights := onnx.Attr{Name: "weights", Value: []float32{0.5, 2, 3, 4}}
	for _, tt := range []struct {
		mode  string
		attrs []onnx.Attr
		want  []float32
	}{
		{"TF", attrs("TF"), []float32{1, 2, 3, 2}},
		{"IDF", attrs("IDF"), []float32{1, 1, 1, 1}},
		{"IDF weights", attrs("IDF", weights), []float32{2, 3, 0.5, 4}},
		{"TFIDF weights", attrs("TFIDF", weights), []float32{2, 6, 1.5, 8}},
	} {
		got, err := runNode(t, "TfIdfVectorizer", onnx.Float32, tt.attrs, x)
		if err != nil {
			t.Fatalf("%s: %v", tt.mode, err)
		}
		if d := got.(*tensor.Tensor[float32]).Data(); !reflect.DeepEqual(d, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.mode, d, tt.want)
		}
	}
	bad := attrs("TF")
	bad[4] = onnx.Attr{Name: "ngram_counts", Value: []int64{0, 3}} // bigrams would start mid-pool, odd length
	if _, err := runNode(t, "TfIdfVectorizer", onnx.Float32, bad, x); !errors.Is(err, ErrAttribute) || !strings.Contains(err.Error(), "node n (TfIdfVectorizer)") {
		t.Errorf("bad ngram_counts: got %v, want ErrAttribute naming the node", err)
	}
}

func TestCastStrings(t *testing.T) {
	to := func(dt onnx.DataType) []onnx.Attr { return []onnx.Attr{{Name: "to", Value: int64(dt)}} }
	strs := func(v ...string) tensor.Any { return mustStrings([]int{len(v)}, v) }
	f := tensor.Must(tensor.New([]int{6}, []float32{0.6048455, 1234567, 1e-5, float32(math.Inf(-1)), float32(math.NaN()), -2.5}))
	got, err := runNode(t, "Cast", onnx.String, to(onnx.String), f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0.6048455", "1234567.0", "1e-05", "-INF", "NaN", "-2.5"}
	if d := got.(*tensor.Strings).Data(); !reflect.DeepEqual(d, want) {
		t.Errorf("float32 to string: got %q, want %q", d, want)
	}
	got, err = runNode(t, "Cast", onnx.Int32, to(onnx.Int32), strs("100.5", "-7", "1E3", "+inf"))
	if err == nil {
		if d := got.(*tensor.Tensor[int32]).Data(); d[0] != 100 || d[1] != -7 || d[2] != 1000 {
			t.Errorf("string to int32: got %v, want [100 -7 1000 …]", d)
		}
	} else {
		t.Fatal(err)
	}
	got, err = runNode(t, "Cast", onnx.Float32, to(onnx.Float32), strs("nan", "-INF", "0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if d := got.(*tensor.Tensor[float32]).Data(); !math.IsNaN(float64(d[0])) || !math.IsInf(float64(d[1]), -1) || d[2] != 0.1 {
		t.Errorf("string to float32: got %v", d)
	}
	if _, err := runNode(t, "Cast", onnx.Float32, to(onnx.Float32), strs("1", "Hello")); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), `"Hello"`) {
		t.Errorf("Cast of \"Hello\": got %v, want ErrInput naming the element", err)
	}
}

func TestStringNormalizer(t *testing.T) {
	in := mustStrings([]int{1, 3}, []string{"Straße", "MONDAY", "monday"})
	attrs := []onnx.Attr{{Name: "stopwords", Value: []string{"Monday"}}, {Name: "case_change_action", Value: "UPPER"}}
	got, err := runNode(t, "StringNormalizer", onnx.String, attrs, in)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.(*tensor.Strings); !reflect.DeepEqual(s.Shape(), []int{1, 1}) || s.Data()[0] != "STRASSE" && s.Data()[0] != "STRAßE" {
		t.Errorf("got %v, want [[STRASSE]] (or STRAßE)", s)
	}
	attrs = append(attrs, onnx.Attr{Name: "is_case_sensitive", Value: int64(1)})
	got, err = runNode(t, "StringNormalizer", onnx.String, attrs, mustStrings([]int{1}, []string{"Monday"}))
	if err != nil {
		t.Fatal(err)
	}
	if s := got.(*tensor.Strings); !reflect.DeepEqual(s.Shape(), []int{1}) || s.Data()[0] != "" {
		t.Errorf("everything dropped: got %v, want [\"\"]", s)
	}
	if _, err := runNode(t, "StringNormalizer", onnx.String, []onnx.Attr{{Name: "case_change_action", Value: "TITLE"}}, in); !errors.Is(err, ErrAttribute) {
		t.Errorf("case_change_action TITLE: got %v, want ErrAttribute", err)
	}
}

func mustStrings(shape []int, v []string) *tensor.Strings {
	s, err := tensor.NewStrings(shape, v)
	if err != nil {
		panic(err)
	}
	return s
}
