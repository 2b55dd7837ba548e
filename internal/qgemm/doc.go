// Package qgemm computes Y = A·Wᵀ (+ bias) with a block-quantized weight
// matrix W straight from its packed codes, never materializing W in float32.
// It is the fused kernel family behind the MatMulNBits layer and the GGUF
// quantized tensors.
//
// # Layout
//
// Pack repacks a source once into a Matrix: the N output features are cut
// into groups of 16 (the last group is padded), and each group stores, per
// K block, its codes as unsigned integers interleaved so that one 64-byte
// vector holds 4 consecutive k of all 16 columns ("quads": byte 4c+t of a
// quad is column c, k = 4q+t). A 4-bit step of 64 bytes holds two quads
// (low nibbles quad 2s, high nibbles 2s+1), a 2-bit step four (bit fields
// 0, 2, 4, 6), an 8-bit step one. Scales are [group][block][16], float32 or,
// when every scale is exactly a float16 value, float16, or with
// CompactScales 24 bits (high halves and a byte array of bits 8–15, the
// float32 scale rounded to nearest even: 0.59375 bytes per 4-bit weight at
// block size 32 instead of 0.625); zero points, when
// not the default 2^(bits−1), are bytes [group][block][16].
// Padding codes (k ≥ K, columns ≥ N) are the zero point and padding scales 0,
// so they contribute exactly 0.
//
// Block decoding (Source) is separate from the dot-product kernels: a
// source only has to say, block by block, what its unsigned codes, scale
// and zero point are. GGUF Q4_0 (fp16 scale, element j and j+16 share a
// byte, zero point 8) and Q8_0 (signed codes: code+128 with zero point 128)
// map onto the same Matrix (the test-only Q40 and Q80 sources, which
// compare the two layouts; models run GGUF tensors as GGML tiles).
//
// # Compute paths
//
// Float32 activations (ONNX Runtime accuracy levels 0–3): each weight is
// decoded as float32(code − zp)·scale, exactly the reference dequantization,
// and multiplied into float32 accumulators. Int8 activations (level 4): each
// row of A is quantized per block to int8 with scaleA = max|a|/127, round
// half to even, and Y = Σ_blocks scaleA·scaleB·Σ qa·(code − zp) with exact
// int32 block dot products (VPDPBUSD on AVX-512 VNNI).
//
// # GGUF types: the super-block family
//
// GGML (ggml.go) holds the ggml block types — Q4_0, Q8_0, Q4_1, Q5_0,
// Q5_1, IQ4_NL and the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, and
// the ternary TQ1_0 and TQ2_0 (both as TQ2_0's 2-bit codes), and, on
// CPUs without AVX-512 VBMI (or with PackOptions.Speed), the i-quants
// IQ3_S, IQ3_XXS, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M (which keep
// their grid indices where the CPU has it: ggml.go's gridFormat; on AVX2
// CPUs without VBMI the five with an index per 8 elements do, for AVX2
// kernels that read each entry from the grid's table) as 4-bit
// indices into a table of their levels in IQ4_XS's tiles (on AVX-512
// CPUs, the types of at most 8 levels as 3-bit indices, Q3_K's planes) (quant.Codes: d, 2s+1 per 32 or 16
// elements and a power of two, 1/2 or 1/8, applied to the activations'
// scale; PackGGML fails with ErrInexact for a block whose scale is not
// finite) —
// as y = d·sc·(u − zp) − dmin·m with an unsigned code u (or a table's
// level in place of u − zp). PackGGML repacks a
// tensor once into tiles of one super-block (32 or 256 elements) of 16
// columns: the low 2, 4 or 8 bits of the codes interleaved as above, each
// higher bit as a 64-bit mask per 64-code vector (Q6_K's two higher bits
// instead as a second, 2-bit plane interleaved like the codes, which the
// kernels shift into place: GF2P8AFFINEQB on AVX-512, so the AVX-512
// Q6_K kernels need GFNI and run on AVX2 without it), int8 sub-block scales,
// uint8 sub-block mins and the float16 d and dmin. On amd64 the Q3_K, Q5_K
// and Q6_K tiles put each sub-block's higher bits right after its codes,
// so that a one-row kernel reads a group's tiles as one sequential stream
// (ggml.go's chunkedTiles). A tile holds exactly the
// file's information, so the packed tensor is the size of the GGUF one
// (2–3 % more for Q4_K/Q5_K, whose 6-bit scales take a byte; 1.25–2.8
// times for the types held as table codes, whose grid indices the tiles
// do not keep). The
// activations are rounded as llama.cpp pairs them with the type (Q8_0,
// Q8_1 or Q8_K) and the kernels sum exact int32 sub-block dot products
// (VPDPBUSD; the extra bits added under a mask or ORed in, IQ4 codes
// and table codes looked up with VPSHUFB), multiply them by the integer sub-block scales, and convert to
// float once per super-block: y = Σ_sb d·da·isum − dmin·da·Σ m·bsum, the
// arithmetic of llama.cpp's vec_dot functions. GGML.DequantizeRow is
// bit-identical to ggml's dequantize_row.
//
// # Kernels
//
// Every kernel computes up to 8 rows of A against one 16-column group over
// all of K, keeping the decoded codes in registers for all rows: a weight
// tile is unpacked once per 8 rows. MatMul splits the groups over the
// worker pool (GEMV and GEMM alike). The pure-Go kernels (generic.go) are the
// specification; kernel_amd64.s (generated by gen_asm.go) holds the
// AVX-512 variant (F, BW and VNNI: VPERMPS code→float lookups, VPDPBUSD) and
// the AVX2+FMA variant (half groups of 8 columns, up to 4 rows; VPMADDUBSW +
// VPMADDWD, 8-bit codes split into nibbles so the int16 pair sums cannot
// saturate). On arm64, kernel_arm64.s (generated by gen_asm_arm64.go with
// GOARCH=arm64) holds an ARMv8.0 NEON variant (FMLA; int8 through
// SMULL/SMLAL/SADALP) and, where the CPU has the dot-product extension, one
// with SDOT. The best variant the CPU supports is chosen once at init; the
// purego build tag forces the generic one; the tests run every variant.
//
// With int8 activations the rows of A are quantized by quantizeRows (AVX-512
// or AVX2 where present, bit-identical to the Go version).
// A Matrix is read-only after Pack and safe for concurrent use.
//
// # Super-block kernels
//
// For the GGML tiles described above, ggmlKernelGeneric is the
// specification, ggml_amd64.s (gen_ggml_asm.go) the AVX-512 VNNI variant
// and ggml_avx2_amd64.s (gen_ggml_avx2.go) the AVX2 (+FMA, F16C)
// tier for CPUs without AVX-512, such as Intel's 12th–14th generation
// desktop parts and AMD Zen 2/3. An AVX2 register holds half a group (8
// columns: bytes 32h..32h+31 of each 64-byte code step, bits 32h..32h+31
// of each plane mask, entries 8h..8h+7 of the scales): VPMADDUBSW
// multiplies the unsigned codes by the broadcast activations, VPADDW adds
// as many of its pair sums as cannot overflow int16, and VPMADDWD widens
// them with the sub-block scale as its second operand; IQ4 codes are
// looked up as signed levels v, and Q8_0 codes taken as v = code − 128,
// and multiplied as |v|·(qa·sign v) (the unsigned Q8_0 codes' pair sums
// would saturate); an extra
// bit plane is spread to bytes with VPSHUFB and VPCMPEQB. On CPUs with
// AVX-VNNI (Intel's client cores since Alder Lake; the "avxvnni"
// variant) every type but the grids takes kernels of the same layout whose
// ymm VPDPBUSD (VEX-encoded by the generator: Go's assembler writes only
// the EVEX form) sums in int32 directly — unsigned Q8_0 codes and IQ4
// levels + 128 with their zero point, two chains of sums where registers
// allow; the K-quants' and IQ4_XS's sub-block sums per row, less the zero
// point's term and multiplied by the sub-block scales (VPMULLD), once per
// sub-block. Up to 2 rows one
// kernel covers both halves of a group (the tile is read once); more rows
// run per half, 4 at a time for Q4_1, Q2_K and Q4_K, and 8 (the float
// accumulators then live in the stack frame) for the types whose bit
// planes or table make decoding the dearer part. The integer sums are the
// generic kernel's and the float32 operations come in its order, so the
// results match it bit for bit (but for fma32's rare double rounding).
//
// At one row (decoding) the AVX-512 tier has a second variant, avx512x4,
// the one GGML.MatMul uses (Matrix.MatMul too, with int8 activations,
// float16 or float32 scales and the default zero point, such as
// MatMulNBits weights without zero points): its kernels multiply the activation row by 4 groups at
// once, taken from 4 runs of a thread's piece of groups, so that the tiles
// stream from memory as 4 concurrent sequential streams instead of one: a
// core reads memory 10–25 % faster that way here, and the kernels of the
// types with the dearest decoding (Q3_K, IQ4_XS) hide its latency behind 4
// independent groups. Each of these kernels exists with software prefetch
// along each stream and without: which reads faster depends on the CPU
// (and the type), so every matrix times both on its first one-row products
// of at least 1 MiB and keeps the faster (internal/tune.Prefetch, one
// choice for one thread and one for several). docs/PERFORMANCE.md has the
// figures. The AVX2 and AVX-VNNI tiers have such variants too (avx2x4,
// avxvnnix4) for the types whose decoding is cheap enough to wait on
// memory (Q4_0, Q8_0, Q4_1, Q4_K, Q5_K, Q6_K, Q5_0 and Q5_1 in their
// plane1 form, and on the AVX-VNNI tier IQ4_NL and IQ4_XS, whose levels +
// 128 VPDPBUSD multiplies directly): one group's super-block after
// another's, their float accumulators in the stack frame, 1.02–1.48 times
// the bytes per second of
// one group at a time; the other types there are bound by their decoding
// and keep the one-group kernels. CPUs that run these tiers (AVX2 without
// AVX-512) hold Q5_0, Q5_1, Q5_K and Q3_K with the extra bit as a plane of
// 1-bit codes (plane1Format) rather than a mask per vector: a shift and a
// mask put it in place, where spreading a mask's bits to bytes took a
// broadcast, a shuffle, a test and a mask; the AVX-VNNI tier's one-row
// kernels over groups move it with one GF2P8AFFINEQB instead (the step of
// bits and 7 of the 8 matrices in registers; CPUs without GFNI run the
// AVX2 tier's kernels for these formats). AVX-512 CPUs with GFNI hold Q5_0, Q5_1 and Q5_K so too:
// one GF2P8AFFINEQB moves a quad's bit into place, where the masks took a
// mask load and a masked add.
//
// On arm64, ggml_arm64.s (gen_ggml_arm64.go) holds the NEON tier: an
// ARMv8.0 variant and, where the CPU has the dot-product extension, one
// with SDOT, for 1–4 rows (more rows go in chunks of 4). A 128-bit register
// holds 4 columns of a code vector; a kernel covers 16, 8 or 4 columns,
// as many as its per-row sums fit in the 32 registers (the float sums, which
// change once per super-block, in the stack frame if need be). An extra bit
// plane is spread to bytes with TBL and CMTST and added with MLS; IQ4 codes
// are looked up as signed levels and Q8_0 codes made signed (code − 128),
// which drops the zp·Σqa term from the same integer sum. SDOT multiplies
// the codes as signed bytes (all others are below 128); without it
// SMULL/SMLAL add as many products in int16 as cannot overflow and SADALP
// widens them. The sums and the float32 operations are the generic
// kernel's, in its order.
package qgemm
