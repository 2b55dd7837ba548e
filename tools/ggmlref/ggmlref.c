// ggmlref: the ggml oracle for gguf/quant's golden files.
//
// Compiled against llama.cpp's ggml/src/ggml-quants.c (see gen.sh), it
// writes, for each ggml block type, what ggml's own quantizer and
// dequantizer produce, so that the Go tests can demand bit-identical
// results without needing a C compiler:
//
//   ggmlref goldens DIR   writes DIR/inputs.bin and DIR/<TYPE>.bin
//   ggmlref tables        prints the IQ grid tables as Go source
//
// File layout (all little-endian; FNV-1a 64 hashes over the bytes, floats
// as their float32 bits):
//
//   inputs.bin:  "ZGGMLIN1", u32 rows, u32 n, rows*n float32
//   <TYPE>.bin:  "ZGGMLRF2", u32 type, u32 full, u32 nq, u32 n, u32 nr, then
//                nq u64      hash of each quantized row: ggml's quantize_<type>
//                            (NULL imatrix) of inputs row i, n elements
//                nq u64      hash of ggml's dequantize_row_<type> of that row
//                nr blocks   random blocks (random bytes, finite scales)
//                nr u64      hash of ggml's dequantize_row_<type> of each block
//                and if full is 1:
//                nq rows     the quantized rows themselves
//                nr*blck     the dequantized random blocks, float32
//
// nq is 0 for the types whose quantizer gguf/quant does not implement. The
// types gguf/quant had before this oracle existed get hashes only (full 0),
// which keeps the files small.
#define GGML_COMMON_DECL_C
#define GGML_COMMON_IMPL_C
#include "ggml-common.h"
#include "ggml-quants.h"
#include "ggml.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- The few ggml.c symbols that ggml-quants.c links against.

struct tinfo {
    const char * name;
    enum ggml_type type;
    int blck;   // elements per block
    int size;   // bytes per block
    size_t (*quantize)(const float *, void *, int64_t, int64_t, const float *);
    void (*dequantize)(const void *, float *, int64_t);
    int scale_off[2]; // offsets of fp16 scales (-1: none); see random_block
    int full;         // store quantized rows and dequantized blocks, not only hashes
};

static size_t q8_K_quantize(const float * src, void * dst, int64_t nrow, int64_t n, const float * imatrix) {
    (void)imatrix;
    quantize_row_q8_K_ref(src, dst, nrow*n);
    return (size_t)(nrow*n/QK_K)*sizeof(block_q8_K);
}

#define DQ(f) ((void (*)(const void *, float *, int64_t))(f))

static const struct tinfo types[] = {
    {"Q4_0",    GGML_TYPE_Q4_0,    QK4_0,  sizeof(block_q4_0),    quantize_q4_0,  DQ(dequantize_row_q4_0),    {0, -1}, 0},
    {"Q4_1",    GGML_TYPE_Q4_1,    QK4_1,  sizeof(block_q4_1),    quantize_q4_1,  DQ(dequantize_row_q4_1),    {0, 2}, 0},
    {"Q5_0",    GGML_TYPE_Q5_0,    QK5_0,  sizeof(block_q5_0),    quantize_q5_0,  DQ(dequantize_row_q5_0),    {0, -1}, 0},
    {"Q5_1",    GGML_TYPE_Q5_1,    QK5_1,  sizeof(block_q5_1),    quantize_q5_1,  DQ(dequantize_row_q5_1),    {0, 2}, 0},
    {"Q8_0",    GGML_TYPE_Q8_0,    QK8_0,  sizeof(block_q8_0),    quantize_q8_0,  DQ(dequantize_row_q8_0),    {0, -1}, 0},
    {"Q2_K",    GGML_TYPE_Q2_K,    QK_K,   sizeof(block_q2_K),    quantize_q2_K,  DQ(dequantize_row_q2_K),    {80, 82}, 1},
    {"Q3_K",    GGML_TYPE_Q3_K,    QK_K,   sizeof(block_q3_K),    quantize_q3_K,  DQ(dequantize_row_q3_K),    {108, -1}, 1},
    {"Q4_K",    GGML_TYPE_Q4_K,    QK_K,   sizeof(block_q4_K),    quantize_q4_K,  DQ(dequantize_row_q4_K),    {0, 2}, 0},
    {"Q5_K",    GGML_TYPE_Q5_K,    QK_K,   sizeof(block_q5_K),    quantize_q5_K,  DQ(dequantize_row_q5_K),    {0, 2}, 0},
    {"Q6_K",    GGML_TYPE_Q6_K,    QK_K,   sizeof(block_q6_K),    quantize_q6_K,  DQ(dequantize_row_q6_K),    {208, -1}, 0},
    {"Q8_K",    GGML_TYPE_Q8_K,    QK_K,   sizeof(block_q8_K),    q8_K_quantize,  DQ(dequantize_row_q8_K),    {-2, -1}, 0},
    {"IQ2_XXS", GGML_TYPE_IQ2_XXS, QK_K,   sizeof(block_iq2_xxs), NULL,           DQ(dequantize_row_iq2_xxs), {0, -1}, 1},
    {"IQ2_XS",  GGML_TYPE_IQ2_XS,  QK_K,   sizeof(block_iq2_xs),  NULL,           DQ(dequantize_row_iq2_xs),  {0, -1}, 1},
    {"IQ3_XXS", GGML_TYPE_IQ3_XXS, QK_K,   sizeof(block_iq3_xxs), NULL,           DQ(dequantize_row_iq3_xxs), {0, -1}, 1},
    {"IQ1_S",   GGML_TYPE_IQ1_S,   QK_K,   sizeof(block_iq1_s),   NULL,           DQ(dequantize_row_iq1_s),   {0, -1}, 1},
    {"IQ4_NL",  GGML_TYPE_IQ4_NL,  QK4_NL, sizeof(block_iq4_nl),  quantize_iq4_nl, DQ(dequantize_row_iq4_nl), {0, -1}, 1},
    {"IQ3_S",   GGML_TYPE_IQ3_S,   QK_K,   sizeof(block_iq3_s),   NULL,           DQ(dequantize_row_iq3_s),   {0, -1}, 1},
    {"IQ2_S",   GGML_TYPE_IQ2_S,   QK_K,   sizeof(block_iq2_s),   NULL,           DQ(dequantize_row_iq2_s),   {0, -1}, 1},
    {"IQ4_XS",  GGML_TYPE_IQ4_XS,  QK_K,   sizeof(block_iq4_xs),  quantize_iq4_xs, DQ(dequantize_row_iq4_xs), {0, -1}, 1},
    {"IQ1_M",   GGML_TYPE_IQ1_M,   QK_K,   sizeof(block_iq1_m),   NULL,           DQ(dequantize_row_iq1_m),   {-3, -1}, 1},
    {"TQ1_0",   GGML_TYPE_TQ1_0,   QK_K,   sizeof(block_tq1_0),   quantize_tq1_0, DQ(dequantize_row_tq1_0),   {52, -1}, 1},
    {"TQ2_0",   GGML_TYPE_TQ2_0,   QK_K,   sizeof(block_tq2_0),   quantize_tq2_0, DQ(dequantize_row_tq2_0),   {64, -1}, 1},
    // Appended last: the random blocks above keep their bytes.
    {"MXFP4",   GGML_TYPE_MXFP4,   QK_MXFP4, sizeof(block_mxfp4), quantize_mxfp4, DQ(dequantize_row_mxfp4),   {-1, -1}, 1},
    {"NVFP4",   GGML_TYPE_NVFP4,   QK_NVFP4, sizeof(block_nvfp4), quantize_nvfp4, DQ(dequantize_row_nvfp4),   {-1, -1}, 1},
    {"Q1_0",    GGML_TYPE_Q1_0,    QK1_0,  sizeof(block_q1_0),    quantize_q1_0,  DQ(dequantize_row_q1_0),    {0, -1}, 1},
    {"Q2_0",    GGML_TYPE_Q2_0,    QK2_0,  sizeof(block_q2_0),    quantize_q2_0,  DQ(dequantize_row_q2_0),    {0, -1}, 1},
};

#define NTYPES ((int)(sizeof(types)/sizeof(types[0])))

static const struct tinfo * find(enum ggml_type type) {
    for (int i = 0; i < NTYPES; i++) {
        if (types[i].type == type) return &types[i];
    }
    return NULL;
}

size_t ggml_row_size(enum ggml_type type, int64_t ne) {
    const struct tinfo * t = find(type);
    if (!t) {
        fprintf(stderr, "ggmlref: ggml_row_size: type %d\n", (int)type);
        exit(1);
    }
    return (size_t)(ne/t->blck*t->size);
}

size_t ggml_type_size(enum ggml_type type) {
    const struct tinfo * t = find(type);
    return t ? (size_t)t->size : 0;
}

const char * ggml_type_name(enum ggml_type type) {
    const struct tinfo * t = find(type);
    return t ? t->name : "?";
}

void ggml_abort(const char * file, int line, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ggmlref: ggml_abort at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

// ---- Deterministic pseudo-random numbers (splitmix64).

static uint64_t rng_state = 0x5a45524f4f474d4cULL;

static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unif(void) { return (double)(rnd() >> 11) * 0x1.0p-53; }

static double gauss(void) {
    double u = unif(), v = unif();
    return sqrt(-2*log(1 - u)) * cos(2*M_PI*v);
}

static double exp10u(double lo, double hi) { return pow(10, lo + (hi - lo)*unif()); }

// ---- Input rows.

#define NROWS 256
#define NPR 256

// fill_row writes row r: its kind is r%16 (see the cases).
static void fill_row(int r, float * x) {
    const int n = NPR;
    double s;
    switch (r % 16) {
    case 0: // standard normal
        for (int i = 0; i < n; i++) x[i] = (float)gauss();
        break;
    case 1: // normal, scale 1e-6..1e3
        s = exp10u(-6, 3);
        for (int i = 0; i < n; i++) x[i] = (float)(s*gauss());
        break;
    case 2: // uniform
        s = exp10u(-2, 2);
        for (int i = 0; i < n; i++) x[i] = (float)(s*(2*unif() - 1));
        break;
    case 3: // all zero, or whole 16-groups of zeros
        if (r < 64) {
            memset(x, 0, n*sizeof(float));
        } else {
            for (int g = 0; g < n/16; g++) {
                int z = unif() < 0.5;
                for (int i = 0; i < 16; i++) x[16*g + i] = z ? 0.0f : (float)gauss();
            }
        }
        break;
    case 4: { // all equal (either sign)
        float v = (float)((r/16) % 2 ? -exp10u(-4, 3) : exp10u(-4, 3));
        for (int i = 0; i < n; i++) x[i] = v;
        break;
    }
    case 5: // negative only
        s = exp10u(-3, 2);
        for (int i = 0; i < n; i++) x[i] = (float)(-s*fabs(gauss()));
        break;
    case 6: // positive only, with an offset
        s = exp10u(-3, 2);
        for (int i = 0; i < n; i++) x[i] = (float)(s*(fabs(gauss()) + 0.5));
        break;
    case 7: // tiny (down to float32 subnormals)
        s = exp10u(-40, -8);
        for (int i = 0; i < n; i++) x[i] = (float)(s*gauss());
        break;
    case 8: { // small noise with a few outliers
        for (int i = 0; i < n; i++) x[i] = (float)(0.01*gauss());
        int k = 1 + (int)(rnd() % 4);
        for (int j = 0; j < k; j++) {
            int i = (int)(rnd() % n);
            x[i] = (float)((rnd() & 1 ? -1 : 1) * (5 + 95*unif()));
        }
        break;
    }
    case 9: // sparse
        for (int i = 0; i < n; i++) x[i] = unif() < 0.05 ? (float)gauss() : 0.0f;
        break;
    case 10: // huge (fp16 scale overflow for some types)
        s = exp10u(2, 6);
        for (int i = 0; i < n; i++) x[i] = (float)(s*gauss());
        break;
    case 11: // small integers
        for (int i = 0; i < n; i++) x[i] = (float)nearbyint(4*gauss());
        break;
    case 12: // multiples of 1/8 (rounding ties)
        for (int i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 33) - 16) / 8;
        break;
    case 13: // normal, one constant 32-group in each row
        for (int i = 0; i < n; i++) x[i] = (float)gauss();
        {
            int g = (int)(rnd() % (n/32));
            float v = (float)gauss();
            for (int i = 0; i < 32; i++) x[32*g + i] = v;
        }
        break;
    case 14: // heavy tails
        for (int i = 0; i < n; i++) {
            double g = gauss();
            x[i] = (float)(g*g*g);
        }
        break;
    case 15: // a different scale per 32-group
        for (int g = 0; g < n/32; g++) {
            s = exp10u(-4, 2);
            for (int i = 0; i < 32; i++) x[32*g + i] = (float)(s*gauss());
        }
        break;
    }
}

// ---- Random blocks with finite scales.

static uint16_t finite_f16(void) {
    uint16_t sign = (uint16_t)(rnd() & 1) << 15;
    uint16_t e = (uint16_t)(rnd() % 31); // 0..30: zero/subnormal to large, never Inf/NaN
    uint16_t m = (uint16_t)(rnd() & 0x3ff);
    return sign | (uint16_t)(e << 10) | m;
}

static void random_block(const struct tinfo * t, uint8_t * p) {
    for (int i = 0; i < t->size; i++) p[i] = (uint8_t)rnd();
    for (int k = 0; k < 2; k++) {
        int o = t->scale_off[k];
        if (o >= 0) {
            uint16_t h = finite_f16();
            p[o] = (uint8_t)h;
            p[o + 1] = (uint8_t)(h >> 8);
        } else if (o == -2) { // Q8_K: float32 d
            float d = (float)(gauss()*exp10u(-3, 1));
            memcpy(p, &d, 4);
        } else if (o == -3) { // IQ1_M: fp16 scale in the top nibbles of the 4 uint16 scales
            uint16_t h = finite_f16();
            for (int j = 0; j < 4; j++) {
                p[48 + 2*j + 1] = (uint8_t)((p[48 + 2*j + 1] & 0x0f) | ((h >> (4*j)) & 0xf) << 4);
            }
        }
    }
}

// ---- Output.

static void put_u32(FILE * f, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static void put_f32s(FILE * f, const float * x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        put_u32(f, u);
    }
}

static FILE * create(const char * dir, const char * name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE * f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

#define NQ 256 // quantized rows per type

static uint64_t fnv(const void * p, size_t n) {
    const uint8_t * b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_u64(FILE * f, uint64_t v) {
    put_u32(f, (uint32_t)v);
    put_u32(f, (uint32_t)(v >> 32));
}

static int goldens(const char * dir) {
    static float in[NROWS*NPR];
    for (int r = 0; r < NROWS; r++) fill_row(r, in + r*NPR);
    FILE * f = create(dir, "inputs.bin");
    fwrite("ZGGMLIN1", 1, 8, f);
    put_u32(f, NROWS);
    put_u32(f, NPR);
    put_f32s(f, in, (size_t)NROWS*NPR);
    fclose(f);

    for (int ti = 0; ti < NTYPES; ti++) {
        const struct tinfo * t = &types[ti];
        const int nq = t->quantize ? NQ : 0;
        const int nr = t->blck == QK_K ? 32 : 128; // random blocks
        const size_t rowbytes = (size_t)(NPR/t->blck*t->size);
        uint8_t * q = calloc((size_t)NQ, rowbytes);
        float * y = calloc(NPR, sizeof(float));
        uint64_t * hq = calloc(NQ, 8), * hy = calloc(NQ, 8), * hb = calloc((size_t)nr, 8);
        uint8_t * blocks = calloc((size_t)nr, (size_t)t->size);
        float * yb = calloc((size_t)nr*t->blck, sizeof(float));
        for (int r = 0; r < nq; r++) {
            // Row by row, as llama-quantize's chunks would; for every type
            // here the result does not depend on how rows are grouped.
            t->quantize(in + r*NPR, q + r*rowbytes, 1, NPR, NULL);
            t->dequantize(q + r*rowbytes, y, NPR);
            hq[r] = fnv(q + r*rowbytes, rowbytes);
            hy[r] = fnv(y, NPR*sizeof(float));
        }
        for (int b = 0; b < nr; b++) {
            random_block(t, blocks + b*t->size);
            t->dequantize(blocks + b*t->size, yb + b*t->blck, t->blck);
            hb[b] = fnv(yb + b*t->blck, (size_t)t->blck*sizeof(float));
        }
        char name[64];
        snprintf(name, sizeof name, "%s.bin", t->name);
        f = create(dir, name);
        fwrite("ZGGMLRF2", 1, 8, f);
        put_u32(f, (uint32_t)t->type);
        put_u32(f, (uint32_t)t->full);
        put_u32(f, (uint32_t)nq);
        put_u32(f, NPR);
        put_u32(f, (uint32_t)nr);
        for (int r = 0; r < nq; r++) put_u64(f, hq[r]);
        for (int r = 0; r < nq; r++) put_u64(f, hy[r]);
        fwrite(blocks, 1, (size_t)nr*t->size, f);
        for (int b = 0; b < nr; b++) put_u64(f, hb[b]);
        if (t->full) {
            fwrite(q, 1, nq*rowbytes, f);
            put_f32s(f, yb, (size_t)nr*t->blck);
        }
        fclose(f);
        free(q);
        free(y);
        free(hq);
        free(hy);
        free(hb);
        free(blocks);
        free(yb);
    }
    return 0;
}

// ---- Tables as Go source.

static void table_u64(const char * name, const char * what, const uint64_t * v, int n) {
    printf("\n// %s is ggml's %s.\nvar %s = [%d]uint64{\n", name, what, name, n);
    for (int i = 0; i < n; i++) {
        printf("%s0x%016llx,%s", i % 4 ? " " : "\t", (unsigned long long)v[i], i % 4 == 3 ? "\n" : "");
    }
    printf("}\n");
}

static void table_u32(const char * name, const char * what, const uint32_t * v, int n) {
    printf("\n// %s is ggml's %s.\nvar %s = [%d]uint32{\n", name, what, name, n);
    for (int i = 0; i < n; i++) {
        printf("%s0x%08x,%s", i % 8 ? " " : "\t", v[i], i % 8 == 7 ? "\n" : "");
    }
    printf("}\n");
}

static void table_u8(const char * name, const char * what, const uint8_t * v, int n) {
    printf("\n// %s is ggml's %s.\nvar %s = [%d]uint8{\n", name, what, name, n);
    for (int i = 0; i < n; i++) {
        printf("%s%d,%s", i % 16 ? " " : "\t", v[i], i % 16 == 15 ? "\n" : "");
    }
    printf("}\n");
}

static int tables(void) {
    printf("// Code generated by tools/ggmlref (ggmlref tables) from ggml/src/ggml-common.h; DO NOT EDIT.\n\n");
    printf("package quant\n");
    table_u8("ksignsIQ2XS", "ksigns_iq2xs: 7 sign bits plus an even-parity eighth", ksigns_iq2xs, 128);
    table_u64("iq2xxsGrid", "iq2xxs_grid: 8 magnitudes (bytes) per entry", iq2xxs_grid, 256);
    table_u64("iq2xsGrid", "iq2xs_grid: 8 magnitudes (bytes) per entry", iq2xs_grid, 512);
    table_u64("iq2sGrid", "iq2s_grid: 8 magnitudes (bytes) per entry", iq2s_grid, 1024);
    table_u32("iq3xxsGrid", "iq3xxs_grid: 4 magnitudes (bytes) per entry", iq3xxs_grid, 256);
    table_u32("iq3sGrid", "iq3s_grid: 4 magnitudes (bytes) per entry", iq3s_grid, 512);
    table_u64("iq1sGrid", "iq1s_grid: 8 values in -1..1 (int8 bytes) per entry", iq1s_grid, NGRID_IQ1S);
    printf("\n// kvaluesIQ4NL is ggml's kvalues_iq4nl: the 16 IQ4_NL and IQ4_XS levels.\nvar kvaluesIQ4NL = [16]int8{");
    for (int i = 0; i < 16; i++) printf("%s%d", i ? ", " : "", kvalues_iq4nl[i]);
    printf("}\n");
    return 0;
}

int main(int argc, char ** argv) {
    if (argc == 3 && strcmp(argv[1], "goldens") == 0) return goldens(argv[2]);
    if (argc == 2 && strcmp(argv[1], "tables") == 0) return tables();
    fprintf(stderr, "usage: ggmlref goldens DIR | ggmlref tables\n");
    return 2;
}
