"""Print the per-edge thresholds of calibrated modules side by side.

    python examples/threshold_table.py max.mlir kl.mlir [more.mlir ...]

Each module is the output of the same pipeline with a different calibration
method (e.g. `hago-calibrate{data=... method=kl}`); edges are matched by order.
Weights show the range of their per-channel thresholds.
"""

from __future__ import annotations

import sys

from hago_ir.dialects import qsim
from hago_ir.tools.diagnostics import run_cli
from hago_ir.tools.hago_run import load_module


def _describe(op: qsim.SimulatedQuantizeOp) -> str:
    if op.threshold is None:
        return "-"
    values = [t.value.data for t in op.threshold.data]
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{min(values):.3g}..{max(values):.3g} ({len(values)} ch)"


def main(paths: list[str]) -> int:
    modules = [load_module(path) for path in paths]
    columns = [[op for op in m.walk() if isinstance(op, qsim.SimulatedQuantizeOp)] for m in modules]
    header = f"{'edge':44} {'kind':10} {'dtype':6}" + "".join(f" {p.rsplit('/', 1)[-1]:>22}" for p in paths)
    print(header)
    for ops in zip(*columns):
        first = ops[0]
        dtype = ("u" if not first.signed.value.data else "i") + str(first.dtype.width.data)
        owner = first.input.owner
        if isinstance(owner, qsim.ConstantOp) and owner.sym_name is not None:
            name = owner.sym_name.data[:44]  # the ONNX initializer's own name
        else:
            name = (first.input.name_hint or "?")[:44]
        print(f"{name:44} {first.kind.data:10} {dtype:6}" + "".join(f" {_describe(op):>22}" for op in ops))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("threshold_table", lambda: main(sys.argv[1:])))
