package hgemm

import (
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/internal/tune"
)

// Format is the 16-bit encoding of a weight matrix.
type Format int

const (
	// F16 is IEEE 754 binary16 (GGUF type F16).
	F16 Format = iota + 1
	// BF16 is bfloat16, the high half of a binary32 (GGUF type BF16).
	BF16
)

// String returns "F16", "BF16" or "Format(n)".
func (f Format) String() string {
	switch f {
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// fam returns the kernel family of f for variants without VDPBF16PS.
func (f Format) fam() int {
	if f == BF16 {
		return famBF16
	}
	return famF16
}

// Kernel families (the order of the generated switches).
const (
	famF16    = iota // weights widened by VCVTPH2PS
	famBF16          // weights widened by a 16-bit shift
	famBF16DP        // bf16 pairs multiplied by VDPBF16PS
)

var (
	// ErrShape reports sizes that do not fit: a data length that is not
	// 2·N·K, N or K below 1, or slices shorter than the product needs.
	ErrShape = errors.New("hgemm: bad shape")
	// ErrFormat reports a Format other than F16 and BF16.
	ErrFormat = errors.New("hgemm: unknown format")
)

// Matrix is an N×K weight matrix W kept in its 16-bit encoding: row n,
// column k is the little-endian 16-bit value at Data()[2(n·K+k):]. It refers
// to the caller's bytes (typically a read-only memory mapping) without
// copying them; they must not change while the Matrix is in use. A Matrix
// is safe for concurrent use.
type Matrix struct {
	format Format
	n, k   int
	data   []byte // nil for a stack
	// parts are the row blocks of W, each with its own bytes: one for New,
	// one per stacked matrix for Stack.
	parts []part
	tiles int // 4-row tiles of all parts
	// pf chooses the kernels with or without software prefetch: one row
	// on one thread, on several; more rows on one thread, on several
	// (tune.Prefetch).
	pf [4]tune.Prefetch
}

// part is a block of consecutive rows of W kept in its own bytes. Its
// rows are cut into its own 4-row tiles (the last may be partial), so
// that no kernel call reads rows of two parts.
type part struct {
	n     int    // rows
	row0  int    // first row in W
	tile0 int    // first tile in the Matrix's numbering
	data  []byte // 2·n·K bytes
}

func (m *Matrix) setParts(ps []part) {
	m.parts, m.tiles = ps, 0
	for i := range ps {
		ps[i].row0, ps[i].tile0 = m.n, m.tiles
		m.n += ps[i].n
		m.tiles += (ps[i].n + nr - 1) / nr
	}
}

// New returns the n×k matrix of format f stored row-major in data, which it
// keeps without copying (any alignment). The error wraps ErrFormat for an
// unknown format and ErrShape when n or k is below 1 or len(data) ≠ 2·n·k.
func New(f Format, n, k int, data []byte) (*Matrix, error) {
	if f != F16 && f != BF16 {
		return nil, fmt.Errorf("hgemm: New: %v: %w", f, ErrFormat)
	}
	if n < 1 || k < 1 || uint64(len(data)) != 2*uint64(n)*uint64(k) {
		return nil, fmt.Errorf("hgemm: New %v N=%d K=%d: len(data)=%d, want 2·N·K: %w", f, n, k, len(data), ErrShape)
	}
	m := &Matrix{format: f, k: k, data: data}
	m.setParts([]part{{n: n, data: data}})
	return m, nil
}

// Stack returns the matrix whose rows are the rows of ms, in order: row j
// of ms[0], then the rows of ms[1], and so on. The matrices must have one
// format and one K; Stack keeps their bytes without copying, so that one
// MatMul call (one parallel launch, one rounding of the activations) does
// the work of len(ms) calls. The error wraps ErrShape when ms is empty or
// the formats or K differ.
func Stack(ms ...*Matrix) (*Matrix, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("hgemm: Stack of no matrices: %w", ErrShape)
	}
	s := &Matrix{format: ms[0].format, k: ms[0].k}
	var ps []part
	for _, m := range ms {
		if m.format != s.format || m.k != s.k {
			return nil, fmt.Errorf("hgemm: Stack %v N=%d K=%d on %v K=%d: %w", m.format, m.n, m.k, s.format, s.k, ErrShape)
		}
		for _, p := range m.parts {
			ps = append(ps, part{n: p.n, data: p.data})
		}
	}
	s.setParts(ps)
	if len(ps) == 1 {
		s.data = ps[0].data
	}
	return s, nil
}

// Format returns the encoding of the weights.
func (m *Matrix) Format() Format { return m.format }

// N returns the number of rows of W (outputs of MatMul).
func (m *Matrix) N() int { return m.n }

// K returns the number of columns of W (inputs of MatMul).
func (m *Matrix) K() int { return m.k }

// Data returns the bytes of W, as given to New (nil for a Stack of more
// than one matrix).
func (m *Matrix) Data() []byte { return m.data }

// Bytes returns the number of bytes of W (2·N·K): what a product reads.
func (m *Matrix) Bytes() int { return 2 * m.n * m.k }

// part returns the part holding row j.
func (m *Matrix) part(j int) *part {
	for i := len(m.parts) - 1; i > 0; i-- {
		if j >= m.parts[i].row0 {
			return &m.parts[i]
		}
	}
	return &m.parts[0]
}

// Row sets dst[k] = W[j][k] widened to float32 (exactly; a signalling
// float16 NaN may come back quiet) for k < K: an embedding lookup. The error wraps ErrShape when j is not in [0, N) or
// len(dst) < K.
func (m *Matrix) Row(j int, dst []float32) error {
	if j < 0 || j >= m.n || len(dst) < m.k {
		return fmt.Errorf("hgemm: Row %d of N=%d K=%d: len(dst)=%d: %w", j, m.n, m.k, len(dst), ErrShape)
	}
	p := m.part(j)
	j -= p.row0
	widen(m.format, dst[:m.k], p.data[2*j*m.k:2*(j+1)*m.k])
	return nil
}
