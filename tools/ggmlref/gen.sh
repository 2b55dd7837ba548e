#!/bin/sh
# Regenerates gguf/quant's ggml goldens and IQ grid tables from llama.cpp's
# ggml sources. Usage: tools/ggmlref/gen.sh [LLAMA_SRC] (default /work/llama/src).
set -eu
LLAMA=${1:-/work/llama/src}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The flags of llama.cpp's ggml-base target (Release): -O3, no -march, so no
# FMA contraction, as in the ggml-quants.c that llama-quantize runs.
gcc -std=gnu11 -O3 -DNDEBUG -w \
    -I"$LLAMA/ggml/include" -I"$LLAMA/ggml/src" \
    "$ROOT/tools/ggmlref/ggmlref.c" "$LLAMA/ggml/src/ggml-quants.c" \
    -o "$TMP/ggmlref" -lm

OUT="$ROOT/gguf/quant/testdata/ggml"
mkdir -p "$TMP/g" "$OUT"
"$TMP/ggmlref" goldens "$TMP/g"
rm -f "$OUT"/*.bin.gz
for f in "$TMP"/g/*.bin; do
    gzip -9n <"$f" >"$OUT/$(basename "$f").gz"
done
"$TMP/ggmlref" tables >"$TMP/tables.go"
gofmt "$TMP/tables.go" >"$ROOT/gguf/quant/iquant_tables.go"
echo "llama.cpp $(git -C "$LLAMA" rev-parse --short HEAD 2>/dev/null || echo '?')" >"$OUT/SOURCE"
