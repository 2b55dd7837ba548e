package exec

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "TfIdfVectorizer", 9, 0, buildTfIdfVectorizer)
}

// tfidf is a compiled TfIdfVectorizer: the n-gram pool as a map from the
// n-gram's key to its output column.
type tfidf struct {
	mode             string
	minGram, maxGram int
	maxSkip          int
	cols             map[string]int
	weights          []float32 // per output column; nil: 1
	width            int
}

// buildTfIdfVectorizer reads the pool: pool_int64s holds the n-grams of
// length 1, then 2, …; ngram_counts[i] is where the (i+1)-grams start;
// ngram_indexes[j] is the output column of the j-th n-gram of the pool.
// Counting (per row of a 2-D input) takes every n-gram of length
// min_gram_length to max_gram_length whose items are skip+1 apart, skip
// from 0 to max_skip_count; unigrams are counted once. TF outputs the
// counts, IDF the weight (1 without weights) of each n-gram seen, TFIDF
// count × weight. pool_strings (string inputs) are not supported.
func buildTfIdfVectorizer(n *Node) (Kernel, error) {
	t := &tfidf{}
	var err error
	if t.mode, err = n.String("mode", ""); err != nil {
		return nil, err
	}
	if t.mode != "TF" && t.mode != "IDF" && t.mode != "TFIDF" {
		return nil, attrErr("mode %q, want TF, IDF or TFIDF", t.mode)
	}
	ints3 := make([]int64, 3)
	for i, name := range []string{"min_gram_length", "max_gram_length", "max_skip_count"} {
		if ints3[i], err = n.Int(name, -1); err != nil {
			return nil, err
		}
	}
	if ints3[0] < 1 || ints3[1] < ints3[0] || ints3[2] < 0 || ints3[1] > 1<<20 || ints3[2] > 1<<20 {
		return nil, attrErr("min_gram_length %d, max_gram_length %d, max_skip_count %d: want 1 ≤ min ≤ max and skip ≥ 0", ints3[0], ints3[1], ints3[2])
	}
	t.minGram, t.maxGram, t.maxSkip = int(ints3[0]), int(ints3[1]), int(ints3[2])
	if n.Has("pool_strings") {
		return nil, &Error{Msg: "pool_strings (string inputs) are not supported", Err: onnx.ErrUnsupported}
	}
	pool, err := n.Ints("pool_int64s", nil)
	if err != nil {
		return nil, err
	}
	counts, err := n.Ints("ngram_counts", nil)
	if err != nil {
		return nil, err
	}
	indexes, err := n.Ints("ngram_indexes", nil)
	if err != nil {
		return nil, err
	}
	t.cols = map[string]int{}
	j := 0 // n-gram number
	for i, start := range counts {
		end := int64(len(pool))
		if i+1 < len(counts) {
			end = counts[i+1]
		}
		size := int64(i + 1)
		if start < 0 || end < start || end > int64(len(pool)) || (end-start)%size != 0 {
			return nil, attrErr("ngram_counts %v do not split pool_int64s (%d values) into n-grams", counts, len(pool))
		}
		for p := start; p < end; p += size {
			if j >= len(indexes) {
				return nil, attrErr("ngram_indexes has %d values, the pool more n-grams", len(indexes))
			}
			col := indexes[j]
			if col < 0 || col >= 1<<24 {
				return nil, attrErr("ngram_indexes[%d] = %d out of range", j, col)
			}
			t.cols[ngramKey(pool[p:p+size])] = int(col)
			t.width = max(t.width, int(col)+1)
			j++
		}
	}
	if j != len(indexes) {
		return nil, attrErr("ngram_indexes has %d values, the pool %d n-grams", len(indexes), j)
	}
	if n.Has("weights") {
		w, err := onnx.AttrOr(n.Proto, "weights", []float32(nil))
		if err != nil {
			return nil, attrWrap(err, "weights")
		}
		if len(w) != len(indexes) {
			return nil, attrErr("weights has %d values, want one per n-gram (%d)", len(w), len(indexes))
		}
		t.weights = make([]float32, t.width)
		for k, col := range indexes {
			t.weights[col] = w[k]
		}
	}
	return one(t.run), nil
}

// ngramKey is the map key of an n-gram.
func ngramKey(items []int64) string {
	b := make([]byte, 0, 8*len(items))
	for _, v := range items {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return string(b)
}

func (t *tfidf) run(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
	x, err := tensorArg(in, 0)
	if err != nil {
		return nil, err
	}
	if !isTensor(x) || isFloat(x.DType()) {
		return nil, typeErr("input of %s, want int32 or int64", x.DType())
	}
	v, err := ints(x)
	if err != nil {
		return nil, err
	}
	shape := x.Shape()
	var rows, cols int
	var os []int
	switch len(shape) {
	case 1:
		rows, cols, os = 1, shape[0], []int{t.width}
	case 2:
		rows, cols, os = shape[0], shape[1], []int{shape[0], t.width}
	default:
		return nil, shapeErr("input has shape %v, want 1-D or 2-D", shape)
	}
	if err := checkOut(ctx, numeric.Float32, os); err != nil {
		return nil, err
	}
	out := make([]float32, rows*t.width)
	key := make([]int64, t.maxGram)
	for r := 0; r < rows; r++ {
		row := v[r*cols : (r+1)*cols]
		o := out[r*t.width : (r+1)*t.width]
		for skip := 0; skip <= t.maxSkip; skip++ {
			d := skip + 1
			for size := max(t.minGram, 1); size <= t.maxGram; size++ {
				if size == 1 && skip > 0 { // unigrams once
					continue
				}
				for s := 0; s+(size-1)*d < len(row); s++ {
					for k := 0; k < size; k++ {
						key[k] = row[s+k*d]
					}
					if c, ok := t.cols[ngramKey(key[:size])]; ok {
						o[c]++
					}
				}
			}
		}
		for c, cnt := range o {
			w := float32(1)
			if t.weights != nil {
				w = t.weights[c]
			}
			switch {
			case t.mode == "IDF" && cnt > 0:
				o[c] = w
			case t.mode == "TFIDF":
				o[c] = cnt * w
			}
		}
	}
	res, err := tensor.New(os, out)
	if err != nil {
		return nil, fmt.Errorf("exec: TfIdfVectorizer: %w", err)
	}
	return res, nil
}
