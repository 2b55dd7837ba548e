package gemma3test

import "math"

// LogSoftmax returns log-probabilities of logits x, computed in float64 (the
// form the llama.cpp goldens store).
func LogSoftmax(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - mx - math.Log(s)
	}
	return out
}

// MaxDiff returns max |got − want| and the standard deviation of want, the
// scale the golden tolerances are stated in.
func MaxDiff(got, want []float64) (mx, std float64) {
	var mean float64
	for _, v := range want {
		mean += v
	}
	mean /= float64(len(want))
	for i, v := range want {
		std += (v - mean) * (v - mean)
		mx = math.Max(mx, math.Abs(got[i]-v))
	}
	return mx, math.Sqrt(std / float64(len(want)))
}

// Argmax returns the index of the first largest value.
func Argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
