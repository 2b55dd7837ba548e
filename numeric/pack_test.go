package numeric

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPackSliceHandChecked(t *testing.T) {
	tests := []struct {
		name   string
		pack   func([]uint8) []uint8
		unpack func([]uint8) []uint8
		src    []uint8
		packed []uint8
		back   []uint8 // what the slice unpacker returns
	}{
		{"4-bit spec", Pack4BitSlice, Unpack4BitSlice, []uint8{1, 2, 3, 4}, []uint8{0x21, 0x43}, []uint8{1, 2, 3, 4}},
		{"4-bit extremes", Pack4BitSlice, Unpack4BitSlice, []uint8{15, 0, 0, 15}, []uint8{0x0F, 0xF0}, []uint8{15, 0, 0, 15}},
		{"4-bit odd", Pack4BitSlice, Unpack4BitSlice, []uint8{7, 8, 9}, []uint8{0x87, 0x09}, []uint8{7, 8, 9, 0}},
		{"4-bit empty", Pack4BitSlice, Unpack4BitSlice, []uint8{}, []uint8{}, []uint8{}},
		{"2-bit", Pack2BitSlice, Unpack2BitSlice, []uint8{0, 1, 2, 3, 3, 3, 0, 1}, []uint8{0xE4, 0x4F}, []uint8{0, 1, 2, 3, 3, 3, 0, 1}},
		{"2-bit ragged", Pack2BitSlice, Unpack2BitSlice, []uint8{2, 2, 1, 3, 1}, []uint8{0xDA, 0x01}, []uint8{2, 2, 1, 3, 1, 0, 0, 0}},
		{"8-bit", Pack8BitSlice, Unpack8BitSlice, []uint8{0, 200, 255}, []uint8{0, 200, 255}, []uint8{0, 200, 255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.pack(tc.src)
			if !bytesEqual(got, tc.packed) {
				t.Errorf("pack(%v) = %#x, want %#x", tc.src, got, tc.packed)
			}
			if back := tc.unpack(got); !bytesEqual(back, tc.back) {
				t.Errorf("unpack(%#x) = %v, want %v", got, back, tc.back)
			}
		})
	}
}

func TestPackSlicePanicsOnOverflow(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"4-bit 16", func() { Pack4BitSlice([]uint8{1, 2, 16}) }, "src[2] = 16 exceeds 15"},
		{"2-bit 4", func() { Pack2BitSlice([]uint8{4}) }, "src[0] = 4 exceeds 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.msg) || !strings.Contains(fmt.Sprint(r), "use PackBits") {
					t.Errorf("panic value %v, want message with %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func TestPackBitsErrors(t *testing.T) {
	dst := []uint8{0xAA, 0xAA}
	if _, err := Pack4Bit(dst, []uint8{1, 17, 3}); !errors.Is(err, ErrQuantization) || !strings.Contains(err.Error(), "src[1] = 17 exceeds 15") {
		t.Errorf("Pack4Bit overflow: %v", err)
	}
	if dst[0] != 0xAA || dst[1] != 0xAA {
		t.Errorf("Pack4Bit wrote %#x on error, want dst unchanged", dst)
	}
	if _, err := Pack4Bit(dst[:1], []uint8{1, 2, 3}); !errors.Is(err, ErrQuantization) || !strings.Contains(err.Error(), "needs 2 bytes, dst has 1") {
		t.Errorf("Pack4Bit short dst: %v", err)
	}
	if _, err := PackBits(dst, []uint8{1}, 3); !errors.Is(err, ErrQuantization) || !strings.Contains(err.Error(), "bits 3") {
		t.Errorf("PackBits bits 3: %v", err)
	}
	if err := UnpackBits(make([]uint8, 2), dst, 5); !errors.Is(err, ErrQuantization) {
		t.Errorf("UnpackBits bits 5: %v", err)
	}
	if err := Unpack4Bit(make([]uint8, 5), dst); !errors.Is(err, ErrQuantization) || !strings.Contains(err.Error(), "needs 3 bytes, src has 2") {
		t.Errorf("Unpack4Bit short src: %v", err)
	}
	// Exact-count unpacking drops the padding nibble.
	out := make([]uint8, 3)
	if err := Unpack4Bit(out, []uint8{0x87, 0xF9}); err != nil || !bytesEqual(out, []uint8{7, 8, 9}) {
		t.Errorf("Unpack4Bit(3 of 87 f9) = %v, %v; want [7 8 9]", out, err)
	}
	n, err := Pack4Bit(dst, []uint8{5, 6, 7})
	if err != nil || n != 2 || dst[0] != 0x65 || dst[1] != 0x07 {
		t.Errorf("Pack4Bit = %d, %v, dst %#x; want 2, nil, [65 07]", n, err, dst)
	}
}

func TestPackBitsRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, bits := range []int{2, 4, 8} {
		for n := 0; n <= 37; n++ {
			src := make([]uint8, n)
			for i := range src {
				src[i] = uint8(r.IntN(1 << bits))
			}
			// Guard bytes after the packed region must survive.
			dst := make([]uint8, PackedLen(n, bits)+2)
			dst[len(dst)-1], dst[len(dst)-2] = 0x5A, 0xA5
			m, err := PackBits(dst, src, bits)
			if err != nil || m != PackedLen(n, bits) {
				t.Fatalf("bits %d n %d: PackBits = %d, %v", bits, n, m, err)
			}
			if dst[len(dst)-1] != 0x5A || dst[len(dst)-2] != 0xA5 {
				t.Fatalf("bits %d n %d: PackBits wrote past its %d bytes", bits, n, m)
			}
			for i, v := range src {
				if c := PackedCode(dst, bits, i); c != v {
					t.Fatalf("bits %d n %d: field %d = %d, want %d", bits, n, i, c, v)
				}
			}
			back := make([]uint8, n)
			if err := UnpackBits(back, dst[:m], bits); err != nil || !bytesEqual(back, src) {
				t.Fatalf("bits %d n %d: UnpackBits = %v, %v; want %v", bits, n, back, err, src)
			}
			// In-place packing gives the same bytes.
			inPlace := append([]uint8(nil), src...)
			if _, err := PackBits(inPlace, inPlace, bits); err != nil || !bytesEqual(inPlace[:m], dst[:m]) {
				t.Fatalf("bits %d n %d: in-place PackBits = %#x, want %#x", bits, n, inPlace[:m], dst[:m])
			}
		}
	}
}
