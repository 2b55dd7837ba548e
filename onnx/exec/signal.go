package exec

import (
	"context"
	"math"
	"math/bits"
	"math/cmplx"
	"unsafe"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "DFT", 17, 19, buildDFT)
	Register("", "DFT", 20, 0, buildDFT)
	Register("", "STFT", 17, 0, buildSTFT)
	Register("", "HannWindow", 17, 0, buildWindow([]float64{0.5, -0.5}))
	Register("", "HammingWindow", 17, 0, buildWindow([]float64{25.0 / 46, -21.0 / 46}))
	Register("", "BlackmanWindow", 17, 0, buildWindow([]float64{0.42, -0.5, 0.08}))
	Register("", "MelWeightMatrix", 17, 0, buildMelWeightMatrix)
}

// fftPlan computes discrete Fourier transforms of one length n in
// O(n log n): radix-2 for a power of two, Bluestein's chirp-z algorithm
// (a circular convolution done with radix-2 transforms of a power of two
// m ≥ 2n−1) otherwise. A plan is read-only once made.
type fftPlan struct {
	n     int
	m     int          // radix-2 length: n, or the Bluestein convolution length
	tw    []complex128 // e^(−2πik/m), k < m/2
	chirp []complex128 // e^(−iπk²/n), k < n (Bluestein)
	bf    []complex128 // the radix-2 transform of the conjugate chirp, wrapped to length m (Bluestein)
}

// fftPlanBytes is a bound on the bytes a plan and its scratch take per
// point of its length.
const fftPlanBytes = 16 * 12

func newFFTPlan(n int) *fftPlan {
	p := &fftPlan{n: n, m: n}
	if n > 1 && n&(n-1) != 0 {
		p.m = 1 << bits.Len(uint(2*n-2))
	}
	p.tw = make([]complex128, p.m/2)
	for k := range p.tw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(p.m))
		p.tw[k] = complex(c, s)
	}
	if p.m == n {
		return p
	}
	p.chirp = make([]complex128, n)
	for k := range p.chirp {
		// k² mod 2n keeps the angle small, and so exact to rounding
		e := int64(k) * int64(k) % int64(2*n)
		s, c := math.Sincos(-math.Pi * float64(e) / float64(n))
		p.chirp[k] = complex(c, s)
	}
	p.bf = make([]complex128, p.m)
	p.bf[0] = cmplx.Conj(p.chirp[0])
	for k := 1; k < n; k++ {
		p.bf[k] = cmplx.Conj(p.chirp[k])
		p.bf[p.m-k] = p.bf[k]
	}
	p.radix2(p.bf, false)
	return p
}

// transform replaces x (of length n) by its DFT, Σⱼ xⱼ·e^(∓2πijk/n) (the
// minus sign forward, plus for inverse, unscaled). scratch must hold m
// values for a Bluestein plan (it may be nil otherwise).
func (p *fftPlan) transform(x, scratch []complex128, inverse bool) {
	if p.n <= 1 {
		return
	}
	if p.m == p.n {
		p.radix2(x, inverse)
		return
	}
	if inverse { // the inverse is the conjugate of the forward transform of the conjugate
		for i := range x {
			x[i] = cmplx.Conj(x[i])
		}
	}
	a := scratch[:p.m]
	for k := 0; k < p.n; k++ {
		a[k] = x[k] * p.chirp[k]
	}
	clear(a[p.n:])
	p.radix2(a, false)
	for k := range a {
		a[k] *= p.bf[k]
	}
	p.radix2(a, true)
	scale := 1 / float64(p.m)
	for k := 0; k < p.n; k++ {
		v := a[k] * p.chirp[k] * complex(scale, 0)
		if inverse {
			v = cmplx.Conj(v)
		}
		x[k] = v
	}
}

// radix2 is the in-place iterative Cooley–Tukey transform of length m (a
// power of two), unscaled.
func (p *fftPlan) radix2(x []complex128, inverse bool) {
	m := len(x)
	if m <= 1 {
		return
	}
	shift := 64 - bits.Len(uint(m-1))
	for i := 0; i < m; i++ {
		j := int(bits.Reverse64(uint64(i)) >> shift)
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= m; size <<= 1 {
		half, step := size/2, m/size
		for start := 0; start < m; start += size {
			for k := 0; k < half; k++ {
				w := p.tw[k*step]
				if inverse {
					w = cmplx.Conj(w)
				}
				a, b := x[start+k], x[start+k+half]*w
				x[start+k], x[start+k+half] = a+b, a-b
			}
		}
	}
}

// complexAxis reads x, a float tensor whose last dim is 1 (real) or 2
// (real, imaginary), as complex128 values of shape x.Shape()[:rank-1].
func complexAxis(x tensor.Any, what string) ([]complex128, []int, error) {
	s := x.Shape()
	if len(s) < 2 || (s[len(s)-1] != 1 && s[len(s)-1] != 2) {
		return nil, nil, shapeErr("%s has shape %v, want [..., 1] (real) or [..., 2] (complex) with rank ≥ 2", what, s)
	}
	v, err := f64vals(x)
	if err != nil {
		return nil, nil, err
	}
	c := make([]complex128, len(v)/s[len(s)-1])
	if s[len(s)-1] == 1 {
		for i, r := range v {
			c[i] = complex(r, 0)
		}
	} else {
		for i := range c {
			c[i] = complex(v[2*i], v[2*i+1])
		}
	}
	return c, s[:len(s)-1], nil
}

// complexTensor returns c, of shape s, as a tensor of element type dt and
// shape [s..., 2].
func complexTensor(dt numeric.DType, s []int, c []complex128) (tensor.Any, error) {
	// a complex128 is its real then its imaginary float64 (the package's
	// type real hides the builtin that would read the first)
	v := unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(c))), 2*len(c))
	return f64tensor(dt, append(append([]int(nil), s...), 2), v)
}

// buildDFT builds DFT. Opsets 17-19 take the axis as an attribute (default
// 1), opset 20 as the optional third input (default −2); a negative axis
// counts from the back of the input, whose last dim (1 for real, 2 for
// complex values) cannot be the axis. The signal along the axis is cut or
// zero-padded to dft_length (input 1, default its length n); the output
// holds all n frequencies, or the first ⌊n/2⌋+1 when onesided. inverse
// computes (1/n)·Σⱼ xⱼ·e^(2πijk/n). Lengths that are not powers of two use
// Bluestein's algorithm, so every length costs O(n log n).
func buildDFT(n *Node) (Kernel, error) {
	inverse, err := n.Int("inverse", 0)
	if err != nil {
		return nil, err
	}
	onesided, err := n.Int("onesided", 0)
	if err != nil {
		return nil, err
	}
	axisAttr := n.Opset < 20
	axis, err := n.Int("axis", 1)
	if err != nil {
		return nil, err
	}
	if !axisAttr {
		axis = -2
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := x.Dims()
		ax := axis
		if a := opt(in, 2); a != nil && !axisAttr {
			if ax, err = scalarI64(a, "axis"); err != nil {
				return nil, err
			}
		}
		if ax < 0 {
			ax += int64(r)
		}
		if r < 2 || ax < 0 || ax > int64(r)-2 {
			return nil, shapeErr("axis %d is out of range for input of shape %v (the last dim holds the complex parts)", ax, x.Shape())
		}
		a := int(ax)
		nIn := x.Shape()[a]
		length := nIn
		if l := opt(in, 1); l != nil {
			v, err := scalarI64(l, "dft_length")
			if err != nil {
				return nil, err
			}
			if v <= 0 || v > 1<<40 {
				return nil, shapeErr("dft_length %d, want > 0", v)
			}
			length = int(v)
		}
		if length == 0 {
			return nil, shapeErr("DFT of length 0 along axis %d of shape %v", a, x.Shape())
		}
		nOut := length
		if onesided != 0 {
			nOut = length/2 + 1
		}
		os := append([]int(nil), x.Shape()...)
		os[a], os[r-1] = nOut, 2
		// the output in float64 and in its type; the complex input; the plan
		if err := checkWork(ctx, 8+x.DType().Size(), x.DType(), os); err != nil {
			return nil, err
		}
		if err := checkLike(ctx, 16, x); err != nil {
			return nil, err
		}
		if err := checkWork(ctx, fftPlanBytes, x.DType(), []int{length}); err != nil {
			return nil, err
		}
		c, cs, err := complexAxis(x, "input")
		if err != nil {
			return nil, err
		}
		outer, inner := prod(cs[:a]), prod(cs[a+1:])
		res := make([]complex128, outer*nOut*inner)
		p := newFFTPlan(length)
		buf, scratch := make([]complex128, length), make([]complex128, p.m)
		for o := 0; o < outer; o++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			for i := 0; i < inner; i++ {
				clear(buf)
				for j := 0; j < min(nIn, length); j++ {
					buf[j] = c[(o*nIn+j)*inner+i]
				}
				p.transform(buf, scratch, inverse != 0)
				for k := 0; k < nOut; k++ {
					v := buf[k]
					if inverse != 0 {
						v /= complex(float64(length), 0)
					}
					res[(o*nOut+k)*inner+i] = v
				}
			}
		}
		return complexTensor(x.DType(), os[:r-1], res)
	}), nil
}

// buildSTFT builds STFT: the signal [batch, length, 1 or 2] is cut into
// frames of frame_length (input 3, or the window's length) every frame_step
// (input 1) samples, each multiplied by the window (input 2, default all
// ones) and transformed; the output is [batch, frames, bins, 2] with
// frames = (length − frame_length)/frame_step + 1 and bins =
// ⌊frame_length/2⌋+1 when onesided (the default, for real signals only),
// frame_length otherwise.
func buildSTFT(n *Node) (Kernel, error) {
	onesided, err := n.Int("onesided", 1)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		sig, window, flen := in[0], opt(in, 2), opt(in, 3)
		ss := sig.Shape()
		if len(ss) != 3 || (ss[2] != 1 && ss[2] != 2) {
			return nil, shapeErr("signal has shape %v, want [batch, length, 1 or 2]", ss)
		}
		if onesided != 0 && ss[2] == 2 {
			return nil, shapeErr("onesided output of a complex signal (shape %v)", ss)
		}
		step, err := scalarI64(in[1], "frame_step")
		if err != nil {
			return nil, err
		}
		if step <= 0 {
			return nil, shapeErr("frame_step %d, want > 0", step)
		}
		fl := int64(-1)
		if flen != nil {
			if fl, err = scalarI64(flen, "frame_length"); err != nil {
				return nil, err
			}
		}
		var wv []float64
		if window != nil {
			if window.Dims() != 1 {
				return nil, shapeErr("window has shape %v, want 1-D", window.Shape())
			}
			if fl >= 0 && int64(window.Shape()[0]) != fl {
				return nil, shapeErr("window of length %d, frame_length %d", window.Shape()[0], fl)
			}
			fl = int64(window.Shape()[0])
			if wv, err = f64vals(window); err != nil {
				return nil, err
			}
		}
		if fl < 0 {
			return nil, shapeErr("neither window nor frame_length is given")
		}
		if fl == 0 || fl > int64(ss[1]) {
			return nil, shapeErr("frame_length %d for a signal of length %d", fl, ss[1])
		}
		frameLen := int(fl)
		frames := (ss[1]-frameLen)/int(step) + 1
		bins := frameLen
		if onesided != 0 {
			bins = frameLen/2 + 1
		}
		os := []int{ss[0], frames, bins}
		if err := checkWork(ctx, 2*(16+sig.DType().Size()), sig.DType(), os); err != nil {
			return nil, err
		}
		if err := checkLike(ctx, 16, sig); err != nil {
			return nil, err
		}
		if err := checkWork(ctx, fftPlanBytes, sig.DType(), []int{frameLen}); err != nil {
			return nil, err
		}
		c, _, err := complexAxis(sig, "signal")
		if err != nil {
			return nil, err
		}
		res := make([]complex128, ss[0]*frames*bins)
		p := newFFTPlan(frameLen)
		buf, scratch := make([]complex128, frameLen), make([]complex128, p.m)
		for b := 0; b < ss[0]; b++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			for f := 0; f < frames; f++ {
				start := b*ss[1] + f*int(step)
				copy(buf, c[start:start+frameLen])
				if wv != nil {
					for j := range buf {
						buf[j] *= complex(wv[j], 0)
					}
				}
				p.transform(buf, scratch, false)
				copy(res[(b*frames+f)*bins:], buf[:bins])
			}
		}
		return complexTensor(sig.DType(), os, res)
	}), nil
}

// buildWindow builds a generalized cosine window, Σₖ aₖ·cos(2πk·i/N) for
// i < size, with N = size when periodic (the default), size−1 otherwise
// (a window of one point is 1). The output element type is
// output_datatype (default float); integer types truncate.
func buildWindow(a []float64) BuildFunc {
	return func(n *Node) (Kernel, error) {
		periodic, err := n.Int("periodic", 1)
		if err != nil {
			return nil, err
		}
		dt, err := outputDatatype(n)
		if err != nil {
			return nil, err
		}
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			size, err := scalarI64(in[0], "size")
			if err != nil {
				return nil, err
			}
			if size < 0 || size > 1<<40 {
				return nil, shapeErr("size %d, want ≥ 0", size)
			}
			if err := checkWork(ctx, 8+dt.Size(), dt, []int{int(size)}); err != nil {
				return nil, err
			}
			den := float64(size)
			if periodic == 0 {
				den--
			}
			w := make([]float64, size)
			for i := range w {
				if den == 0 {
					w[i] = 1
					continue
				}
				v := a[0]
				for k := 1; k < len(a); k++ {
					v += a[k] * math.Cos(2*math.Pi*float64(k)*float64(i)/den)
				}
				w[i] = v
			}
			return castFloat64(dt, []int{int(size)}, w)
		}), nil
	}
}

// outputDatatype reads attribute output_datatype (default float).
func outputDatatype(n *Node) (numeric.DType, error) {
	t, err := n.Int("output_datatype", int64(onnx.Float32))
	if err != nil {
		return numeric.Invalid, err
	}
	if onnx.DataType(t) == onnx.Bool {
		return numeric.Invalid, attrErr("output_datatype %s is not allowed", onnx.DataType(t))
	}
	dt, err := dtypeOf(onnx.DataType(t))
	if err != nil {
		return numeric.Invalid, attrErr("output_datatype %d: %v", t, err)
	}
	return dt, nil
}

// castFloat64 returns v as a tensor of element type dt (integer types
// truncate toward zero).
func castFloat64(dt numeric.DType, shape []int, v []float64) (tensor.Any, error) {
	t, err := tensor.New(shape, v)
	if err != nil {
		return nil, err
	}
	return cast(t, dt, false)
}

// buildMelWeightMatrix builds MelWeightMatrix: the [⌊dft_length/2⌋+1,
// num_mel_bins] matrix of triangular filters that maps a onesided
// spectrum to mel bands between lower_edge_hertz and upper_edge_hertz, as
// the ONNX reference computes it: num_mel_bins+2 points equally spaced on
// the mel scale (2595·log10(1+f/700)) with step (high−low)/(num_mel_bins+2),
// each mapped to the spectrum bin ⌊(dft_length+1)·f/sample_rate⌋; filter i
// rises from point i to point i+1 and falls to point i+2.
func buildMelWeightMatrix(n *Node) (Kernel, error) {
	dt, err := outputDatatype(n)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 5); err != nil {
			return nil, err
		}
		var iv [3]int64
		for i, name := range []string{"num_mel_bins", "dft_length", "sample_rate"} {
			v, err := scalarI64(in[i], name)
			if err != nil {
				return nil, err
			}
			if v <= 0 || v > 1<<40 {
				return nil, shapeErr("%s %d, want > 0", name, v)
			}
			iv[i] = v
		}
		mels, dftLen, rate := int(iv[0]), iv[1], float64(iv[2])
		lo, err := scalarF64(in[3], "lower_edge_hertz")
		if err != nil {
			return nil, err
		}
		hi, err := scalarF64(in[4], "upper_edge_hertz")
		if err != nil {
			return nil, err
		}
		if !(lo >= 0 && hi > lo) {
			return nil, shapeErr("edges %g Hz to %g Hz, want 0 ≤ lower < upper", lo, hi)
		}
		specBins := int(dftLen/2 + 1)
		if err := checkWork(ctx, 8+dt.Size(), dt, []int{specBins, mels}); err != nil {
			return nil, err
		}
		melOf := func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
		lowMel, highMel := melOf(lo), melOf(hi)
		step := (highMel - lowMel) / float64(mels+2)
		pts := make([]int, mels+2)
		for i := range pts {
			hz := 700 * (math.Pow(10, (float64(i)*step+lowMel)/2595) - 1)
			b := math.Floor(float64(dftLen+1) * hz / rate)
			if b < 0 || b >= float64(specBins) {
				return nil, shapeErr("mel point %d (%g Hz) falls in spectrum bin %g, outside [0, %d)", i, hz, b, specBins)
			}
			pts[i] = int(b)
		}
		w := make([]float64, specBins*mels)
		for i := 0; i < mels; i++ {
			l, c, h := pts[i], pts[i+1], pts[i+2]
			if c == l {
				w[c*mels+i] = 1
			} else {
				for j := l; j <= c; j++ {
					w[j*mels+i] = float64(j-l) / float64(c-l)
				}
			}
			for j := c; j < h; j++ {
				w[j*mels+i] = float64(h-j) / float64(h-c)
			}
		}
		return castFloat64(dt, []int{specBins, mels}, w)
	}), nil
}
