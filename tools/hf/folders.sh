#!/bin/sh
# folders.sh — issue 17's "done when" at gemma-3-270m's shapes: one
# random-weight Gemma 3 on the int4 grid as a Hugging Face folder (F32,
# BF16), as `zerfoo convert` GGUFs (F32, BF16, Q8_0, Q4_0), as a
# llama-quantize --pure Q4_0 GGUF and as onnxruntime-genai exports (2025
# layout; 2026 layout at accuracy_level 0 and 4) through generate.Load,
# each against the F32 folder (greedy tokens, log-probabilities), and the
# converted GGUFs against llama.cpp on the same files (node-llama-cpp).
# The tiny shape runs in `go test ./integration` with goldens.
#
#   tools/hf/folders.sh [DIR]      # DIR keeps the files (about 4 GB)
#
# Needs: Node ≥ 20 (tools/llamacpp: npm ci), llama-quantize (LLAMA_QUANTIZE
# or on PATH; /work/shared/tools/build-llamacpp.sh builds llama.cpp).
set -eu
cd "$(dirname "$0")/../.."
DIR=${1:-${TMPDIR:-/tmp}/zerfoo-folders-270m}
mkdir -p "$DIR"
LQ=${LLAMA_QUANTIZE:-$(command -v llama-quantize || true)}
[ -d tools/llamacpp/node_modules ] || (cd tools/llamacpp && npm ci)
exec go test ./integration -run 'TestFolderFormats$' -count=1 -v -timeout 90m \
	-folders.shape 270m -folders.dir "$DIR" -folders.llama-quantize "$LQ" -folders.llamacpp
