#!/usr/bin/env bash
# tokenize_check.sh LLAMA_BIN [TEXT_FILE]: encode a text file with Google's
# real Gemma 3 vocabulary through llama.cpp's llama-tokenize and through
# `zerfoo tokenize`, check that the ids are the same, and print both
# programs' wall time end to end (vocabulary load and printing included).
# Without TEXT_FILE it encodes this repository's docs and Go sources (about
# 1.3 MB). Needs tools/hf/node_modules (npm ci in tools/hf) for the
# tokenizer.json, and LLAMA_BIN from ../shared/tools/build-llamacpp.sh.
set -euo pipefail
bin=${1:?usage: tokenize_check.sh LLAMA_BIN [TEXT_FILE]}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
text=${2:-$work/text.txt}
if [[ -z ${2:-} ]]; then
	(cd "$root" && cat docs/*.md README.md && find . -name '*.go' -not -path './tools/*' | LC_ALL=C sort | head -150 | xargs cat) | head -c 2000000 >"$text"
fi
(cd "$root" && go test -count=1 -run TestHFGemma3GGUFPath ./tokenizer -args -hf-gguf "$work/vocab.gguf" >/dev/null)
(cd "$root" && env -u GODEBUG go build -o "$work/zerfoo" ./cmd/zerfoo)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
t0=$(date +%s.%N)
"$bin/llama-tokenize" -m "$work/vocab.gguf" -f "$text" --ids --no-escape --log-disable 2>/dev/null | tail -1 | tr -d '[] ' | tr ',' '\n' >"$work/llama.ids"
t1=$(date +%s.%N)
"$work/zerfoo" tokenize --model "$work/vocab.gguf" - <"$text" | tail -n +2 | awk '{print $1}' >"$work/zerfoo.ids"
t2=$(date +%s.%N)
n=$(wc -l <"$work/zerfoo.ids")
echo "text: $(wc -c <"$text") bytes; llama-tokenize $(wc -l <"$work/llama.ids") tokens in $(secs "$t0" "$t1") s; zerfoo tokenize $n tokens in $(secs "$t1" "$t2") s"
if cmp -s "$work/llama.ids" "$work/zerfoo.ids"; then
	echo "ids: identical"
else
	echo "ids: DIFFERENT (first differing line below)"
	diff "$work/llama.ids" "$work/zerfoo.ids" | head -5
	exit 1
fi
