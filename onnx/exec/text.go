package exec

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "TfIdfVectorizer", 9, 0, buildTfIdfVectorizer)
	Register("", "StringNormalizer", 10, 0, buildStringNormalizer)
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

// castStrings is Cast to or from STRING. Numbers become their shortest
// decimal form that reads back to the same value of their type, positional
// from 1e-4 to 1e16 ("0.6048455", "100.0") and scientific outside
// ("1e-05"), as NumPy's str() writes them; infinities and NaN become
// "INF", "-INF" and "NaN". Strings are parsed as decimal or scientific
// numbers, "INF", "+INF", "-INF" and "NaN" in any case, and converted as
// a float would be (integers truncate toward zero); anything else is an
// error naming the element.
func castStrings(x tensor.Any, dt numeric.DType, toBool bool) (tensor.Any, error) {
	shape := x.Shape()
	if dt == numeric.String {
		if s, ok := x.(*tensor.Strings); ok {
			return s, nil
		}
		out := make([]string, x.Size())
		if isFloat(x.DType()) {
			bits := 32
			var f []float64
			if x.DType() == numeric.Float64 {
				f, bits = x.(*tensor.Tensor[float64]).Data(), 64
			} else {
				v, err := floats(x)
				if err != nil {
					return nil, err
				}
				f = convSlice[float32, float64](v)
			}
			for i, v := range f {
				out[i] = formatFloat(v, bits)
			}
		} else {
			v, err := ints(x)
			if err != nil {
				return nil, err
			}
			unsigned := x.DType() == numeric.Uint64
			for i, e := range v {
				if unsigned {
					out[i] = strconv.FormatUint(uint64(e), 10)
				} else {
					out[i] = strconv.FormatInt(e, 10)
				}
			}
		}
		return tensor.NewStrings(shape, out)
	}
	s := x.(*tensor.Strings).Data()
	f := make([]float64, len(s))
	bits := 64
	if dt == numeric.Float32 {
		bits = 32 // one rounding, straight to float32
	}
	for i, e := range s {
		v, err := parseFloat(e, bits)
		if err != nil {
			return nil, typeErr("element %d %q is not a number", i, e)
		}
		f[i] = v
	}
	v, err := tensor.New(shape, f)
	if err != nil {
		return nil, err
	}
	return cast(v, dt, toBool)
}

// formatFloat formats v, a value of a float type of the given bits, as
// castStrings describes.
func formatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "INF"
	case math.IsInf(v, -1):
		return "-INF"
	}
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(v, 'e', -1, bits)
	}
	s := strconv.FormatFloat(v, 'f', -1, bits)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// parseFloat reads a number as castStrings describes.
func parseFloat(s string, bits int) (float64, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "INF", "+INF":
		return math.Inf(1), nil
	case "-INF":
		return math.Inf(-1), nil
	case "NAN":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(strings.TrimSpace(s), bits)
}

// buildStringNormalizer: drops the stopwords (compared after lower-casing
// both when is_case_sensitive = 0), then applies case_change_action
// (NONE, LOWER, UPPER) with Unicode case mapping; the locale attribute is
// accepted and not used. The input is [C] or [1, C]; when every string is
// dropped the output is [1] (or [1, 1]) holding "".
func buildStringNormalizer(n *Node) (Kernel, error) {
	action, err := n.String("case_change_action", "NONE")
	if err != nil {
		return nil, err
	}
	if action != "NONE" && action != "LOWER" && action != "UPPER" {
		return nil, attrErr("case_change_action %q, want NONE, LOWER or UPPER", action)
	}
	sensitive, err := n.Int("is_case_sensitive", 0)
	if err != nil {
		return nil, err
	}
	stop, err := onnx.AttrOr(n.Proto, "stopwords", []string(nil))
	if err != nil {
		return nil, attrWrap(err, "stopwords")
	}
	fold := func(s string) string {
		if sensitive == 0 {
			return strings.ToLower(s)
		}
		return s
	}
	stops := map[string]bool{}
	for _, w := range stop {
		stops[fold(w)] = true
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		x, err := tensorArg(in, 0)
		if err != nil {
			return nil, err
		}
		s, ok := x.(*tensor.Strings)
		if !ok {
			return nil, typeErr("input of %s, want string", x.DType())
		}
		shape := s.Shape()
		if !(len(shape) == 1 || len(shape) == 2 && shape[0] == 1) {
			return nil, shapeErr("input has shape %v, want [C] or [1, C]", shape)
		}
		out := make([]string, 0, s.Size())
		for _, v := range s.Data() {
			if stops[fold(v)] {
				continue
			}
			switch action {
			case "LOWER":
				v = strings.ToLower(v)
			case "UPPER":
				v = strings.ToUpper(v)
			}
			out = append(out, v)
		}
		if len(out) == 0 {
			out = append(out, "")
		}
		os := []int{len(out)}
		if len(shape) == 2 {
			os = []int{1, len(out)}
		}
		return tensor.NewStrings(os, out)
	}), nil
}
