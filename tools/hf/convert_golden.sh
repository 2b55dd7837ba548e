#!/bin/sh
# Remake testdata/hf/convert_golden.json: the hf package's golden folders
# converted by llama.cpp's convert_hf_to_gguf.py (see convert_reference.py).
#   tools/hf/convert_golden.sh LLAMA_CPP_DIR
# Needs python3 with torch, numpy, pyyaml and tqdm
# (Debian: python3-torch python3-numpy python3-yaml python3-tqdm).
set -eu
llama=${1:?usage: tools/hf/convert_golden.sh LLAMA_CPP_DIR}
py=${PYTHON:-python3}
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test ./hf -run '^TestConvertGolden$' -hf.golden-dirs "$work" >/dev/null
for spec in bf16-sharded:auto bf16-sharded:f16 bf16-sharded:f32 f16-multimodal:auto f32:auto f32:bf16; do
	name=${spec%%:*} outtype=${spec##*:}
	"$py" tools/hf/convert_reference.py "$llama" "$work/$name" "$work/$name-$outtype.gguf" "$outtype" >"$work/$name-$outtype.log" 2>&1 ||
		{ cat "$work/$name-$outtype.log"; exit 1; }
done
go test ./hf -run '^TestConvertGolden$' -hf.golden-update "$work"
go test ./hf -run '^TestConvertGolden$' -v
