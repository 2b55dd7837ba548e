"""Writes the ONNX backend test data (node, simple, real) with the installed
onnx package: python3 gen.py OUTDIR. Used by generate.sh.

onnx 1.12's case generators use numpy aliases that numpy 1.24 removed
(np.float, np.int, np.bool, np.object, np.complex, np.str); they are put back
as the builtins they aliased before the generators are imported.
"""
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore", FutureWarning)

for alias, builtin in [("float", float), ("int", int), ("bool", bool),
                       ("object", object), ("complex", complex), ("str", str)]:
    if not hasattr(np, alias):
        setattr(np, alias, builtin)

from onnx.backend.test.cmd_tools import main  # noqa: E402

if len(sys.argv) != 2:
    sys.exit("usage: gen.py OUTDIR")
sys.argv = ["gen.py", "generate-data", "-o", sys.argv[1]]
main()
