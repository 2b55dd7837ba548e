package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/tensor"
)

// The channel normalizations of convolutional networks: BatchNormalization
// (inference, and opset 14's training_mode with running statistics),
// InstanceNormalization, GroupNormalization, LRN and
// MeanVarianceNormalization. Statistics are computed in float64 per
// channel (two passes: mean, then the mean squared deviation); outputs
// round to the input's float type.

func init() {
	Register("", "BatchNormalization", 1, 0, buildBatchNorm)
	Register("", "InstanceNormalization", 1, 0, buildInstanceNorm)
	Register("", "GroupNormalization", 18, 0, buildGroupNorm)
	Register("", "LRN", 1, 0, buildLRN)
	Register("", "MeanVarianceNormalization", 1, 0, buildMVN)
}

// numOutputs counts the node's outputs that are used (named).
func numOutputs(n *Node) int {
	c := 0
	for i, o := range n.Proto.GetOutput() {
		if o != "" {
			c = i + 1
		}
	}
	return c
}

// floatIn checks that x has a float element type.
func floatIn(op, what string, x tensor.Any) error {
	if !isFloat(x.DType()) {
		return typeErr("%s %s of element type %s, want a float type", op, what, x.DType())
	}
	return nil
}

// chanParam returns p (a per-channel parameter of C values, or of
// perElem values when perElem > 0) as float32.
func chanParam(op, what string, p tensor.Any, c, perElem int) ([]float32, error) {
	if err := floatIn(op, what, p); err != nil {
		return nil, err
	}
	if p.Size() != c && (perElem == 0 || p.Size() != perElem) {
		return nil, shapeErr("%s %s of shape %v for %d channels", op, what, p.Shape(), c)
	}
	return floats(p)
}

// normInput checks a channel normalization's inputs: at least nIn of
// them, the first of a float type and rank at least minRank (2: N×C×…,
// 3: N×C×D1…).
func normInput(op string, in []tensor.Any, nIn, minRank int) (tensor.Any, []int, error) {
	if err := need(in, nIn); err != nil {
		return nil, nil, err
	}
	x := in[0]
	if err := floatIn(op, "input", x); err != nil {
		return nil, nil, err
	}
	xs := x.Shape()
	if len(xs) < minRank {
		want := "N×C×…"
		if minRank > 2 {
			want = "N×C×D1…"
		}
		return nil, nil, shapeErr("%s input of shape %v, want %s", op, xs, want)
	}
	return x, xs, nil
}

func buildBatchNorm(n *Node) (Kernel, error) {
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	mom, err := n.Float("momentum", 0.9)
	if err != nil {
		return nil, err
	}
	training := false
	if n.Opset >= 14 {
		tm, err := n.Int("training_mode", 0)
		if err != nil {
			return nil, err
		}
		training = tm != 0
	} else if numOutputs(n) > 1 {
		return nil, attrErr("BatchNormalization opset %d: the training outputs (mean, var, saved statistics) are not supported; use opset 14's training_mode", n.Opset)
	}
	if !training && numOutputs(n) > 1 {
		return nil, attrErr("BatchNormalization has %d outputs, but running_mean and running_var exist only with training_mode 1", numOutputs(n))
	}
	var f *fusion // per-channel ops and a Relu fused after it (fuse.go)
	if !training {
		f = &fusion{res: -1}
		n.fuse = f
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		x, xs, err := normInput("BatchNormalization", in, 5, 2)
		if err != nil {
			return nil, err
		}
		c := xs[1]
		per := prod(xs[1:]) // opset < 9 with spatial 0: parameters per element of a sample
		if training || n.Opset >= 9 {
			per = 0
		}
		var ps [4][]float32
		for i, what := range []string{"scale", "B", "mean", "var"} {
			v, err := chanParam("BatchNormalization", what, in[i+1], c, per)
			if err != nil {
				return nil, err
			}
			if i > 0 && len(v) != len(ps[0]) {
				return nil, shapeErr("BatchNormalization %s of shape %v, scale of %d values", what, in[i+1].Shape(), len(ps[0]))
			}
			ps[i] = v
		}
		if err := checkLike(ctx, x.DType().Size()+8, x); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		nb := xs[0]
		inner := prod(xs[2:]) // elements per (sample, channel)
		perChan := len(ps[0]) == c
		if !perChan { // per element: treat each element of a sample as a channel
			c, inner = len(ps[0]), 1
		}
		mean, vr := ps[2], ps[3]
		var runMean, runVar []float32
		if training {
			bm, bv := make([]float32, c), make([]float32, c)
			runMean, runVar = make([]float32, c), make([]float32, c)
			for ch := range c {
				s := 0.0
				for b := range nb {
					for _, v := range xv[(b*c+ch)*inner : (b*c+ch+1)*inner] {
						s += float64(v)
					}
				}
				cnt := float64(nb * inner)
				mu := s / cnt
				ss := 0.0
				for b := range nb {
					for _, v := range xv[(b*c+ch)*inner : (b*c+ch+1)*inner] {
						ss += (float64(v) - mu) * (float64(v) - mu)
					}
				}
				bm[ch], bv[ch] = float32(mu), float32(ss/cnt)
				runMean[ch] = float32(float64(mean[ch])*float64(mom) + mu*(1-float64(mom)))
				runVar[ch] = float32(float64(vr[ch])*float64(mom) + ss/cnt*(1-float64(mom)))
			}
			mean, vr = bm, bv
		}
		y := newFloats(ctx, len(xv))
		// Per channel y = x·k + off, planes (sample, channel) in parallel.
		k, off := make([]float64, c), make([]float64, c)
		for ch := range c {
			k[ch] = float64(ps[0][ch]) / math.Sqrt(float64(vr[ch])+float64(eps))
			off[ch] = float64(ps[1][ch]) - float64(mean[ch])*k[ch]
		}
		fused := f != nil && (len(f.affine) > 0 || f.relu)
		chain := fused && (!perChan || !fusedFloat32(x) || !f.chanAffine(k, off, len(xs), c))
		relu := fused && !chain && f.relu
		err = workerpool.For(ctx, nb*c, max(1, (1<<15)/max(inner, 1)), func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				ch, o := pl%c, pl*inner
				// The scale and offset are computed in float64 and applied
				// in float32, as ONNX Runtime does (a few float32 roundings
				// from the float64 evaluation).
				kc, oc := float32(k[ch]), float32(off[ch])
				dst := y[o : o+inner]
				src := xv[o : o+inner]
				src = src[:len(dst)]
				if relu {
					for i, v := range src {
						t := v*kc + oc
						if !(t > 0) && t == t {
							t = 0
						}
						dst[i] = t
					}
					continue
				}
				for i, v := range src {
					dst[i] = v*kc + oc
				}
			}
		})
		if err != nil {
			return nil, err
		}
		yt, err := fromFloats(x.DType(), xs, y)
		if err == nil && chain { // fused ops the fused pass cannot apply here
			yt, err = f.chainAfter(ctx, yt, in)
		}
		if err != nil || !training {
			return []tensor.Any{yt}, err
		}
		rm, err := fromFloats(in[3].DType(), in[3].Shape(), runMean)
		if err != nil {
			return nil, err
		}
		rv, err := fromFloats(in[4].DType(), in[4].Shape(), runVar)
		if err != nil {
			return nil, err
		}
		return []tensor.Any{yt, rm, rv}, nil
	}, nil
}

// normalizeGroups normalizes x (float32, groups of size contiguous
// elements) in place into y: each group gets mean 0 and variance 1 (with
// eps added to the variance), then y = y·scale(g, i) + bias(g, i), where
// i is the element's index within its group.
func normalizeGroups(ctx context.Context, x, y []float32, size int, eps float64, affine func(g, i int) (float64, float64)) error {
	groups := len(x) / max(size, 1)
	return workerpool.For(ctx, groups, max(1, (1<<14)/max(size, 1)), func(lo, hi int) {
		for g := lo; g < hi; g++ {
			row := x[g*size : (g+1)*size]
			s := 0.0
			for _, v := range row {
				s += float64(v)
			}
			mu := s / float64(size)
			ss := 0.0
			for _, v := range row {
				ss += (float64(v) - mu) * (float64(v) - mu)
			}
			inv := 1 / math.Sqrt(ss/float64(size)+eps)
			out := y[g*size : (g+1)*size]
			for i, v := range row {
				sc, bi := affine(g, i)
				out[i] = float32((float64(v)-mu)*inv*sc + bi)
			}
		}
	})
}

func buildInstanceNorm(n *Node) (Kernel, error) {
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		x, xs, err := normInput("InstanceNormalization", in, 3, 3)
		if err != nil {
			return nil, err
		}
		c := xs[1]
		sc, err := chanParam("InstanceNormalization", "scale", in[1], c, 0)
		if err != nil {
			return nil, err
		}
		bi, err := chanParam("InstanceNormalization", "B", in[2], c, 0)
		if err != nil {
			return nil, err
		}
		if err := checkLike(ctx, x.DType().Size()+8, x); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		y := make([]float32, len(xv))
		err = normalizeGroups(ctx, xv, y, prod(xs[2:]), float64(eps), func(g, _ int) (float64, float64) {
			return float64(sc[g%c]), float64(bi[g%c])
		})
		if err != nil {
			return nil, err
		}
		return fromFloats(x.DType(), xs, y)
	}), nil
}

// buildGroupNorm builds GroupNormalization: statistics over each group of
// C/num_groups channels of a sample; scale and bias are per group
// (opset 18) or per channel (opset 21, and opset 18 models whose
// parameters have C values).
func buildGroupNorm(n *Node) (Kernel, error) {
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	ng, err := n.Int("num_groups", 0)
	if err != nil {
		return nil, err
	}
	if ng < 1 || ng > maxAttr {
		return nil, attrErr("GroupNormalization num_groups %d, want at least 1", ng)
	}
	groups := int(ng)
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		x, xs, err := normInput("GroupNormalization", in, 3, 2)
		if err != nil {
			return nil, err
		}
		c := xs[1]
		if c%groups != 0 {
			return nil, shapeErr("GroupNormalization num_groups %d does not divide the %d channels", groups, c)
		}
		var ps [2][]float32
		for i, what := range []string{"scale", "bias"} {
			p := in[i+1]
			if err := floatIn("GroupNormalization", what, p); err != nil {
				return nil, err
			}
			if p.Size() != c && (n.Opset >= 21 || p.Size() != groups) {
				return nil, shapeErr("GroupNormalization %s of shape %v for %d channels in %d groups", what, p.Shape(), c, groups)
			}
			if ps[i], err = floats(p); err != nil {
				return nil, err
			}
		}
		if err := checkLike(ctx, x.DType().Size()+8, x); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		inner := prod(xs[2:])
		cg := c / groups
		y := make([]float32, len(xv))
		err = normalizeGroups(ctx, xv, y, cg*inner, float64(eps), func(g, i int) (float64, float64) {
			ch := g%groups*cg + i/max(inner, 1)
			if len(ps[0]) == groups {
				return float64(ps[0][g%groups]), float64(ps[1][g%groups])
			}
			return float64(ps[0][ch]), float64(ps[1][ch])
		})
		if err != nil {
			return nil, err
		}
		return fromFloats(x.DType(), xs, y)
	}), nil
}

// buildLRN builds LRN: y = x / (bias + alpha/size · Σ x²)^beta, the sum
// over the channels c−⌊(size−1)/2⌋ … c+⌈(size−1)/2⌉ that exist.
func buildLRN(n *Node) (Kernel, error) {
	size, err := n.Int("size", 0)
	if err != nil {
		return nil, err
	}
	if size < 1 || size > maxAttr {
		return nil, attrErr("LRN size %d, want at least 1", size)
	}
	alpha, err := n.Float("alpha", 1e-4)
	if err != nil {
		return nil, err
	}
	beta, err := n.Float("beta", 0.75)
	if err != nil {
		return nil, err
	}
	bias, err := n.Float("bias", 1)
	if err != nil {
		return nil, err
	}
	lo0, hi0 := int((size-1)/2), int(size-1-(size-1)/2)
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		x, xs, err := normInput("LRN", in, 1, 3)
		if err != nil {
			return nil, err
		}
		if err := checkLike(ctx, x.DType().Size()+8, x); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		nb, c, inner := xs[0], xs[1], prod(xs[2:])
		y := newFloats(ctx, len(xv))
		a, b64, b := float64(alpha)/float64(size), float64(bias), float64(beta)
		// y = x·t^−β with t = bias + α/size·Σ x² over the channel window,
		// a plane at a time: the window's squares are summed row by row.
		err = workerpool.For(ctx, nb*c, max(1, (1<<14)/max(inner, 1)), func(lo, hi int) {
			s := make([]float64, inner)
			for pl := lo; pl < hi; pl++ {
				bn, ch := pl/c, pl%c
				clear(s)
				for cc := max(0, ch-lo0); cc <= min(c-1, ch+hi0); cc++ {
					for i, v := range xv[(bn*c+cc)*inner : (bn*c+cc+1)*inner] {
						s[i] += float64(v) * float64(v)
					}
				}
				dst, src := y[pl*inner:(pl+1)*inner], xv[pl*inner:(pl+1)*inner]
				for i, v := range src {
					dst[i] = float32(float64(v) * powNeg(b64+a*s[i], b))
				}
			}
		})
		if err != nil {
			return nil, err
		}
		return fromFloats(x.DType(), xs, y)
	}), nil
}

// buildMVN builds MeanVarianceNormalization: (x − mean)/(std + 1e-9) with
// the statistics over axes (default 0, 2, 3), as its ONNX function body
// defines it.
func buildMVN(n *Node) (Kernel, error) {
	axes, err := n.Ints("axes", []int64{0, 2, 3})
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := floatIn("MeanVarianceNormalization", "input", x); err != nil {
			return nil, err
		}
		xs := x.Shape()
		red := make([]bool, len(xs))
		for _, a := range axes {
			ax, err := normAxis(a, len(xs))
			if err != nil {
				return nil, err
			}
			if red[ax] {
				return nil, shapeErr("MeanVarianceNormalization axes %v repeat axis %d", axes, ax)
			}
			red[ax] = true
		}
		if err := checkLike(ctx, x.DType().Size()+16, x); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		// group of each element: its index over the kept dims
		groups := 1
		for i, d := range xs {
			if !red[i] {
				groups *= d
			}
		}
		gid := make([]int, len(xv))
		idx := make([]int, len(xs))
		for e := range xv {
			g := 0
			for i, d := range xs {
				if !red[i] {
					g = g*d + idx[i]
				}
			}
			gid[e] = g
			for i := len(xs) - 1; i >= 0; i-- {
				if idx[i]++; idx[i] < xs[i] {
					break
				}
				idx[i] = 0
			}
		}
		sum, cnt := make([]float64, groups), make([]float64, groups)
		for e, v := range xv {
			sum[gid[e]] += float64(v)
			cnt[gid[e]]++
		}
		for g := range sum {
			sum[g] /= cnt[g]
		}
		ss := make([]float64, groups)
		for e, v := range xv {
			d := float64(v) - sum[gid[e]]
			ss[gid[e]] += d * d
		}
		y := make([]float32, len(xv))
		for e, v := range xv {
			g := gid[e]
			y[e] = float32((float64(v) - sum[g]) / (math.Sqrt(ss[g]/cnt[g]) + 1e-9))
		}
		return fromFloats(x.DType(), xs, y)
	}), nil
}

// powNeg returns t^−b: for LRN's usual β = 0.75 with square roots (exact
// to float64 rounding, as math.Pow), otherwise with math.Pow.
func powNeg(t, b float64) float64 {
	if b == 0.75 && t > 0 && !math.IsInf(t, 0) {
		r := math.Sqrt(t)
		return 1 / (r * math.Sqrt(r))
	}
	return 1 / math.Pow(t, b)
}
