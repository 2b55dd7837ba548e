#!/bin/sh
# `zerfoo quantize --type MIX` against llama-quantize for every llama.cpp
# file type Zerfoo knows (Q4_0 … Q6_K, IQ4_NL, IQ4_XS, F16, BF16, F32).
#
#   tools/llamacpp/quantize_mixes.sh [DIR]
#
# 1. The quantize package's test binary writes, into DIR (default: a new
#    temporary directory), random-weight Gemma 3 GGUF files: tiny640-F32 and
#    tiny640-F16 (hidden 640 as gemma-3-270m, so rows of 640 take the
#    fallback types; 8 layers, 4 query heads sharing 1 KV head) and
#    tiny256-F32 (hidden 256); and full-size tables of zeros, 270m-F16,
#    1b-F16 and 4b-F16 (hidden 2560, 2 query heads per KV head), as sparse
#    files, for --dry-run only.
# 2. For every model and mix it runs `llama-quantize IN OUT MIX` and
#    `zerfoo quantize --in IN --out OUT --type MIX`, and compares the two
#    outputs with cmp. For the dry-run models it runs
#    `llama-quantize --dry-run` and keeps the log.
# 3. The test binary compares every pair tensor by tensor (type, shape,
#    data bytes) and the metadata, prints a summary, and with RECORD=1
#    rewrites testdata/quantize/llamacpp_mixes.json (llama-quantize's
#    tensor types and SHA-256s, and whether Zerfoo was byte-identical), which
#    `go test ./quantize/` checks without llama.cpp.
#
# LLAMA_QUANTIZE (default /work/llama/bin/llama-quantize) is the binary.
# cmp's verdict per model and mix is in DIR/cmp.txt.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
lq=${LLAMA_QUANTIZE:-/work/llama/bin/llama-quantize}
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$root"
[ -x "$lq" ] || { echo "no llama-quantize at $lq (set LLAMA_QUANTIZE)" >&2; exit 1; }

mixes="Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS F16 BF16 F32"
env -u GODEBUG go build -o "$dir/zerfoo" ./cmd/zerfoo
env -u GODEBUG go test -c -o "$dir/quantize.test" ./quantize # GODEBUG is for the runs (see bench_mixes.sh)
(cd quantize && "$dir/quantize.test" -test.run '^TestLlamaQuantizeMixes$' -mixes.dir "$dir" -mixes.write)

: >"$dir/cmp.txt"
for model in tiny640-F32 tiny640-F16 tiny256-F32; do
	for mix in $mixes; do
		in="$dir/$model.gguf"
		l="$dir/$model.llama.$mix.gguf"
		z="$dir/$model.zerfoo.$mix.gguf"
		rm -f "$l" "$z"
		"$lq" "$in" "$l" "$mix" 1 >"$dir/$model.llama.$mix.log" 2>&1 ||
			echo "llama-quantize $model $mix failed: $dir/$model.llama.$mix.log" >&2
		"$dir/zerfoo" quantize --in "$in" --out "$z" --type "$mix" >"$dir/$model.zerfoo.$mix.log" 2>&1 ||
			echo "zerfoo quantize $model $mix failed: $(tail -1 "$dir/$model.zerfoo.$mix.log")" >&2
		if [ -f "$l" ] && [ -f "$z" ] && cmp -s "$l" "$z"; then
			echo "$model $mix identical" >>"$dir/cmp.txt"
		else
			echo "$model $mix DIFFERENT" >>"$dir/cmp.txt"
		fi
	done
done
for model in 270m-F16 1b-F16 4b-F16; do
	for mix in $mixes; do
		"$lq" --dry-run "$dir/$model.gguf" "$mix" >"$dir/$model.dry.$mix.log" 2>&1 ||
			echo "llama-quantize --dry-run $model $mix failed: $dir/$model.dry.$mix.log" >&2
	done
done

record=
[ "${RECORD:-0}" = 1 ] && record=-mixes.record
(cd quantize && "$dir/quantize.test" -test.run '^TestLlamaQuantizeMixes$' -test.v -mixes.dir "$dir" $record) |
	sed -n '/summary:/,$p'
echo "cmp: $(grep -c identical "$dir/cmp.txt") of $(wc -l <"$dir/cmp.txt") identical ($dir/cmp.txt)"
