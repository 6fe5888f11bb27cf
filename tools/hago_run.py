"""`hago-run`: run a module (or an ONNX model) in the reference interpreter.

A realized module (qnn dialect) runs in the bit-exact integer interpreter.

    hago-run MODULE.mlir --inputs IN.npz [--output OUT.npz] [--function main]

Like `xdsl-run`: inputs are read from an .npz keyed by the model's input names
(or `input` for a single-input model); outputs are written to an .npz keyed by
the output names (atomically), and a summary of each output is printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
from hago_ir.tools.diagnostics import run_cli

from hago_ir.model_io import load_module


def _summary(name: str, array: np.ndarray) -> str:
    line = f"{name}: {array.dtype}{list(array.shape)}"
    if array.size:
        line += f" min {array.min():.6g} max {array.max():.6g} mean {array.mean():.6g}"
    if array.ndim == 2 and array.shape[1] > 1:
        line += f" argmax {array.argmax(axis=1).tolist()[:16]}"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hago-run", description="Run a qsim module in hago's reference interpreter."
    )
    parser.add_argument("module", help="a .mlir file in the qsim dialect, or an .onnx model")
    parser.add_argument("--inputs", required=True, help=".npz with one array per model input")
    parser.add_argument("--output", help="write the outputs to this .npz")
    parser.add_argument("--function", help="function to run (default: @main)")
    args = parser.parse_args(argv)

    def body() -> int:
        from hago_ir.interpreter import run_module
        from hago_ir.model_io import load_npz, save_npz_atomically

        module = load_module(args.module)
        inputs = load_npz(args.inputs)
        if any(op.dialect_name() == "qnn" for op in module.walk()):
            from hago_ir.integer_interpreter import run_integer_module

            outputs = run_integer_module(module, inputs, args.function)  # a realized, integer model
        else:
            outputs = run_module(module, inputs, args.function)
        if args.output:
            save_npz_atomically(args.output, outputs)
        for name, array in outputs.items():
            print(_summary(name, array))
        return 0

    return run_cli("hago-run", body)


if __name__ == "__main__":
    sys.exit(main())
