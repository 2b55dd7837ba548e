package gemma3

import (
	"math"
	"sync"

	"github.com/zerfoo/zerfoo/numeric"
)

// rmsNorm sets y = x / sqrt(mean(x²) + eps) · w with llama.cpp's order of
// operations: squares in float32 summed in float64, the mean and the scale
// in float32, then x·scale, then ·w. The weights are used as stored (GGUF
// already holds Gemma's 1 + w). y may alias x.
func rmsNorm(y, x, w []float32, eps float32) {
	sum := sumSquares(x)
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	scaleMul(y, x, w, scale)
}

// sumSquaresGeneric is the specification of sumSquares.
func sumSquaresGeneric(x []float32) float64 {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	return sum
}

// scaleMulGeneric is the specification of scaleMul: y[i] = (x[i]·scale)·w[i].
func scaleMulGeneric(y, x, w []float32, scale float32) {
	w = w[:len(x)]
	y = y[:len(x)]
	for i, v := range x {
		y[i] = float32(v*scale) * w[i]
	}
}

// rope holds the inverse-frequency recurrence of one RoPE flavour.
type rope struct {
	thetaScale float32 // base^(−2/d), as ggml's powf
	freqScale  float32 // 1/linear scaling factor
	// cos and sin, when set, are precomputed tables of d/2 values per
	// position (an ONNX export's cos_cache/sin_cache) used instead.
	cos, sin []float32
}

func newRope(base, scale float64, headDim int) rope {
	ts := float32(math.Pow(float64(float32(base)), float64(float32(-2)/float32(headDim))))
	return rope{thetaScale: ts, freqScale: float32(1 / scale)}
}

// table writes cos and sin of the angles of position pos into cs[:d/2] and
// sn[:d/2] with ggml's float32 recurrence θ_i = freqScale·(pos·ts^i).
func (r rope) table(cs, sn []float32, pos int) {
	if r.cos != nil {
		h := len(cs)
		copy(cs, r.cos[pos*h:(pos+1)*h])
		copy(sn, r.sin[pos*h:(pos+1)*h])
		return
	}
	theta := float32(pos)
	for i := range cs {
		t := float64(r.freqScale * theta)
		cs[i] = float32(math.Cos(t))
		sn[i] = float32(math.Sin(t))
		theta *= r.thetaScale
	}
}

// applyRope rotates one head vector in place, NeoX style: element i pairs
// with element i + d/2. Each product is rounded before the sum (explicit
// conversions), so that no architecture fuses them: arm64 (and amd64 with
// GOAMD64=v3) would otherwise give other last bits.
func applyRope(x, cs, sn []float32) {
	h := len(cs)
	lo, hi := x[:h], x[h:2*h]
	for i, c := range cs {
		s := sn[i]
		a, b := lo[i], hi[i]
		lo[i] = float32(a*c) - float32(b*s)
		hi[i] = float32(a*s) + float32(b*c)
	}
}

// geluTable is ggml's ggml_table_gelu_f16: fp16(gelu_tanh(x)) for every
// fp16 x, built on first use.
var (
	geluOnce  sync.Once
	geluTable []float32
)

func geluTanh32(x float32) float32 {
	const sqrt2OverPi, coefA = 0.79788456080286535587989211986876, 0.044715
	t := float32(math.Tanh(float64(float32(sqrt2OverPi) * x * (1 + float32(coefA)*x*x))))
	return 0.5 * x * (1 + t)
}

func initGelu() {
	geluTable = make([]float32, 1<<16)
	for i := range geluTable {
		x := numeric.Float16FromBits(uint16(i)).Float32()
		geluTable[i] = numeric.Float16FromFloat32(geluTanh32(x)).Float32()
	}
}

// gegluGeneric sets out[i] = gelu(g[i])·u[i] the way ggml's CPU backend
// does: gelu goes through the fp16 table for −10 < x < 10. out may be g.
// It is the specification of geglu.
func gegluGeneric(out, g, u []float32) {
	u, out = u[:len(g)], out[:len(g)]
	for i, x := range g {
		var y float32
		switch {
		case x <= -10:
			y = 0
		case x >= 10:
			y = x
		default:
			y = geluTable[numeric.Float16FromFloat32(x).Bits()]
		}
		out[i] = y * u[i]
	}
}

// dotGeneric returns Σ a[i]·b[i] (len(b) ≥ len(a)); the specification of
// dot's assembly variant.
func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyGeneric sets y += a·x (len(x) ≥ len(y)); the specification of
// axpy's assembly variant.
func axpyGeneric(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// scores4Generic is the specification of scores4: out[4j+h] = q[h]·k_j.
func scores4Generic(q *[4][]float32, k []float32, ldk, n int, out []float32) {
	hd := len(q[0])
	for j := 0; j < n; j++ {
		kj := k[j*ldk : j*ldk+hd]
		for h := range q {
			out[4*j+h] = dotGeneric(q[h], kj)
		}
	}
}

// softmax4Generic is the specification of softmax4: for each of the four
// interleaved rows h < 4, p[4j+h] = exp(p[4j+h] − m) / Σ_{j<n} exp(p[4j+h]
// − m) with m = max_{j<n} p[4j+h], the sum in float64.
func softmax4Generic(p []float32, n int) {
	for h := 0; h < 4; h++ {
		mx := float32(math.Inf(-1))
		for j := 0; j < n; j++ {
			mx = max(mx, p[4*j+h])
		}
		var sum float64
		for j := 0; j < n; j++ {
			e := float32(math.Exp(float64(p[4*j+h] - mx)))
			p[4*j+h] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		for j := 0; j < n; j++ {
			p[4*j+h] *= inv
		}
	}
}

// values4Generic is the specification of values4: out_h += Σ_j p[4j+h]·v_j.
func values4Generic(p, v []float32, ldv, hd, n int, out []float32) {
	for j := 0; j < n; j++ {
		vj := v[j*ldv : j*ldv+hd]
		for h := 0; h < 4; h++ {
			axpyGeneric(out[h*hd:(h+1)*hd], p[4*j+h], vj)
		}
	}
}
