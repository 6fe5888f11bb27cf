"""Simulated-quantize insertion: the search space, written into the graph.

Behind `hago-insert-simq`, after hago-topology. Every edge into an integer op
gets a `qsim.simulated_quantize` with the dtype that op's rule reads; every
edge out of an integer op into a float op (or out of the function) gets one
with the op's output dtype, so the float consumer sees what the integer op
would hand it. Each carries:
- `kind`: input (a function argument), weight (a constant), bias (a conv2d /
  dense bias, held in the accumulator) or activation;
- `dtype`, `signed` (from the rule: unsigned only where topology proved the
  edge non-negative), and the effective-bit range [min(4, width), width],
  starting at the maximum; a bias is fixed at its accumulator's full width;
- `axis` = 0 for conv2d / dense weights (per-output-channel thresholds);
- `accumulator` and `overflow` on the output edges of integer conv2d / dense:
  the interpreter simulates the sum held in that accumulator, wrapping or
  saturating, before requantizing it.
A conv2d / dense / add whose result goes only into integer ReLU / Clip ops is
fused with them, as int8 kernels do: the edge between them gets a simulated
quantize of kind `accumulator` (the sums as the accumulator holds them, not
re-quantized, no search over it), so the first real quantization is the
ReLU's output, unsigned and within [0, 6] for ReLU6, instead of a signed edge
over the conv's whole range that the ReLU then halves.
One simulated quantize is shared by all consumers that need the same thing.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
)
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import int_attr
from hago_ir.topology import (
    ACCUMULATOR,
    INPUTS,
    OUTPUT,
    OVERFLOW,
    data_operands,
    is_compute_op,
    is_quantized,
)

MIN_EFFECTIVE_BITS = 4


def _signless(type_: IntegerType) -> IntegerType:
    return IntegerType(type_.width.data)


_FUSABLE_PRODUCERS = (qsim.Conv2dOp, qsim.DenseOp, qsim.AddOp)
_FUSABLE_ACTIVATIONS = (qsim.ReluOp, qsim.ClipOp)


def _fused_accumulator(value: SSAValue) -> IntegerType | None:
    """The accumulator type when `value` (an integer conv2d / dense / add result) feeds only integer ReLU / Clip."""
    producer = value.owner
    if not isinstance(producer, _FUSABLE_PRODUCERS) or not is_quantized(producer):
        return None
    users = [use.operation for use in value.uses]
    if not users or not all(isinstance(u, _FUSABLE_ACTIVATIONS) and is_quantized(u) for u in users):
        return None
    accumulator = producer.attributes.get(ACCUMULATOR)
    return accumulator if isinstance(accumulator, IntegerType) else None


def _kind(value: SSAValue) -> str:
    if isinstance(value, BlockArgument):
        return "input"
    if isinstance(value.owner, qsim.ConstantOp):
        return "weight"
    return "activation"


def _accumulator_of(producer: Operation | Block) -> tuple[IntegerType, str] | None:
    """The accumulator an integer conv2d / dense hands its sums over in."""
    if not isinstance(producer, (qsim.Conv2dOp, qsim.DenseOp)) or not is_quantized(producer):
        return None
    accumulator = producer.attributes.get(ACCUMULATOR)
    overflow = producer.attributes.get(OVERFLOW)
    if not isinstance(accumulator, IntegerType):
        return None
    return accumulator, overflow.data if isinstance(overflow, StringAttr) else "wrap"


def make_simulated_quantize(
    value: SSAValue, kind: str, dtype: IntegerType, axis: int | None = None,
    accumulator: tuple[IntegerType, str] | None = None,
) -> qsim.SimulatedQuantizeOp:
    width = dtype.width.data
    low = width if kind in ("bias", "accumulator") else min(MIN_EFFECTIVE_BITS, width)
    properties = {
        "kind": StringAttr(kind),
        "dtype": _signless(dtype),
        "signed": BoolAttr.from_bool(dtype.signedness.data != Signedness.UNSIGNED),
        "effective_bits": int_attr(width),
        "min_bits": int_attr(low),
        "max_bits": int_attr(width),
    }
    if axis is not None:
        properties["axis"] = int_attr(axis)
    if accumulator is not None:
        properties["accumulator"] = _signless(accumulator[0])
        properties["overflow"] = StringAttr(accumulator[1])
    op = qsim.SimulatedQuantizeOp(value, properties)
    if value.name_hint:
        op.output.name_hint = f"{value.name_hint}.q"
    return op


class _Inserter:
    def __init__(self) -> None:
        # (value, kind, dtype, axis, accumulator) -> the simulated quantize already made
        self.made: dict[tuple, SSAValue] = {}

    def quantized(self, value: SSAValue, kind: str, dtype: IntegerType, axis: int | None) -> SSAValue:
        accumulator = _accumulator_of(value.owner) if kind in ("activation", "accumulator") else None
        key = (value, kind, dtype, axis, accumulator)
        if key not in self.made:
            op = make_simulated_quantize(value, kind, dtype, axis, accumulator)
            self._insert_after_definition(value, op)
            self.made[key] = op.output
        return self.made[key]

    @staticmethod
    def _insert_after_definition(value: SSAValue, op: Operation) -> None:
        if isinstance(value, BlockArgument):
            Rewriter.insert_op(op, InsertPoint.at_start(value.block))
        else:
            Rewriter.insert_op(op, InsertPoint.after(value.owner))

    def quantize_inputs(self, op: Operation) -> None:
        dtypes = op.attributes[INPUTS]
        assert isinstance(dtypes, ArrayAttr)
        for index, value in enumerate(data_operands(op)):
            kind = _kind(value)
            dtype = dtypes.data[index]
            fused = _fused_accumulator(value) if isinstance(op, _FUSABLE_ACTIVATIONS) else None
            if fused is not None:
                kind, dtype = "accumulator", fused
            axis = 0 if kind == "weight" and isinstance(op, (qsim.Conv2dOp, qsim.DenseOp)) and index == 1 else None
            quantized = self.quantized(value, kind, dtype, axis)
            op.operands[index] = quantized
        if isinstance(op, (qsim.Conv2dOp, qsim.DenseOp)) and op.bias is not None:
            accumulator = op.attributes.get(ACCUMULATOR)
            assert isinstance(accumulator, IntegerType)
            op.operands[2] = self.quantized(op.bias, "bias", accumulator, None)

    def quantize_outputs(self, op: Operation) -> None:
        output = op.results[0]
        float_uses = [
            use for use in list(output.uses)
            if isinstance(use.operation, func.ReturnOp)
            or (is_compute_op(use.operation) and not is_quantized(use.operation))
        ]
        if not float_uses:
            return
        dtype = op.attributes[OUTPUT]
        assert isinstance(dtype, IntegerType)
        quantized = self.quantized(output, "activation", dtype, None)
        for use in float_uses:
            use.operation.operands[use.index] = quantized


def insert_simulated_quantize(module: ModuleOp) -> int:
    """Insert the simulated quantize ops; returns how many were made."""
    inserter = _Inserter()
    integer_ops = [op for op in module.walk() if is_compute_op(op) and is_quantized(op)]
    for op in integer_ops:
        inserter.quantize_inputs(op)
    for op in integer_ops:
        inserter.quantize_outputs(op)
    return len(inserter.made)
