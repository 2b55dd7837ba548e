package gemma3

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/internal/hgemm"
	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
)

// Matrix is an N×K weight matrix whose row j holds the K input weights of
// output feature j (a GGUF tensor with ne0 = K, ne1 = N), in any storage
// format. Implementations are read-only after construction and safe for
// concurrent use.
type Matrix interface {
	// Dims returns N (output features) and K (input features).
	Dims() (n, k int)
	// MatMul sets y[r·N+j] = Σ_i x[r·K+i]·W[j][i] for r < rows, using at
	// most threads parallel chunks (0: the whole worker pool).
	MatMul(ctx context.Context, y, x []float32, rows, threads int) error
	// Row writes row j of W, dequantized, to dst[:K].
	Row(j int, dst []float32)
}

var (
	_ Matrix = (*Half)(nil)
	_ Matrix = (*Dense)(nil)
	_ Matrix = (*Blocks)(nil)
	_ Matrix = (*Packed)(nil)
)

// Dense is a float32 Matrix multiplied with the float32 GEMM.
type Dense struct {
	N, K int
	Data []float32 // N×K row-major
}

// Dims returns N and K.
func (d *Dense) Dims() (int, int) { return d.N, d.K }

// MatMul computes y = x·Wᵀ with internal/gemm (one thread and up to 16
// rows, as a decode step of a Batch: a serial dot-product loop that reads
// each weight row once for all rows and allocates nothing).
func (d *Dense) MatMul(ctx context.Context, y, x []float32, rows, threads int) error {
	if rows >= 1 && rows <= 16 && threads == 1 && len(x) >= rows*d.K && len(y) >= rows*d.N {
		for j := 0; j < d.N; j++ {
			w := d.Data[j*d.K : (j+1)*d.K]
			for r := 0; r < rows; r++ {
				y[r*d.N+j] = dot(x[r*d.K:(r+1)*d.K], w)
			}
		}
		return ctx.Err()
	}
	return gemm.Sgemm(ctx, false, true, rows, d.N, d.K, 1, x, d.K, d.Data, d.K, 0, y, d.N)
}

// Row copies row j.
func (d *Dense) Row(j int, dst []float32) { copy(dst[:d.K], d.Data[j*d.K:(j+1)*d.K]) }

// Bytes returns the weight bytes a product reads.
func (d *Dense) Bytes() int64 { return 4 * int64(len(d.Data)) }

// Half is an F16 or BF16 Matrix multiplied straight from its 16-bit GGUF
// encoding, read in place (internal/hgemm): the activations are rounded to
// the weight type first and the products accumulated in float32, as
// llama.cpp's CPU backend does.
type Half struct{ m *hgemm.Matrix }

// NewHalf returns the Half matrix over data (n rows of k F16 or BF16
// values; not copied).
func NewHalf(t quant.Type, n, k int, data []byte) (*Half, error) {
	f := hgemm.F16
	switch t {
	case quant.F16:
	case quant.BF16:
		f = hgemm.BF16
	default:
		return nil, fmt.Errorf("gemma3: %v matrix %d×%d is not F16 or BF16: %w", t, n, k, ErrConfig)
	}
	m, err := hgemm.New(f, n, k, data)
	if err != nil {
		return nil, fmt.Errorf("gemma3: %v matrix %d×%d: %v: %w", t, n, k, err, ErrConfig)
	}
	return &Half{m}, nil
}

// Dims returns N and K.
func (h *Half) Dims() (int, int) { return h.m.N(), h.m.K() }

// Bytes returns the weight bytes a product reads (the file's).
func (h *Half) Bytes() int64 { return int64(h.m.Bytes()) }

// stacked is a Matrix made of several stacked row-wise (Layer.qkv,
// Layer.gateUp): a Packed stack or a Half stack.
type stacked interface {
	MatMul(ctx context.Context, y, x []float32, rows, threads int) error
	Bytes() int64
}

var (
	_ stacked = (*Packed)(nil)
	_ stacked = (*Half)(nil)
)

// stackHalf returns the Half matrix whose rows are those of hs in order,
// reading each one's bytes in place, or nil when hs is empty or the
// matrices do not share one format and K.
func stackHalf(hs ...*Half) *Half {
	ms := make([]*hgemm.Matrix, len(hs))
	for i, h := range hs {
		ms[i] = h.m
	}
	m, err := hgemm.Stack(ms...)
	if err != nil {
		return nil
	}
	return &Half{m}
}

// MatMul computes y = round16(x)·Wᵀ.
func (h *Half) MatMul(ctx context.Context, y, x []float32, rows, threads int) error {
	return h.m.MatMul(ctx, y, x, rows, threads)
}

// Row widens row j (exactly).
func (h *Half) Row(j int, dst []float32) {
	if err := h.m.Row(j, dst); err != nil {
		panic(err) // j is in range: callers check token ids
	}
}

// Blocks is a Matrix kept in its GGUF encoding (any type quant supports)
// and multiplied the way llama.cpp's CPU backend does: every activation row
// is first rounded to the weight type's vec_dot type (Q8_0 blocks with an
// fp16 scale for Q4_0/Q4_1/Q5_x/Q8_0/IQ4_NL/MXFP4/NVFP4/Q1_0/Q2_0, Q8_K
// for the K-, i- and ternary quants, fp16 for F16, bf16 for BF16, nothing
// for F32), then each output is the dot product of
// the exactly dequantized weight row with the rounded activations,
// accumulated in float64. It is the accuracy reference of this package;
// Packed is the fast path.
type Blocks struct {
	Type     quant.Type
	N, K     int
	Data     []byte // N rows of Type.RowBytes(K) bytes
	rowBytes int
}

// NewBlocks checks the size of data and returns the Blocks matrix over it
// (data is not copied).
func NewBlocks(t quant.Type, n, k int, data []byte) (*Blocks, error) {
	rb, err := t.RowBytes(k)
	if err != nil || !t.Supported() {
		return nil, fmt.Errorf("gemma3: %v matrix %d×%d: type not supported (%v): %w", t, n, k, err, ErrConfig)
	}
	if len(data) != rb*n {
		return nil, fmt.Errorf("gemma3: %v matrix %d×%d needs %d bytes, got %d: %w", t, n, k, rb*n, len(data), ErrConfig)
	}
	return &Blocks{Type: t, N: n, K: k, Data: data, rowBytes: rb}, nil
}

// Dims returns N and K.
func (b *Blocks) Dims() (int, int) { return b.N, b.K }

// Bytes returns the weight bytes a product reads (the file's).
func (b *Blocks) Bytes() int64 { return int64(len(b.Data)) }

// Row dequantizes row j (bit-identical to quant.Dequantize; Q4_0 and Q8_0
// are decoded here without allocating).
func (b *Blocks) Row(j int, dst []float32) {
	row := b.Data[j*b.rowBytes : (j+1)*b.rowBytes]
	switch b.Type {
	case quant.Q8_0:
		for i := 0; i < b.K/quant.QK; i++ {
			p := row[i*34 : (i+1)*34]
			d := numeric.Float16FromBits(binary.LittleEndian.Uint16(p)).Float32()
			for k, q := range p[2:34] {
				dst[i*quant.QK+k] = float32(int8(q)) * d
			}
		}
		return
	case quant.Q4_0:
		for i := 0; i < b.K/quant.QK; i++ {
			p := row[i*18 : (i+1)*18]
			d := numeric.Float16FromBits(binary.LittleEndian.Uint16(p)).Float32()
			y := dst[i*quant.QK : (i+1)*quant.QK]
			for k, q := range p[2:18] {
				y[k] = float32(int(q&0xf)-8) * d
				y[k+16] = float32(int(q>>4)-8) * d
			}
		}
		return
	}
	if err := quant.Dequantize(b.Type, dst[:b.K], b.Data[j*b.rowBytes:(j+1)*b.rowBytes]); err != nil {
		panic(err) // sizes were checked by NewBlocks
	}
}

// MatMul computes y = round(x)·Wᵀ as described on Blocks. It allocates
// its scratch per call: it is the reference, not the hot path.
func (b *Blocks) MatMul(ctx context.Context, y, x []float32, rows, threads int) error {
	if len(x) < rows*b.K || len(y) < rows*b.N {
		return fmt.Errorf("gemma3: MatMul %d×%d with %d rows: len(x)=%d len(y)=%d", b.N, b.K, rows, len(x), len(y))
	}
	xr := make([]float64, rows*b.K)
	tmp := make([]float32, b.K)
	for r := 0; r < rows; r++ {
		roundActivations(b.Type, tmp, x[r*b.K:(r+1)*b.K])
		for i, v := range tmp {
			xr[r*b.K+i] = float64(v)
		}
	}
	chunks := workerpool.Workers()
	if threads > 0 {
		chunks = min(chunks, threads)
	}
	return workerpool.ForN(ctx, b.N, 16, chunks, func(lo, hi int) {
		w := make([]float32, b.K)
		for j := lo; j < hi; j++ {
			b.Row(j, w)
			for r := 0; r < rows; r++ {
				xs := xr[r*b.K : (r+1)*b.K]
				var s float64
				for i, v := range w {
					s += float64(v) * xs[i]
				}
				y[r*b.N+j] = float32(s)
			}
		}
	})
}

// roundActivations writes x rounded to the vec_dot type llama.cpp pairs
// with weight type t (see Blocks) into dst.
func roundActivations(t quant.Type, dst, x []float32) {
	switch t {
	case quant.F32:
		copy(dst, x)
	case quant.F16:
		for i, v := range x {
			dst[i] = numeric.Float16FromFloat32(v).Float32()
		}
	case quant.BF16:
		for i, v := range x {
			dst[i] = numeric.BFloat16FromFloat32(v).Float32()
		}
	case quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0, quant.IQ4_NL,
		quant.MXFP4, quant.NVFP4, quant.Q1_0, quant.Q2_0: // Q8_0 / Q8_1 activations
		roundQ8_0(dst, x)
	default: // the K-quants, i-quants and ternary types pair with Q8_K
		var blk quant.BlockQ8_K
		for i := 0; i < len(x); i += quant.QKK {
			blk.Quantize(x[i : i+quant.QKK])
			blk.Dequantize(dst[i : i+quant.QKK])
		}
	}
}

// roundQ8_0Generic rounds x to Q8_0 blocks as ggml's x86
// quantize_row_q8_0 does (d = fp16(amax/127), q = rint(x·127/amax)) and
// writes q·d back. The rounding is float32 round-half-even by the 1.5·2²³
// trick (|x·127/amax| ≤ 127), without branches. It is the specification of
// roundQ8_0 (len(x) a multiple of 32).
func roundQ8_0Generic(dst, x []float32) {
	const magic = 1.5 * (1 << 23)
	for i := 0; i+quant.QK <= len(x); i += quant.QK {
		blk := x[i : i+quant.QK]
		out := dst[i : i+quant.QK]
		var amax uint32 // |v| as bits: ordered like the values
		for _, v := range blk {
			amax = max(amax, math.Float32bits(v)&0x7fffffff)
		}
		am := math.Float32frombits(amax)
		d := numeric.Float16FromFloat32(am / 127).Float32()
		var id float32
		if am != 0 {
			id = 127 / am
		}
		for j, v := range blk {
			t := float32(v * id)
			out[j] = (float32(t+magic) - magic) * d
		}
	}
}

// Packed is a quantized Matrix repacked for the fused int8 kernels of
// internal/qgemm: every type with a packed kernel (PackedType: Q4_0, Q8_0,
// Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K … Q6_K, IQ4_XS) into qgemm.GGML's
// super-block tiles, each tile holding its codes and scales together (a
// one-row product then reads one sequential stream per run of rows). It
// may stack several matrices of one type and K row-wise (NewPackedStack:
// Q|K|V, Gate|Up), so that one call quantizes the activations once and
// runs one parallel loop.
//
// The activations are rounded as llama.cpp rounds them for the type (Q8_0
// or Q8_1 blocks, Q8_K super-blocks) and multiplied with exact integer
// block dot products, so the products equal llama.cpp's up to float32
// summation order.
type Packed struct {
	n, k int
	g    *qgemm.GGML
}

// PackedType reports whether matrices of type t have a packed kernel.
func PackedType(t quant.Type) bool { return qgemm.GGMLSupported(t) }

// NewPacked repacks a matrix of a PackedType.
func NewPacked(b *Blocks) (*Packed, error) {
	return newPacked([]*Blocks{b}, false, qgemm.PackOptions{})
}

// NewPackedStack repacks matrices of one PackedType and K stacked
// row-wise: row j of the result is row j of parts[0], then the rows of
// parts[1], and so on.
func NewPackedStack(parts ...*Blocks) (*Packed, error) {
	return newPacked(parts, false, qgemm.PackOptions{})
}

// newPacked repacks parts; with release, their data is part of a read-only
// file mapping whose pages are handed back to the kernel as they are
// packed (see releasePages), so that the file and its repacked copy are
// never resident together. o chooses the form of types that have two.
func newPacked(parts []*Blocks, release bool, o qgemm.PackOptions) (*Packed, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("gemma3: packing no matrices: %w", ErrConfig)
	}
	p := &Packed{k: parts[0].K}
	src := &packSource{parts: parts, release: release}
	for _, b := range parts {
		if !PackedType(b.Type) {
			return nil, fmt.Errorf("gemma3: no packed kernel for %v: %w", b.Type, ErrConfig)
		}
		if b.Type != parts[0].Type || b.K != p.k {
			return nil, fmt.Errorf("gemma3: cannot stack %v %d×%d on %v with K=%d: %w", b.Type, b.N, b.K, parts[0].Type, p.k, ErrConfig)
		}
		src.start = append(src.start, p.n)
		p.n += b.N
	}
	t := parts[0].Type
	g, err := qgemm.PackGGMLWith(t, p.n, p.k, src.row, o)
	if release {
		for _, b := range parts {
			releasePages(b.Data)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("gemma3: pack %v %d×%d: %w", t, p.n, p.k, err)
	}
	p.g = g
	return p, nil
}

// Dims returns N and K.
func (p *Packed) Dims() (int, int) { return p.n, p.k }

// Bytes returns the weight bytes a product reads (the repacked matrix).
func (p *Packed) Bytes() int64 { return int64(p.g.Footprint()) }

// Row dequantizes row j from the tiles (bit-identical to
// quant.Dequantize).
func (p *Packed) Row(j int, dst []float32) { p.g.DequantizeRow(j, dst) }

// MatMul computes y = x·Wᵀ with the tiles' int8-activation kernels, which
// round the activations as llama.cpp does. qgemm splits the work by
// output columns for any number of rows: prompt batches share pieces of
// columns small enough to stay in L2 while every row tile reads them, so
// that the weights come from memory once per product. (Splitting a batch's
// rows between the threads instead, as this did before, made each thread
// read the whole matrix once per 16 rows: a 128-token prompt of a
// gemma-3-4b-shaped Q4_K_M file took 1.64 s on two threads against 1.03 s
// now; see docs/PERFORMANCE.md.)
func (p *Packed) MatMul(ctx context.Context, y, x []float32, rows, threads int) error {
	if rows < 0 || len(x) < rows*p.k || len(y) < rows*p.n {
		return fmt.Errorf("gemma3: MatMul %d×%d with %d rows: len(x)=%d len(y)=%d: %w", p.n, p.k, rows, len(x), len(y), qgemm.ErrArgs)
	}
	return p.g.MatMul(ctx, y, x, rows, threads)
}

// packSource reads the rows of the matrices a Packed stacks (parts, row
// start[i] the first of parts[i]) for qgemm.PackGGML; the Packed keeps
// only the tiles, not the encoded rows. With
// release, rows already packed are released from the file mapping in
// steps of releaseStep bytes, PackChunkRows behind the rows being packed:
// PackGGML takes chunks of that many rows in order and packs each chunk
// in parallel; were it to read in another order, released rows would only
// be read back from the page cache.
type packSource struct {
	parts    []*Blocks
	start    []int
	release  bool
	cur      int // part of the last chunk or row handed out
	released int // bytes of parts[cur] released so far
}

const releaseStep = 1 << 20

// row returns the raw bytes of row n (for qgemm.PackGGML, which reads the
// rows in order), releasing what was packed.
func (s *packSource) row(n int) []byte {
	i := s.cur
	if n < s.start[i] || (i+1 < len(s.start) && n >= s.start[i+1]) {
		i = s.part(n)
	}
	b := s.parts[i]
	r := n - s.start[i]
	s.release1(i, r)
	if s.release && r%qgemm.PackChunkRows == 0 {
		// Map the chunk PackGGML is about to read in one call.
		mmap.Populate(b.Data[r*b.rowBytes : min(r+qgemm.PackChunkRows, b.N)*b.rowBytes])
	}
	return b.Data[r*b.rowBytes : (r+1)*b.rowBytes]
}

// part returns the index of the part holding row j.
func (s *packSource) part(j int) int {
	i := len(s.start) - 1
	for i > 0 && s.start[i] > j {
		i--
	}
	return i
}

// release1 hands back the file pages of part i before row r once a
// releaseStep of them has been packed (with release set).
func (s *packSource) release1(i, r int) {
	if !s.release {
		return
	}
	if i != s.cur {
		if i > s.cur {
			releasePages(s.parts[s.cur].Data)
		}
		s.cur, s.released = i, 0
	}
	b := s.parts[i]
	// PackGGML may still read the last PackChunkRows rows.
	if off := max(0, r-qgemm.PackChunkRows) * b.rowBytes; off-s.released >= releaseStep {
		releasePages(b.Data[s.released:off])
		s.released = off
	}
}
