package quant

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// The golden files in testdata/ggml are written by ggml itself (llama.cpp's
// ggml-quants.c, through tools/ggmlref; see its README for the layout and
// for how to regenerate them). The tests below demand bit-identical bytes
// and floats.

// ggmlGolden is one testdata/ggml/<TYPE>.bin.gz file.
type ggmlGolden struct {
	typ       Type
	full      bool
	nq, n, nr int
	hashQ     []uint64  // FNV-1a of ggml's quantization of input row i
	hashY     []uint64  // FNV-1a of ggml's dequantization of that row
	blocks    []byte    // nr random blocks
	hashB     []uint64  // FNV-1a of ggml's dequantization of each block
	q         []byte    // full only: the quantized rows
	yb        []float32 // full only: the dequantized random blocks
}

func readGz(t *testing.T, name string) *bytes.Reader {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ggml", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// readLE reads little-endian values into each of vs, failing t on a short
// or malformed file.
func readLE(t *testing.T, r io.Reader, vs ...any) {
	t.Helper()
	for _, v := range vs {
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			t.Fatalf("golden file: %v", err)
		}
	}
}

func readMagic(t *testing.T, r io.Reader, want string) {
	t.Helper()
	m := make([]byte, 8)
	readLE(t, r, m)
	if string(m) != want {
		t.Fatalf("golden file: magic %q, want %q", m, want)
	}
}

// ggmlInputs returns the input rows that ggml quantized.
func ggmlInputs(t *testing.T) [][]float32 {
	t.Helper()
	r := readGz(t, "inputs.bin.gz")
	readMagic(t, r, "ZGGMLIN1")
	var rows, n uint32
	readLE(t, r, &rows, &n)
	x := make([]float32, int(rows)*int(n))
	readLE(t, r, x)
	out := make([][]float32, rows)
	for i := range out {
		out[i] = x[i*int(n) : (i+1)*int(n)]
	}
	return out
}

func readGGMLGolden(t *testing.T, typ Type) *ggmlGolden {
	t.Helper()
	r := readGz(t, typ.String()+".bin.gz")
	readMagic(t, r, "ZGGMLRF2")
	var id, full, nq, n, nr uint32
	readLE(t, r, &id, &full, &nq, &n, &nr)
	if Type(id) != typ {
		t.Fatalf("%v golden: type id %d", typ, id)
	}
	g := &ggmlGolden{typ: typ, full: full == 1, nq: int(nq), n: int(n), nr: int(nr)}
	g.hashQ, g.hashY = make([]uint64, nq), make([]uint64, nq)
	g.blocks, g.hashB = make([]byte, g.nr*typ.BlockBytes()), make([]uint64, nr)
	readLE(t, r, g.hashQ, g.hashY, g.blocks, g.hashB)
	if g.full {
		rb, err := typ.RowBytes(g.n)
		if err != nil {
			t.Fatal(err)
		}
		g.q, g.yb = make([]byte, g.nq*rb), make([]float32, g.nr*typ.BlockSize())
		readLE(t, r, g.q, g.yb)
	}
	if r.Len() != 0 {
		t.Fatalf("%v golden: %d trailing bytes", typ, r.Len())
	}
	return g
}

func fnvBytes(p []byte) uint64 {
	h := fnv.New64a()
	h.Write(p)
	return h.Sum64()
}

// fnvFloats hashes the bits of y, as the goldens hash ggml's floats.
// The goldens come from ggml on x86, where an invalid operation (0·∞, in
// the dequantization of a block whose fp16 scale overflowed) gives the
// default NaN 0xffc00000; Arm's default NaN is 0x7fc00000, the same
// with the sign bit clear, and counts as x86's here.
func fnvFloats(y []float32) uint64 {
	p := make([]byte, 4*len(y))
	for i, v := range y {
		b := math.Float32bits(v)
		if b == 0x7fc00000 && runtime.GOARCH != "amd64" && runtime.GOARCH != "386" {
			b = 0xffc00000
		}
		binary.LittleEndian.PutUint32(p[4*i:], b)
	}
	return fnvBytes(p)
}

// ggmlTypes lists the block types that have golden files.
func ggmlTypes(t *testing.T) []Type {
	t.Helper()
	var out []Type
	for typ := Type(0); typ < 64; typ++ {
		if !typ.Known() || typ.BlockSize() == 1 {
			continue
		}
		_, err := os.Stat(filepath.Join("testdata", "ggml", typ.String()+".bin.gz"))
		switch {
		case err == nil:
			out = append(out, typ)
		case typ.Supported():
			t.Errorf("%v is supported but has no ggml golden file", typ)
		}
	}
	return out
}

// firstDiff describes the first block where got and want differ.
func firstDiff(typ Type, got, want []byte) string {
	bb := typ.BlockBytes()
	for i := 0; i < len(want); i += bb {
		if !bytes.Equal(got[i:i+bb], want[i:i+bb]) {
			return fmt.Sprintf("block %d:\n got  %x\n want %x", i/bb, got[i:i+bb], want[i:i+bb])
		}
	}
	return "no difference"
}

// TestGGMLQuantize quantizes ggml's input rows and demands ggml's bytes
// (quantize_<type> with no importance matrix, what llama-quantize writes),
// then dequantizes them and demands ggml's floats, bit for bit.
func TestGGMLQuantize(t *testing.T) {
	in := ggmlInputs(t)
	for _, typ := range ggmlTypes(t) {
		t.Run(typ.String(), func(t *testing.T) {
			g := readGGMLGolden(t, typ)
			if g.nq == 0 {
				if typ.CanQuantize() {
					t.Fatalf("%v can quantize but its golden has no quantized rows", typ)
				}
				return
			}
			if !typ.CanQuantize() {
				t.Skipf("%v: Quantize not implemented", typ)
			}
			rb, _ := typ.RowBytes(g.n)
			q := make([]byte, rb)
			y := make([]float32, g.n)
			bad := 0
			for i := 0; i < g.nq && bad < 5; i++ {
				if err := Quantize(typ, q, in[i]); err != nil {
					t.Fatal(err)
				}
				if g.full && !bytes.Equal(q, g.q[i*rb:(i+1)*rb]) {
					t.Errorf("row %d (kind %d): quantized bytes differ from ggml's at %s", i, i%16, firstDiff(typ, q, g.q[i*rb:(i+1)*rb]))
					bad++
					continue
				}
				if h := fnvBytes(q); h != g.hashQ[i] {
					t.Errorf("row %d (kind %d): quantized bytes hash %016x, want %016x", i, i%16, h, g.hashQ[i])
					bad++
					continue
				}
				if err := Dequantize(typ, y, q); err != nil {
					t.Fatal(err)
				}
				if h := fnvFloats(y); h != g.hashY[i] {
					t.Errorf("row %d (kind %d): dequantized floats hash %016x, want %016x", i, i%16, h, g.hashY[i])
					bad++
				}
			}
		})
	}
}

// TestGGMLDequantize decodes random blocks (arbitrary bytes, finite scales)
// and demands ggml's floats bit for bit.
func TestGGMLDequantize(t *testing.T) {
	for _, typ := range ggmlTypes(t) {
		t.Run(typ.String(), func(t *testing.T) {
			if !typ.Supported() {
				t.Skipf("%v: Dequantize not implemented", typ)
			}
			g := readGGMLGolden(t, typ)
			bs, bb := typ.BlockSize(), typ.BlockBytes()
			y := make([]float32, bs)
			bad := 0
			for b := 0; b < g.nr && bad < 5; b++ {
				p := g.blocks[b*bb : (b+1)*bb]
				if err := Dequantize(typ, y, p); err != nil {
					t.Fatal(err)
				}
				if g.full {
					want := g.yb[b*bs : (b+1)*bs]
					for i := range y {
						if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
							t.Errorf("block %d (%x): element %d: got %v (%#08x), want %v (%#08x)", b, p, i, y[i], math.Float32bits(y[i]), want[i], math.Float32bits(want[i]))
							bad++
							break
						}
					}
				}
				if h := fnvFloats(y); h != g.hashB[b] {
					t.Errorf("block %d (%x): floats hash %016x, want %016x", b, p, h, g.hashB[b])
					bad++
				}
			}
		})
	}
}
