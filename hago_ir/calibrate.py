"""Calibration: a threshold on every simulated quantize, from the float model's statistics.

Behind `hago-calibrate{data=FILE.npz method=...}`, after hago-insert-simq. The
float model (simulated quantize ops passing values through) runs over the
calibration set one model-sized batch at a time; an interpreter listener feeds
the values reaching each input / activation simulated quantize to one streaming
`EdgeStatistics` (memory does not grow with the number of samples). Then:
- input and activation edges: `threshold(statistics, method)`, one per tensor;
- weights: one threshold per output channel (max |w| along the simq's axis);
- biases: none: they are quantized to their accumulator's grid, which follows
  from the input and weight scales.
With `pow2` (or a spec with power-of-two scales) every threshold is rounded up
to a power of two, so that requantization becomes a shift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.dialects.builtin import ArrayAttr, ModuleOp
from xdsl.interpreter import Interpreter
from xdsl.ir import Operation

from hago_ir.calibration_stats import (
    METHODS,
    EdgeStatistics,
    round_to_power_of_two,
    threshold,
    weight_thresholds,
)
from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import float_attr
from hago_ir.errors import HagoError
from hago_ir.interpreter import make_interpreter
from hago_ir.model_io import calibration_batches, find_function

POW2_ATTR = "hago.pow2_scales"


class _StatisticsListener(Interpreter.Listener):
    def __init__(self, edges: dict[qsim.SimulatedQuantizeOp, EdgeStatistics]) -> None:
        self.edges = edges

    def will_interpret_op(self, op: Operation, args: tuple[Any, ...]) -> None:
        statistics = self.edges.get(op)  # type: ignore[call-overload]
        if statistics is not None:
            statistics.update(args[0])


def _set_thresholds(op: qsim.SimulatedQuantizeOp, values: np.ndarray, pow2: bool) -> None:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if pow2:
        values = np.array([round_to_power_of_two(float(v)) for v in values])
    op.threshold = ArrayAttr([float_attr(float(v)) for v in values])


def calibrate(
    module: ModuleOp, data: dict[str, np.ndarray], method: str = "max", percentile: float = 99.999,
    pow2: bool = False, num_bins: int = 2048, source: str = "calibration data",
) -> dict[str, int]:
    """Write thresholds on every simulated quantize of `module`; returns a small summary."""
    if method not in METHODS:
        raise HagoError(f"unknown calibration method '{method}' (choose from {', '.join(METHODS)})")
    if not 0 < percentile <= 100:
        raise HagoError(f"percentile {percentile} must be in (0, 100]")
    pow2 = pow2 or POW2_ATTR in module.attributes
    function = find_function(module)
    simqs = [op for op in function.walk() if isinstance(op, qsim.SimulatedQuantizeOp)]
    if not simqs:
        raise HagoError("the module has no qsim.simulated_quantize to calibrate: run hago-insert-simq first")
    batches = calibration_batches(function, data, source)

    edges = {op: EdgeStatistics(num_bins) for op in simqs if op.kind.data in ("input", "activation")}
    interpreter = make_interpreter(module, [_StatisticsListener(edges)], simulate_quantization=False)
    for batch in batches:
        args = [batch[name] for name in batch]
        interpreter.call_op(function, tuple(args))

    for op, statistics in edges.items():
        value = threshold(
            statistics, method, bits=op.effective_bits.value.data, signed=bool(op.signed.value.data),
            percentile=percentile,
        )
        _set_thresholds(op, np.array([value]), pow2)
    for op in simqs:
        if op.kind.data == "weight":
            owner = op.input.owner
            if not isinstance(owner, qsim.ConstantOp):
                raise HagoError(f"weight edge '{op.input.name_hint}' is not a constant")
            axis = None if op.axis is None else op.axis.value.data
            _set_thresholds(op, weight_thresholds(owner.to_array().astype(np.float64), axis), pow2)
    return {"batches": len(batches), "edges": len(edges), "weights": sum(op.kind.data == "weight" for op in simqs)}
