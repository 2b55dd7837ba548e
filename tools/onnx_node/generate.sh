#!/bin/sh
# generate.sh: writes the ONNX backend node tests (one directory per test:
# model.onnx, test_data_set_*/input_N.pb, output_N.pb) that
# onnx/exec's TestNodeSuite runs.
#
#   apt-get install python3-onnx        # Debian/Ubuntu: onnx 1.12 + numpy
#   tools/onnx_node/generate.sh [OUTDIR] # default /tmp/onnx-node
#
# It runs the system python (/usr/bin/python3, where apt installs onnx; a
# pyenv or venv python without onnx will not do; set PYTHON to override).
# OUTDIR/node then holds the node tests (922 with onnx 1.12). Run the suite:
#
#   ZERFOO_ONNX_NODE_DIR=OUTDIR/node go test ./onnx/exec -run TestNodeSuite -v
#   ZERFOO_ONNX_NODE_DIR=OUTDIR/node ZERFOO_ONNX_NODE_REPORT=/tmp/report.txt \
#       go test ./onnx/exec -run 'TestNodeSuite/test_conv'
#
# and the ONNX Runtime baseline over the same tests and tolerances:
#
#   (cd tools/ort && npm ci) && node tools/onnx_node/ort_suite.mjs OUTDIR/node
#
# tools/onnx_node/subset.sh copies the small passing tests into
# onnx/exec/testdata/node, which CI runs.
set -eu
out=${1:-/tmp/onnx-node}
python=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
"$python" -c 'import onnx' 2>/dev/null || {
	echo "generate.sh: $python has no onnx module; apt-get install python3-onnx" >&2
	exit 1
}
mkdir -p "$out"
"$python" "$here/gen.py" "$out"
echo "generate.sh: $(ls "$out/node" | wc -l) node tests in $out/node (onnx $("$python" -c 'import onnx; print(onnx.__version__)'))"
