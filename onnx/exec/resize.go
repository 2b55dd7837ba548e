package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// Resize, Upsample and GridSample.
//
// Resize follows the ONNX reference implementation: every resized axis is
// interpolated separately (innermost first, which is the reference's
// recursion), in float64. An output coordinate x maps to x_original by the
// coordinate_transformation_mode; its taps are the n input indices nearest
// to it (1 for nearest, 2 for linear, 4 for cubic, more with antialias),
// where an integral x_original counts as ratio 1 from the index below, and
// indices outside the input read the edge (or, with exclude_outside, get
// weight 0 and the rest are renormalized). tf_crop_and_resize writes
// extrapolation_value where x_original falls outside the input.

func init() {
	Register("", "Resize", 10, 0, buildResize)
	Register("", "Upsample", 7, 9, buildResize)
	Register("", "GridSample", 16, 0, buildGridSample)
}

// resizer holds Resize's attributes.
type resizer struct {
	op        string
	opset     int64
	mode      string // nearest, linear, cubic
	ctm       string // coordinate_transformation_mode
	nearest   string // nearest_mode; "simple" for Upsample and opset 10
	a         float64
	exclude   bool
	extrap    float64
	antialias bool
	axes      []int64
	policy    string
	scales    []float32 // Upsample-7's attribute
}

func buildResize(n *Node) (Kernel, error) {
	r := &resizer{op: n.Proto.GetOpType(), opset: n.Opset, ctm: "half_pixel", nearest: "round_prefer_floor", policy: "stretch"}
	var err error
	if r.mode, err = n.String("mode", "nearest"); err != nil {
		return nil, err
	}
	legacy := r.op == "Upsample" || n.Opset < 11
	switch r.mode {
	case "nearest", "linear":
	case "bilinear":
		if r.op != "Upsample" {
			return nil, attrErr("%s mode %q, want nearest, linear or cubic", r.op, r.mode)
		}
		r.mode = "linear"
	case "cubic":
		if legacy {
			return nil, attrErr("%s mode cubic needs Resize opset 11", r.op)
		}
	default:
		return nil, attrErr("%s mode %q, want nearest, linear or cubic", r.op, r.mode)
	}
	if legacy {
		r.ctm, r.nearest = "asymmetric", "simple"
		if r.op == "Upsample" && n.Opset < 9 {
			if r.scales, err = onnx.AttrOr(n.Proto, "scales", []float32(nil)); err != nil {
				return nil, err
			}
			if r.scales == nil {
				return nil, attrErr("Upsample opset %d needs attribute scales", n.Opset)
			}
		}
		return r.kernel(), nil
	}
	if r.ctm, err = n.String("coordinate_transformation_mode", "half_pixel"); err != nil {
		return nil, err
	}
	switch r.ctm {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nearest", "tf_crop_and_resize":
	case "half_pixel_symmetric":
		if n.Opset < 19 {
			return nil, attrErr("Resize coordinate_transformation_mode half_pixel_symmetric needs opset 19")
		}
	default:
		return nil, attrErr("Resize coordinate_transformation_mode %q is not an ONNX mode", r.ctm)
	}
	if r.nearest, err = n.String("nearest_mode", "round_prefer_floor"); err != nil {
		return nil, err
	}
	switch r.nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return nil, attrErr("Resize nearest_mode %q, want round_prefer_floor, round_prefer_ceil, floor or ceil", r.nearest)
	}
	a, err := n.Float("cubic_coeff_a", -0.75)
	if err != nil {
		return nil, err
	}
	r.a = float64(a)
	ex, err := n.Int("exclude_outside", 0)
	if err != nil {
		return nil, err
	}
	r.exclude = ex != 0
	ev, err := n.Float("extrapolation_value", 0)
	if err != nil {
		return nil, err
	}
	r.extrap = float64(ev)
	if n.Opset >= 18 {
		aa, err := n.Int("antialias", 0)
		if err != nil {
			return nil, err
		}
		r.antialias = aa != 0
		if r.axes, err = n.Ints("axes", nil); err != nil {
			return nil, err
		}
		if r.policy, err = n.String("keep_aspect_ratio_policy", "stretch"); err != nil {
			return nil, err
		}
		if r.policy != "stretch" && r.policy != "not_larger" && r.policy != "not_smaller" {
			return nil, attrErr("Resize keep_aspect_ratio_policy %q, want stretch, not_larger or not_smaller", r.policy)
		}
	}
	return r.kernel(), nil
}

// axisPlan is the resize of one axis: output size, the scale used by the
// coordinate transform, and the roi (tf_crop_and_resize).
type axisPlan struct {
	in, out  int
	scale    float64
	outWidth float64 // scale·in as the reference computes it (out for sizes)
	roi0     float64
	roi1     float64
}

func (r *resizer) kernel() Kernel {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		xs := x.Shape()
		rank := len(xs)
		var scalesT, sizesT, roiT tensor.Any
		switch {
		case r.scales != nil:
		case r.op == "Upsample" || r.opset < 11:
			if err := need(in, 2); err != nil {
				return nil, err
			}
			scalesT = in[1]
		default:
			roiT, scalesT, sizesT = opt(in, 1), opt(in, 2), opt(in, 3)
			if scalesT != nil && scalesT.Size() == 0 {
				scalesT = nil
			}
			if sizesT != nil && sizesT.Size() == 0 {
				sizesT = nil
			}
		}
		axes := make([]int, 0, rank)
		if r.axes == nil {
			for i := range rank {
				axes = append(axes, i)
			}
		} else {
			seen := make([]bool, rank)
			for _, a := range r.axes {
				ax, err := normAxis(a, rank)
				if err != nil {
					return nil, err
				}
				if seen[ax] {
					return nil, shapeErr("%s axes %v repeat axis %d", r.op, r.axes, ax)
				}
				seen[ax] = true
				axes = append(axes, ax)
			}
		}
		plan := make([]axisPlan, rank)
		for i, d := range xs {
			plan[i] = axisPlan{in: d, out: d, scale: 1, outWidth: float64(d), roi0: 0, roi1: 1}
		}
		scales := r.scales
		switch {
		case scalesT != nil && sizesT != nil:
			return nil, shapeErr("%s has both scales and sizes", r.op)
		case scalesT != nil:
			if scalesT.DType() != numeric.Float32 {
				return nil, typeErr("%s scales of element type %s, want float32", r.op, scalesT.DType())
			}
			scales = scalesT.(*tensor.Tensor[float32]).Data()
		case sizesT == nil && scales == nil:
			return nil, shapeErr("%s needs scales or sizes", r.op)
		}
		if scales != nil {
			if len(scales) != len(axes) {
				return nil, shapeErr("%s scales %v for %d axes of input %v", r.op, scales, len(axes), xs)
			}
			for i, ax := range axes {
				s := float64(scales[i])
				if !(s > 0) || math.IsInf(s, 0) {
					return nil, shapeErr("%s scale %v, want a positive number", r.op, scales[i])
				}
				o := math.Floor(s * float64(xs[ax]))
				if o > maxAttr {
					return nil, shapeErr("%s scale %v makes dim %d of %v too large", r.op, scales[i], ax, xs)
				}
				plan[ax].out, plan[ax].scale, plan[ax].outWidth = int(o), s, s*float64(xs[ax])
			}
		} else {
			sizes, err := ints(sizesT)
			if err != nil {
				return nil, err
			}
			if len(sizes) != len(axes) {
				return nil, shapeErr("%s sizes %v for %d axes of input %v", r.op, sizes, len(axes), xs)
			}
			for i, ax := range axes {
				if sizes[i] < 0 || sizes[i] > maxAttr {
					return nil, shapeErr("%s sizes %v out of range", r.op, sizes)
				}
				if xs[ax] == 0 && sizes[i] > 0 {
					return nil, shapeErr("%s of the empty dim %d to %d", r.op, ax, sizes[i])
				}
			}
			if r.policy != "stretch" {
				best := 0.0
				for i, ax := range axes {
					s := float64(sizes[i]) / float64(xs[ax])
					if i == 0 || (r.policy == "not_larger" && s < best) || (r.policy == "not_smaller" && s > best) {
						best = s
					}
				}
				for _, ax := range axes {
					o := math.RoundToEven(best * float64(xs[ax]))
					plan[ax].out, plan[ax].scale, plan[ax].outWidth = int(o), best, best*float64(xs[ax])
				}
			} else {
				for i, ax := range axes {
					o := int(sizes[i])
					s := 1.0
					if xs[ax] > 0 {
						s = float64(o) / float64(xs[ax])
					}
					plan[ax].out, plan[ax].scale, plan[ax].outWidth = o, s, float64(o)
				}
			}
		}
		if r.ctm == "tf_crop_and_resize" {
			if roiT == nil {
				return nil, shapeErr("%s tf_crop_and_resize needs roi", r.op)
			}
			roi, err := floats(roiT)
			if err != nil {
				return nil, err
			}
			if len(roi) != 2*len(axes) {
				return nil, shapeErr("%s roi %v for %d axes", r.op, roi, len(axes))
			}
			for i, ax := range axes {
				plan[ax].roi0, plan[ax].roi1 = float64(roi[i]), float64(roi[i+len(axes)])
			}
		}
		os := make([]int, rank)
		for i := range plan {
			os[i] = plan[i].out
		}
		if err := checkExtra(ctx, x.DType(), os, 16*int64(max(prod(os), x.Size()))); err != nil {
			return nil, err
		}
		v, err := toF64(x)
		if err != nil {
			return nil, err
		}
		cur := append([]int(nil), xs...)
		for ax := rank - 1; ax >= 0; ax-- {
			p := plan[ax]
			if p.in == p.out && p.scale == 1 && r.ctm != "tf_crop_and_resize" {
				continue
			}
			taps, err := r.taps(p)
			if err != nil {
				return nil, err
			}
			if v, err = resizeAxis(ctx, v, cur, ax, p.out, taps); err != nil {
				return nil, err
			}
			cur[ax] = p.out
		}
		return fromF64(x.DType(), os, v)
	})
}

// tap is one input index of an output coordinate and its weight.
type tap struct {
	idx int
	w   float64
}

// axisTaps holds the taps of every output coordinate of one axis (nil: the
// extrapolation value).
type axisTaps struct {
	taps   [][]tap
	extrap float64
}

// origin maps output coordinate x of axis p to the input's coordinates.
func (r *resizer) origin(p axisPlan, x float64) (xo float64, outside bool) {
	in := float64(p.in)
	switch r.ctm {
	case "align_corners":
		if p.outWidth == 1 {
			return 0, false
		}
		return x * (in - 1) / (p.outWidth - 1), false
	case "asymmetric":
		return x / p.scale, false
	case "tf_half_pixel_for_nearest":
		return (x + 0.5) / p.scale, false
	case "tf_crop_and_resize":
		if p.outWidth == 1 {
			xo = (p.roi1 - p.roi0) * (in - 1) / 2
		} else {
			xo = x * (p.roi1 - p.roi0) * (in - 1) / (p.outWidth - 1)
		}
		xo += p.roi0 * (in - 1)
		return xo, xo < 0 || xo > in-1
	case "pytorch_half_pixel":
		if p.outWidth == 1 {
			return -0.5, false
		}
		return (x+0.5)/p.scale - 0.5, false
	case "half_pixel_symmetric":
		adj := float64(p.out) / (p.scale * in)
		center := in / 2
		return center*(1-adj) + (x+0.5)/p.scale - 0.5, false
	}
	return (x+0.5)/p.scale - 0.5, false // half_pixel
}

// taps computes the interpolation taps of one axis.
func (r *resizer) taps(p axisPlan) (*axisTaps, error) {
	at := &axisTaps{taps: make([][]tap, p.out), extrap: r.extrap}
	for o := range p.out {
		xo, outside := r.origin(p, float64(o))
		if outside {
			continue
		}
		if math.IsNaN(xo) || math.IsInf(xo, 0) || math.Abs(xo) > 1<<40 {
			return nil, shapeErr("%s maps output index %d to %v", r.op, o, xo)
		}
		base := math.Floor(xo)
		ratio := xo - base
		if ratio == 0 {
			base, ratio = base-1, 1
		}
		b := int(base)
		var ts []tap
		switch r.mode {
		case "nearest":
			idx := b + 1
			switch r.nearest {
			case "round_prefer_floor":
				if ratio <= 0.5 {
					idx = b
				}
			case "round_prefer_ceil":
				if ratio < 0.5 {
					idx = b
				}
			case "floor":
				if ratio < 1 {
					idx = b
				}
			case "simple": // ONNX Runtime's opset-10 rule: floor, ceil when downsampling
				idx = int(math.Floor(xo))
				if p.scale < 1 {
					idx = int(math.Ceil(xo))
				}
			}
			ts = []tap{{idx, 1}}
		case "linear":
			if r.antialias && p.scale < 1 {
				start := int(math.Floor(-1/p.scale)) + 1
				for i := start; i < 2-start; i++ {
					ts = append(ts, tap{b + i, max(0, 1-math.Abs((float64(i)-ratio)*p.scale))})
				}
				normalize(ts)
			} else {
				ts = []tap{{b, 1 - ratio}, {b + 1, ratio}}
			}
		case "cubic":
			if r.antialias && p.scale < 1 {
				start := int(math.Floor(-2/p.scale)) + 1
				for i := start; i < 2-start; i++ {
					ts = append(ts, tap{b + i, cubicKernel(p.scale*(float64(i)-ratio), r.a)})
				}
				normalize(ts)
			} else {
				a := r.a
				ts = []tap{
					{b - 1, ((a*(ratio+1)-5*a)*(ratio+1)+8*a)*(ratio+1) - 4*a},
					{b, ((a+2)*ratio-(a+3))*ratio*ratio + 1},
					{b + 1, ((a+2)*(1-ratio)-(a+3))*(1-ratio)*(1-ratio) + 1},
					{b + 2, ((a*(2-ratio)-5*a)*(2-ratio)+8*a)*(2-ratio) - 4*a},
				}
			}
		}
		if r.exclude {
			for i := range ts {
				if ts[i].idx < 0 || ts[i].idx >= p.in {
					ts[i].w = 0
				}
			}
			normalize(ts)
		}
		for i := range ts {
			ts[i].idx = min(max(ts[i].idx, 0), p.in-1)
		}
		at.taps[o] = ts
	}
	return at, nil
}

// cubicKernel is the Keys cubic convolution kernel with parameter a.
func cubicKernel(x, a float64) float64 {
	x = math.Abs(x)
	switch {
	case x <= 1:
		return (a+2)*x*x*x - (a+3)*x*x + 1
	case x < 2:
		return a*x*x*x - 5*a*x*x + 8*a*x - 4*a
	}
	return 0
}

// normalize scales the weights of ts to sum to 1 (when they sum to
// anything).
func normalize(ts []tap) {
	s := 0.0
	for _, t := range ts {
		s += t.w
	}
	if s == 0 {
		return
	}
	for i := range ts {
		ts[i].w /= s
	}
}

// resizeAxis interpolates v (shape cur) along axis ax to out elements.
func resizeAxis(ctx context.Context, v []float64, cur []int, ax, out int, at *axisTaps) ([]float64, error) {
	outer, inner := prod(cur[:ax]), prod(cur[ax+1:])
	in := cur[ax]
	res := make([]float64, outer*out*inner)
	err := workerpool.For(ctx, outer, max(1, (1<<14)/max(1, out*inner)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			src := v[b*in*inner : (b+1)*in*inner]
			dst := res[b*out*inner : (b+1)*out*inner]
			for o, ts := range at.taps {
				row := dst[o*inner : (o+1)*inner]
				if ts == nil {
					for i := range row {
						row[i] = at.extrap
					}
					continue
				}
				for _, t := range ts {
					if t.w == 0 {
						continue
					}
					s := src[t.idx*inner : (t.idx+1)*inner]
					for i := range row {
						row[i] += t.w * s[i]
					}
				}
			}
		}
	})
	return res, err
}

// toF64 returns x's elements as float64 (a new slice).
func toF64(x tensor.Any) ([]float64, error) {
	switch t := x.(type) {
	case *tensor.Tensor[float64]:
		return append([]float64(nil), t.Data()...), nil
	case *tensor.Tensor[int64]:
		return convSlice[int64, float64](t.Data()), nil
	case *tensor.Tensor[int32]:
		return convSlice[int32, float64](t.Data()), nil
	}
	f, err := floats(x)
	if err != nil {
		return nil, err
	}
	return convSlice[float32, float64](f), nil
}

// fromF64 builds a tensor of element type dt from float64 values; integer
// types round half to even and saturate.
func fromF64(dt numeric.DType, shape []int, v []float64) (tensor.Any, error) {
	switch dt {
	case numeric.Float64:
		return tensor.New(shape, v)
	case numeric.Int8:
		return tensor.New(shape, roundInts[int8](v, math.MinInt8, math.MaxInt8))
	case numeric.Uint8:
		return tensor.New(shape, roundInts[uint8](v, 0, math.MaxUint8))
	case numeric.Int16:
		return tensor.New(shape, roundInts[int16](v, math.MinInt16, math.MaxInt16))
	case numeric.Int32:
		return tensor.New(shape, roundInts[int32](v, math.MinInt32, math.MaxInt32))
	case numeric.Int64:
		return tensor.New(shape, roundInts[int64](v, math.MinInt64, math.MaxInt64))
	}
	return fromFloats(dt, shape, convSlice[float64, float32](v))
}

// roundInts rounds v half to even into [lo, hi] (NaN becomes 0).
func roundInts[T int8 | uint8 | int16 | int32 | int64](v []float64, lo, hi T) []T {
	r := make([]T, len(v))
	flo, fhi := float64(lo), float64(hi)
	for i, f := range v {
		f = math.RoundToEven(f)
		switch {
		case f != f:
			r[i] = 0
		case f <= flo:
			r[i] = lo
		case f >= fhi:
			r[i] = hi
		default:
			r[i] = T(f)
		}
	}
	return r
}

// buildGridSample builds GridSample for 4-D inputs as ONNX Runtime computes
// it: grid (N×Ho×Wo×2, x then y in [−1, 1]) is denormalized
// (align_corners: −1 and 1 are the corner pixels' centers, else their
// outer edges); for bilinear and nearest, out-of-range points are clamped
// (border) or reflected (reflection) first; then every pixel read outside
// the image is 0 (zeros), the nearest border pixel (border) or its
// reflection (reflection) — bicubic's 4×4 neighbourhood only this way. Modes:
// bilinear, nearest (round half to even) and bicubic (a = −0.75); opset 20
// names them linear, nearest and cubic.
func buildGridSample(n *Node) (Kernel, error) {
	mode, err := n.String("mode", map[bool]string{true: "linear", false: "bilinear"}[n.Opset >= 20])
	if err != nil {
		return nil, err
	}
	switch mode {
	case "bilinear", "linear":
		mode = "linear"
	case "bicubic", "cubic":
		mode = "cubic"
	case "nearest":
	default:
		return nil, attrErr("GridSample mode %q, want bilinear, nearest or bicubic", mode)
	}
	pad, err := n.String("padding_mode", "zeros")
	if err != nil {
		return nil, err
	}
	if pad != "zeros" && pad != "border" && pad != "reflection" {
		return nil, attrErr("GridSample padding_mode %q, want zeros, border or reflection", pad)
	}
	ac, err := n.Int("align_corners", 0)
	if err != nil {
		return nil, err
	}
	align := ac != 0
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, grid := in[0], in[1]
		xs, gs := x.Shape(), grid.Shape()
		if len(xs) != 4 {
			return nil, shapeErr("GridSample input of shape %v: only 4-D (N×C×H×W) inputs are supported", xs)
		}
		if !isFloat(x.DType()) || !isFloat(grid.DType()) {
			return nil, typeErr("GridSample of %s and grid %s, want float types", x.DType(), grid.DType())
		}
		if len(gs) != 4 || gs[0] != xs[0] || gs[3] != 2 {
			return nil, shapeErr("GridSample grid of shape %v for input %v, want N×Ho×Wo×2", gs, xs)
		}
		nb, c, h, w := xs[0], xs[1], xs[2], xs[3]
		ho, wo := gs[1], gs[2]
		os := []int{nb, c, ho, wo}
		if err := checkExtra(ctx, x.DType(), os, 4*int64(prod(os))); err != nil {
			return nil, err
		}
		if h == 0 || w == 0 {
			return nil, shapeErr("GridSample of the empty image %v", xs)
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		gv, err := floats(grid)
		if err != nil {
			return nil, err
		}
		xmin, ymin, xmax, ymax := -0.5, -0.5, float64(w)-0.5, float64(h)-0.5
		if align {
			xmin, ymin, xmax, ymax = 0, 0, float64(w-1), float64(h-1)
		}
		denorm := func(v float64, size int) float64 {
			if align {
				return (v + 1) / 2 * float64(size-1)
			}
			return ((v+1)*float64(size) - 1) / 2
		}
		pixel := func(plane []float32, r, col int) float64 {
			switch pad {
			case "zeros":
				if col < 0 || col >= w || r < 0 || r >= h {
					return 0
				}
			case "border":
				col, r = min(max(col, 0), w-1), min(max(r, 0), h-1)
			default:
				col = int(reflectInto(float64(col), xmin, xmax))
				r = int(reflectInto(float64(r), ymin, ymax))
				col, r = min(max(col, 0), w-1), min(max(r, 0), h-1)
			}
			return float64(plane[r*w+col])
		}
		y := make([]float32, prod(os))
		err = workerpool.For(ctx, nb*c, 1, func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				b := pl / c
				plane := xv[pl*h*w : (pl+1)*h*w]
				out := y[pl*ho*wo : (pl+1)*ho*wo]
				for i := range ho * wo {
					gx := float64(gv[(b*ho*wo+i)*2])
					gy := float64(gv[(b*ho*wo+i)*2+1])
					px, py := denorm(gx, w), denorm(gy, h)
					if mode == "nearest" {
						px, py = math.RoundToEven(px), math.RoundToEven(py)
					}
					if mode != "cubic" && (px < xmin || px > xmax || py < ymin || py > ymax) {
						switch pad {
						case "border":
							px, py = min(max(px, 0), float64(w-1)), min(max(py, 0), float64(h-1))
						case "reflection":
							px, py = reflectInto(px, xmin, xmax), reflectInto(py, ymin, ymax)
						}
					}
					if math.IsNaN(px) || math.IsNaN(py) || math.Abs(px) > 1<<30 || math.Abs(py) > 1<<30 {
						out[i] = 0
						if pad != "zeros" {
							out[i] = float32(math.NaN())
						}
						continue
					}
					switch mode {
					case "nearest":
						out[i] = float32(pixel(plane, int(py), int(px)))
					case "linear":
						x1, y1 := int(math.Floor(px)), int(math.Floor(py))
						dx1, dy1 := px-float64(x1), py-float64(y1)
						dx2, dy2 := 1-dx1, 1-dy1
						out[i] = float32(dy2*(dx2*pixel(plane, y1, x1)+dx1*pixel(plane, y1, x1+1)) +
							dy1*(dx2*pixel(plane, y1+1, x1)+dx1*pixel(plane, y1+1, x1+1)))
					case "cubic":
						x0, y0 := int(math.Floor(px))-1, int(math.Floor(py))-1
						cx, cy := cubicCoeffs(px-float64(x0)-1), cubicCoeffs(py-float64(y0)-1)
						s := 0.0
						for r := range 4 {
							row := 0.0
							for q := range 4 {
								row += cx[q] * pixel(plane, y0+r, x0+q)
							}
							s += cy[r] * row
						}
						out[i] = float32(s)
					}
				}
			}
		})
		if err != nil {
			return nil, err
		}
		return fromFloats(x.DType(), os, y)
	}), nil
}

// cubicCoeffs returns the 4 cubic convolution weights (a = −0.75) of the
// pixels at −1, 0, 1, 2 from a point t ∈ [0, 1) past pixel 0.
func cubicCoeffs(t float64) [4]float64 {
	const a = -0.75
	t = math.Abs(t)
	return [4]float64{
		((a*(t+1)-5*a)*(t+1)+8*a)*(t+1) - 4*a,
		((a+2)*t-(a+3))*t*t + 1,
		((a+2)*(1-t)-(a+3))*(1-t)*(1-t) + 1,
		((a*(2-t)-5*a)*(2-t)+8*a)*(2-t) - 4*a,
	}
}

// reflectInto folds x into [lo, hi] by reflecting at the bounds.
func reflectInto(x, lo, hi float64) float64 {
	rng := hi - lo
	if rng <= 0 {
		return lo
	}
	switch {
	case x < lo:
		d := lo - x
		n := math.Floor(d / rng)
		r := d - n*rng
		if math.Mod(n, 2) == 0 {
			return lo + r
		}
		return hi - r
	case x > hi:
		d := x - hi
		n := math.Floor(d / rng)
		r := d - n*rng
		if math.Mod(n, 2) == 0 {
			return hi - r
		}
		return lo + r
	}
	return x
}
