package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// enc is a little-endian byte builder for hand-made (and broken) headers.
type enc struct{ bytes.Buffer }

func (e *enc) u32(v uint32) *enc  { binary.Write(e, binary.LittleEndian, v); return e }
func (e *enc) u64(v uint64) *enc  { binary.Write(e, binary.LittleEndian, v); return e }
func (e *enc) str(s string) *enc  { e.u64(uint64(len(s))); e.WriteString(s); return e }
func (e *enc) raw(b ...byte) *enc { e.Write(b); return e }

// header starts a v3 file with nt tensors and nkv metadata entries.
func header(nt, nkv uint64) *enc {
	e := &enc{}
	e.WriteString("GGUF")
	return e.u32(3).u64(nt).u64(nkv)
}

// tensor appends a tensor info.
func (e *enc) tensor(name string, typ uint32, off uint64, dims ...uint64) *enc {
	e.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		e.u64(d)
	}
	return e.u32(typ).u64(off)
}

// data pads to 32 and appends n bytes of tensor data.
func (e *enc) data(n int) *enc {
	for e.Len()%32 != 0 {
		e.WriteByte(0)
	}
	e.Write(make([]byte, n))
	return e
}

func TestBadFiles(t *testing.T) {
	valid := header(1, 1).str("a").u32(uint32(TypeUint32)).u32(7).tensor("t", 0, 0, 4).data(16).Bytes()
	if _, err := Read(valid); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	cases := []struct {
		name string
		file []byte
		msg  string // substring of the error
	}{
		{"empty", nil, "bad magic"},
		{"wrong magic", append([]byte("GGUG"), valid[4:]...), `bad magic "GGUG"`},
		{"truncated header", valid[:6], "truncated file: version"},
		{"truncated in tensor counts", valid[:12], "truncated file: tensor count"},
		{"unsupported version", append(append([]byte("GGUF"), 1, 0, 0, 0), valid[8:]...), "unsupported version 1"},
		{"big-endian", append(append([]byte("GGUF"), 0, 0, 0, 3), valid[8:]...), "big-endian"},
		{"truncated in tensor info", valid[:50], `truncated file: tensor "t" dimension`},
		{"truncated tensor data", valid[:len(valid)-1], `tensor "t": 16 bytes at data offset 0 run past the end`},
		{"absurd tensor count", header(1<<62, 0).Bytes(), "tensor count 4611686018427387904 is larger than the file allows"},
		{"absurd kv count", header(0, 1<<40).Bytes(), "metadata count 1099511627776 is larger than the file allows"},
		{"string longer than file", header(0, 1).str("k").u32(uint32(TypeString)).u64(1 << 50).Bytes(), `metadata "k" string length 1125899906842624 runs past the end`},
		{"key longer than file", header(0, 1).u64(1000).raw(make([]byte, 20)...).Bytes(), "metadata key length 1000 runs past the end"},
		{"array longer than file", header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeFloat32)).u64(1 << 40).Bytes(), `metadata "k" array length 1099511627776 is larger than the file allows`},
		{"string array longer than file", header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(100).str("x").Bytes(), `array length 100 is larger than the file allows`},
		{"duplicate key", header(0, 2).str("k").u32(uint32(TypeUint8)).raw(1).str("k").u32(uint32(TypeUint8)).raw(2).Bytes(), `duplicate metadata key "k" (at offset 38)`},
		{"unknown value type", header(0, 1).str("k").u32(13).raw(0, 0, 0, 0).Bytes(), `metadata "k": unknown value type 13`},
		{"unknown array type", header(0, 1).str("k").u32(uint32(TypeArray)).u32(99).u64(0).Bytes(), `unknown array element type 99`},
		{"bad bool", header(0, 1).str("k").u32(uint32(TypeBool)).raw(2).Bytes(), `bool value 2 is not 0 or 1`},
		{"bad bool array", header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeBool)).u64(2).raw(1, 7).Bytes(), `bool element 1 is 7`},
		{"deep arrays", deepArray(20), "nested deeper than 8"},
		{"bad alignment", header(0, 1).str(KeyAlignment).u32(uint32(TypeUint32)).u32(24).Bytes(), "general.alignment must be a uint32 power of two"},
		{"alignment type", header(0, 1).str(KeyAlignment).u32(uint32(TypeUint64)).u64(32).Bytes(), "general.alignment must be a uint32"},
		{"unknown tensor type", header(1, 0).tensor("t", 4, 0, 32).data(32).Bytes(), `tensor "t" has unknown type 4`},
		{"too many dims", header(1, 0).tensor("t", 0, 0, 1, 1, 1, 1, 1).data(4).Bytes(), `tensor "t" has 5 dimensions`},
		{"zero dims", header(1, 0).tensor("t", 0, 0).data(4).Bytes(), `tensor "t" has 0 dimensions`},
		{"partial block", header(1, 0).tensor("t", 2, 0, 48).data(36).Bytes(), `tensor "t": ne[0] = 48 is not a multiple of the Q4_0 block size 32`},
		{"K-quant row not a multiple of 256", header(1, 0).tensor("blk.0.attn_q.weight", 12, 0, 640).data(640).Bytes(), `tensor "blk.0.attn_q.weight": ne[0] = 640 is not a multiple of the Q4_K block size 256`},
		{"dims overflow", header(1, 0).tensor("t", 0, 0, 1<<40, 1<<40).data(4).Bytes(), `tensor "t": dimensions [1099511627776 1099511627776] overflow`},
		{"misaligned offset", header(2, 0).tensor("a", 0, 0, 1).tensor("b", 0, 4, 1).data(64).Bytes(), `tensor "b": data offset 4 is not a multiple of the alignment 32`},
		{"offset past end", header(1, 0).tensor("t", 0, 1<<62, 4).data(16).Bytes(), `tensor "t": 16 bytes at data offset 4611686018427387904 run past the end`},
		{"size past end", header(1, 0).tensor("t", 0, 0, 1<<20).data(16).Bytes(), `tensor "t": 4194304 bytes at data offset 0 run past the end`},
		{"overlap", header(2, 0).tensor("a", 0, 0, 16).tensor("b", 0, 32, 16).data(128).Bytes(), `tensor "b" (data offset 32, 64 bytes) overlaps tensor "a" (data offset 0, 64 bytes)`},
		{"duplicate tensor", header(2, 0).tensor("a", 0, 0, 1).tensor("a", 0, 32, 1).data(64).Bytes(), `duplicate tensor name "a"`},
		{"long tensor name", header(1, 0).tensor(strings.Repeat("x", 64), 0, 0, 1).data(4).Bytes(), "longer than 63"},
		{"data offset past end", header(1, 0).tensor("t", 0, 0, 0).Bytes(), "tensor data starts at offset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(c.file)
			if err == nil {
				t.Fatalf("got no error, want %q", c.msg)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("got %v, want an ErrFormat", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "gguf: ") || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("got %q, want a FormatError containing %q", err, c.msg)
			}
		})
	}
}

func deepArray(depth int) []byte {
	e := header(0, 1).str("k").u32(uint32(TypeArray))
	for i := 0; i < depth; i++ {
		e.u32(uint32(TypeArray)).u64(1)
	}
	return e.u32(uint32(TypeUint8)).u64(0).Bytes()
}

// TestReadAllocBound checks that hostile counts and lengths cannot make
// Read allocate more than a small multiple of the file size.
func TestReadAllocBound(t *testing.T) {
	for _, file := range [][]byte{
		header(1<<40, 1<<40).Bytes(),
		header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(1 << 60).Bytes(),
		header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeArray)).u64(1 << 59).Bytes(),
		header(0, 1).str("k").u32(uint32(TypeString)).u64(1<<64 - 1).Bytes(),
		header(1000, 0).tensor("t", 0, 0, 1<<30).Bytes(),
	} {
		before := totalAlloc()
		_, err := Read(file)
		if got := totalAlloc() - before; err == nil || got > allocBound(len(file)) {
			t.Errorf("Read(%d bytes): err %v, allocated %d bytes (bound %d)", len(file), err, got, allocBound(len(file)))
		}
	}
}
