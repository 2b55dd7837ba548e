package exec

import (
	"errors"
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
