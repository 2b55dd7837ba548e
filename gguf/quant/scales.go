package quant

// ScaleMinK4 returns the 6-bit scale and min of sub-block j (0..7) packed
// in the 12 scale bytes of a Q4_K or Q5_K block (ggml's
// get_scale_min_k4), for code that reads the blocks in its own layout.
func ScaleMinK4(j int, scales *[12]uint8) (sc, m uint8) { return scaleMinK4(j, scales) }

// Q3KScale returns the 6-bit scale (0..63, stored biased by 32) of
// sub-block j (0..15) packed in the 12 scale bytes of a Q3_K block.
func Q3KScale(j int, scales *[12]uint8) int { return q3Scale(j, scales) }

// Scale returns the 6-bit scale (0..63, stored biased by 32) of
// sub-block ib (0..7) of b.
func (b *BlockIQ4_XS) Scale(ib int) int {
	return int(b.ScalesL[ib/2]>>(4*(ib%2))&0xf) | int(b.ScalesH>>(2*ib)&3)<<4
}

// IQ4Level returns level i&15 of IQ4_NL and IQ4_XS (ggml's
// kvalues_iq4nl).
func IQ4Level(i uint8) int8 { return kvaluesIQ4NL[i&15] }
