#!/bin/sh
# Zerfoo vs real llama.cpp (llama-bench) on llama-quantize's standard mixes of
# random Gemma 3 models with the real 262144-token vocabulary size:
# prompt (128 tokens, one batch) and generation (64 tokens) speed at 1 and 2
# threads, Zerfoo's peak RSS against the file, and a Markdown table of
# both and their ratios (the tables in docs/PERFORMANCE.md).
#
#   tools/llamacpp/bench_mixes.sh LLAMA_BIN_DIR [DIR]
#
# LLAMA_BIN_DIR holds llama-quantize and llama-bench, built by
# ../shared/tools/build-llamacpp.sh. The models are written into DIR
# (default: a new temporary directory) once and reused. Env: PRESETS
# (default "270m 1b"), MIXES (default "Q4_0 Q4_K_M Q5_K_M Q6_K Q3_K_M
# IQ4_XS Q8_0 F16 BF16"), THREADS (default 1,2), BENCHTIME (Go, default
# 3s), DECODE_BENCHTIME (Go, for the decode sub-benchmarks; default
# BENCHTIME: give a slow model's decode a step count such as 64x, as
# llama-bench's tg64 has, since a few seconds of a 4b F16 decode are only a
# handful of steps, all inside tune.Prefetch's trial of both kernels),
# REPS (llama-bench repetitions, default 5), PASSES (default 1),
# DEPTH (default 0: with N > 0 only generation runs, each token after N
# cached ones: -gemma3.depth and llama-bench -d, the table's tg columns),
# PROMPT (default 128: prompt tokens, -gemma3.prompt and llama-bench -p;
# above 512 Zerfoo prefills in steps of 512, llama-bench's default -ub).
# LLAMA_ARGS adds llama-bench flags (e.g. "-mmp 0": weights read into memory
# rather than mapped, as Zerfoo's loader copies them).
set -eu
bin=$(cd "${1:?usage: bench_mixes.sh LLAMA_BIN_DIR [DIR]}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${2:-$(mktemp -d)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
presets=${PRESETS:-"270m 1b"}
mixes=${MIXES:-"Q4_0 Q4_K_M Q5_K_M Q6_K Q3_K_M IQ4_XS Q8_0 F16 BF16"}
threads=${THREADS:-1,2}
depth=${DEPTH:-0}
lprompt=${PROMPT:-128}
if [ "$depth" -gt 0 ]; then
	lprompt=0
fi
cd "$root"
# Build without the caller's GODEBUG (it is for the runs, e.g. a tier's
# cpu.* settings): the go command caches its vet step's output, and a
# runtime warning printed under GODEBUG would be replayed by later vets.
env -u GODEBUG go test -c -o "$dir/gemma3.test" ./models/gemma3
files=""
for p in $presets; do
	src="$dir/gemma3-$p-F16.gguf"
	[ -f "$src" ] || env -u GODEBUG go run ./tools/llamacpp/mkmodel --preset "$p" --type F16 --out "$src"
	for mix in $mixes; do
		f="$dir/gemma3-$p-$mix.gguf"
		if [ ! -f "$f" ]; then
			if [ "$mix" = F16 ]; then
				cp "$src" "$f"
			else
				"$bin/llama-quantize" "$src" "$f" "$mix" 2 >"$f.log" 2>&1
			fi
		fi
		files="$files${files:+,}$f"
	done
done
# Zerfoo and llama-bench alternate file by file, PASSES times (default 1),
# so that both see the same machine; the table keeps each side's best.
: >"$dir/zerfoo.txt"
: >"$dir/llama.jsonl"
pass=0
while [ "$pass" -lt "${PASSES:-1}" ]; do
	for f in $(echo "$files" | tr , ' '); do
		# Prompt and memory (none with DEPTH), then decode with its own
		# benchtime.
		if [ "$depth" -eq 0 ]; then
			"$dir/gemma3.test" -test.run '^$' -test.bench Gemma270m -test.skip 'Gemma270m/.*/threads=.*/decode' \
				-test.benchtime "${BENCHTIME:-3s}" -gemma3.files "$f" -gemma3.threads "$threads" -gemma3.prompt "$lprompt" | tee -a "$dir/zerfoo.txt"
		fi
		"$dir/gemma3.test" -test.run '^$' -test.bench 'Gemma270m/.*/threads=.*/decode' \
			-test.benchtime "${DECODE_BENCHTIME:-${BENCHTIME:-3s}}" -gemma3.files "$f" -gemma3.threads "$threads" \
			-gemma3.depth "$depth" | tee -a "$dir/zerfoo.txt"
		# shellcheck disable=SC2086 # LLAMA_ARGS is a list of flags
		"$bin/llama-bench" -m "$f" -p "$lprompt" -n 64 -d "$depth" -t "$threads" -r "${REPS:-5}" ${LLAMA_ARGS:-} -o jsonl | tee -a "$dir/llama.jsonl"
	done
	pass=$((pass + 1))
done
PROMPT=$lprompt node "$root/tools/llamacpp/compare_mixes.mjs" "$dir/zerfoo.txt" "$dir/llama.jsonl"
