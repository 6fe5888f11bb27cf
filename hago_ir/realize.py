"""Realization: a searched qsim module becomes the integer qnn model.

Behind `hago-realize`, after hago-search (or hago-calibrate). Every simulated
quantize becomes real integers:
- on a weight: a `qnn.constant` quantized offline (per channel);
- on a bias: a `qnn.constant` on its conv2d / dense accumulator's grid
  (scale of the input x scale of the weight, per output channel);
- on a float value (a model input, a float op's result): `qnn.quantize`;
- on the result of an integer op: that result *materialized at the simulated
  quantize's scale*, dtype and effective-bit range, usually a `qnn.requantize`.

An integer op's result is kept as an expression until a simulated quantize
asks for it, because a real value may be wanted at several scales (a ReLU
feeding a signed add and an unsigned conv) and because the float constants
around it fold into that requantize: ReLU and ReLU6's clip bounds become the
requantize's integer bounds in the *output* scale (the HAGO paper's example),
which equals the simulation exactly, since rounding is monotonic:
round(min(max(x, lo), hi) / s) = min(max(round(x / s), round(lo / s)), round(hi / s)).
An integer add is formed straight in the scale each consumer asks for.
On a spec with `float32_requantize` (topology records it on the module), a
requantize to at most 16 bits carries a float32 multiplier and computes in
float32, as the target's kernels do (otherwise it is fixed point), and a
quantize to at most 16 bits divides in float32 (otherwise in float64).

Float ops keep running in float: where one reads an integer edge a
`qnn.dequantize` is put in front of it. The result is a function with the same
float signature that `hago-check-legal`, the integer interpreter and the
backends take.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import NoReturn

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.utils.exceptions import DiagnosticException

from hago_ir import numerics
from hago_ir.dialects import qnn, qsim
from hago_ir.dialects.qsim import dense_from_array, ints, shape_of
from hago_ir.interpreter import simq_scale
from hago_ir.model_io import find_function
from hago_ir.topology import ACCUMULATOR, FLOAT32_REQUANTIZE, OVERFLOW, is_compute_op, is_quantized


class RealizeError(DiagnosticException):
    """The module cannot be realized as it is."""


def _fail(op: Operation, message: str) -> NoReturn:
    """Report at the op (xDSL prints the module with the op marked) and stop."""
    op.emit_error(message, RealizeError(message))
    raise RealizeError(message)  # emit_error raises; this keeps type checkers informed


@dataclass
class IntValue:
    """A realized integer tensor: real value = integers x scale (per channel along axis)."""

    value: SSAValue
    scale: np.ndarray
    axis: int | None
    qmin: int
    qmax: int

    def magnitude(self) -> int:
        return max(abs(self.qmin), abs(self.qmax))


@dataclass
class Scaled:
    """An integer op's result: `base` (at its scale), clipped to [low, high] in real units."""

    base: IntValue
    low: float = -math.inf
    high: float = math.inf


@dataclass
class Added:
    """An integer add's result: lhs + rhs, formed in `accumulator` when materialized,
    clipped to [low, high] in real units (a fused ReLU)."""

    op: qsim.AddOp
    lhs: IntValue
    rhs: IntValue
    accumulator: IntegerType
    low: float = -math.inf
    high: float = math.inf


@dataclass
class Concatenated:
    op: qsim.ConcatOp
    parts: list[IntValue]


Expression = Scaled | Added | Concatenated


def _dtype(op: qsim.SimulatedQuantizeOp) -> IntegerType:
    return qnn.integer_type(op.dtype.width.data, bool(op.signed.value.data))


def _range(op: qsim.SimulatedQuantizeOp) -> tuple[int, int]:
    return numerics.integer_range(op.effective_bits.value.data, bool(op.signed.value.data))


def _per_tensor_scale(op: qsim.SimulatedQuantizeOp) -> float:
    scale = simq_scale(op)
    assert scale is not None
    if scale.size != 1:
        _fail(op, "a per-channel scale on an activation cannot be realized")
    return float(scale.reshape(-1)[0])


def _axis_scales(scale: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(scale, dtype=np.float64).reshape(-1)]


@dataclass
class _Realizer:
    function: func.FuncOp
    float32_requantize: bool = False  # the spec's float32_requantize (topology's module flag)
    block: Block = field(init=False)
    values: dict[SSAValue, SSAValue] = field(default_factory=dict)  # old float values -> new
    integers: dict[SSAValue, IntValue] = field(default_factory=dict)  # old simq results -> realized
    expressions: dict[SSAValue, Expression] = field(default_factory=dict)  # old int-op results
    dequantized: dict[SSAValue, SSAValue] = field(default_factory=dict)
    fused: dict[SSAValue, SSAValue] = field(default_factory=dict)  # accumulator simq results -> int-op results

    def __post_init__(self) -> None:
        old = self.function.body.block
        self.block = Block(arg_types=[arg.type for arg in old.args])
        for old_arg, new_arg in zip(old.args, self.block.args):
            new_arg.name_hint = old_arg.name_hint
            self.values[old_arg] = new_arg

    # ---------------------------------------------------------------- helpers
    def emit(self, op: Operation, name: str | None = None) -> Operation:
        self.block.add_op(op)
        if name and op.results:
            op.results[0].name_hint = name
        return op

    def float_value(self, old: SSAValue) -> SSAValue:
        """The new float value standing for `old` (dequantizing an integer edge)."""
        if old in self.values:
            return self.values[old]
        if old in self.integers:
            if old not in self.dequantized:
                integer = self.integers[old]
                op = self.emit(
                    qnn.DequantizeOp(integer.value, _axis_scales(integer.scale), integer.axis),
                    f"{old.name_hint}.dq" if old.name_hint else None,
                )
                self.dequantized[old] = op.results[0]
            return self.dequantized[old]
        owner = old.owner
        if isinstance(owner, Operation):
            _fail(owner, "its result is used as a float value but was never realized")
        raise RealizeError("a function argument was never realized")

    def integer(self, old: SSAValue, user: Operation) -> IntValue:
        if old not in self.integers:
            _fail(user, "an operand of this integer op has no simulated quantize in front of it")
        return self.integers[old]

    # ---------------------------------------------------------------- the walk
    def run(self) -> Block:
        for op in list(self.function.body.block.ops):
            if isinstance(op, qsim.SimulatedQuantizeOp):
                self.realize_simulated_quantize(op)
            elif isinstance(op, qsim.ConstantOp):
                self.values[op.output] = self.emit(op.clone()).results[0]
            elif is_compute_op(op) and is_quantized(op):
                self.realize_integer_op(op)
            elif isinstance(op, func.ReturnOp):
                self.emit(func.ReturnOp(*[self.float_value(v) for v in op.operands]))
            else:
                self.emit_float_op(op)
        self._drop_unused_constants()
        return self.block

    def emit_float_op(self, op: Operation) -> None:
        for operand in op.operands:
            if operand not in self.values:
                self.values[operand] = self.float_value(operand)
        clone = op.clone(value_mapper=dict(self.values))
        self.emit(clone)
        for old, new in zip(op.results, clone.results):
            new.name_hint = old.name_hint
            self.values[old] = new

    def _drop_unused_constants(self) -> None:
        for op in reversed(list(self.block.ops)):
            if isinstance(op, (qsim.ConstantOp, qnn.ConstantOp)) and not op.results[0].uses:
                op.detach()
                op.erase()

    # ---------------------------------------------------------------- simulated quantize
    def realize_simulated_quantize(self, op: qsim.SimulatedQuantizeOp) -> None:
        kind = op.kind.data
        if kind == "bias":
            return  # realized by its conv2d / dense, on the accumulator's grid
        if kind == "accumulator":
            # Sums going straight into a ReLU / Clip: nothing to materialize here;
            # the activation folds into the requantize of its own output edge.
            if op.input not in self.expressions:
                _fail(op, "an accumulator edge must follow an integer conv2d, dense or add")
            self.fused[op.output] = op.input
            return
        if op.threshold is None:
            _fail(op, "has no threshold: run hago-calibrate before hago-realize")
        source = op.input
        name = op.output.name_hint
        if kind == "weight" and isinstance(source.owner, qsim.ConstantOp):
            self.integers[op.output] = self.quantize_constant(source.owner, op, name)
        elif source in self.expressions:
            self.integers[op.output] = self.materialize(self.expressions[source], op, name)
        else:
            scale = _per_tensor_scale(op)
            low, high = _range(op)
            float_scale = None
            if self.float32_requantize and _dtype(op).width.data <= numerics.FLOAT32_REQUANTIZE_MAX_BITS:
                try:
                    float_scale = [numerics.float32_multiplier(scale)]
                except ValueError as error:
                    _fail(op, f"cannot quantize to scale {scale:g} in float32: {error}")
            new = self.emit(qnn.QuantizeOp(self.float_value(source), _dtype(op), [scale], low, high,
                                           float_scale=float_scale), name)
            self.integers[op.output] = IntValue(new.results[0], np.array([scale]), None, low, high)

    def quantize_constant(self, constant: qsim.ConstantOp, op: qsim.SimulatedQuantizeOp, name: str | None) -> IntValue:
        values = constant.to_array().astype(np.float64)
        scale = simq_scale(op)
        assert scale is not None
        axis = None if op.axis is None else op.axis.value.data
        bits, signed = op.effective_bits.value.data, bool(op.signed.value.data)
        integers = numerics.quantize(values, numerics.broadcast_along(scale, axis, values.ndim), bits, signed)
        return self.integer_constant(integers, _dtype(op), scale, axis, constant, name,
                                     *numerics.integer_range(bits, signed))

    def integer_constant(
        self, integers: np.ndarray, dtype: IntegerType, scale: np.ndarray, axis: int | None,
        source: qsim.ConstantOp, name: str | None, qmin: int, qmax: int,
    ) -> IntValue:
        width = dtype.width.data
        unsigned = dtype.signedness.data == Signedness.UNSIGNED
        storage = {8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}.get(width)
        if storage is None:
            # i24 and other odd widths are stored in the next machine width up.
            storage = np.int32 if width < 32 else np.int64
        array = integers.astype(np.int64)
        if unsigned:
            array = np.where(array >= 2 ** (width - 1), array - 2**width, array)  # same bits, signless
        dense = dense_from_array(array.astype(storage))
        dense = DenseIntOrFPElementsAttr(TensorType(dtype, list(array.shape)), dense.data)
        constant_name = source.sym_name.data if source.sym_name is not None else None
        op = self.emit(qnn.ConstantOp(dense, _axis_scales(scale), axis if scale.size > 1 else None, constant_name), name)
        return IntValue(op.results[0], np.asarray(scale, dtype=np.float64), axis if scale.size > 1 else None, qmin, qmax)

    # ---------------------------------------------------------------- integer ops
    def realize_integer_op(self, op: Operation) -> None:
        result = op.results[0]
        if isinstance(op, (qsim.Conv2dOp, qsim.DenseOp)):
            self.expressions[result] = Scaled(self.realize_linear(op))
        elif isinstance(op, (qsim.ReluOp, qsim.ClipOp)):
            low, high = (0.0, math.inf) if isinstance(op, qsim.ReluOp) else (op.min.value.data, op.max.value.data)
            if op.input in self.fused:
                inner = self.expressions[self.fused[op.input]]
            else:
                inner = Scaled(self.integer(op.input, op))
            if isinstance(inner, Concatenated):
                _fail(op, "a ReLU / Clip fused into a concat cannot be realized")
            self.expressions[result] = dataclasses.replace(
                inner, low=max(inner.low, low), high=min(inner.high, high)
            )
        elif isinstance(op, qsim.AddOp):
            accumulator = op.attributes.get(ACCUMULATOR)
            if not isinstance(accumulator, IntegerType):
                _fail(op, "an integer add needs hago.accumulator (run hago-topology)")
            self.expressions[result] = Added(
                op, self.integer(op.lhs, op), self.integer(op.rhs, op), accumulator
            )
        elif isinstance(op, qsim.ConcatOp):
            self.expressions[result] = Concatenated(op, [self.integer(v, op) for v in op.inputs])
        elif isinstance(op, (qsim.GlobalAvgPool2dOp, qsim.AvgPool2dOp)):
            self.expressions[result] = Scaled(self.realize_average(op))
        elif isinstance(op, (qsim.MaxPool2dOp, qsim.ReshapeOp, qsim.TransposeOp, qsim.PadOp)):
            self.expressions[result] = Scaled(self.realize_data_movement(op))
        else:
            _fail(op, "has no integer realization; mark it float in the spec")

    def realize_linear(self, op: qsim.Conv2dOp | qsim.DenseOp) -> IntValue:
        data, weight = self.integer(op.input, op), self.integer(op.weight, op)
        accumulator = op.attributes.get(ACCUMULATOR)
        overflow = op.attributes.get(OVERFLOW)
        if not isinstance(accumulator, IntegerType):
            _fail(op, "an integer conv2d / dense needs hago.accumulator (run hago-topology)")
        overflow_mode = overflow.data if isinstance(overflow, StringAttr) else "wrap"
        accumulator = qnn.integer_type(accumulator.width.data, True)
        if data.scale.size != 1:
            _fail(op, "the data operand must have one scale")
        scale = data.scale.reshape(-1)[0] * weight.scale.reshape(-1)
        bias = None
        if op.bias is not None:
            bias = self.realize_bias(op, op.bias, scale, accumulator)
        name = op.output.name_hint
        if isinstance(op, qsim.Conv2dOp):
            new = qnn.Conv2dOp(
                data.value, weight.value, bias, accumulator, ints(op.strides), ints(op.pads),
                ints(op.dilations), op.groups.value.data, overflow_mode,
            )
            axis = 1
        else:
            new = qnn.DenseOp(data.value, weight.value, bias, accumulator, overflow_mode)
            axis = len(shape_of(op.output)) - 1
        self.emit(new, name)
        low, high = numerics.integer_range(accumulator.width.data, True)
        return IntValue(new.results[0], scale, axis if scale.size > 1 else None, low, high)

    def realize_bias(self, op: Operation, bias: SSAValue, scale: np.ndarray, accumulator: IntegerType) -> SSAValue:
        source = bias.owner.input if isinstance(bias.owner, qsim.SimulatedQuantizeOp) else bias
        constant = source.owner
        if not isinstance(constant, qsim.ConstantOp):
            _fail(op, "the bias must be a constant")
        width = accumulator.width.data
        integers = numerics.quantize(constant.to_array().astype(np.float64), scale, width, True)
        name = bias.name_hint
        return self.integer_constant(integers, accumulator, scale, 0, constant, name,
                                     *numerics.integer_range(width, True)).value

    def realize_average(self, op: qsim.GlobalAvgPool2dOp | qsim.AvgPool2dOp) -> IntValue:
        data = self.integer(op.input, op)
        accumulator = op.attributes.get(ACCUMULATOR)
        if not isinstance(accumulator, IntegerType):
            _fail(op, "integer average pooling needs hago.accumulator (run hago-topology)")
        accumulator = qnn.integer_type(accumulator.width.data, True)
        if isinstance(op, qsim.GlobalAvgPool2dOp):
            _, _, height, width = shape_of(op.input)
            count = height * width
            new = qnn.GlobalSumPool2dOp(data.value, accumulator)
        else:
            kernel, strides, pads, _ = op.window()
            if op.ceil_mode.value.data or (any(pads) and not op.count_include_pad.value.data):
                _fail(
                    op, "its windows do not all count the same number of elements (padding excluded "
                    "from the count, or ceil_mode), so no single integer scale divides them; "
                    "mark avg_pool2d float in the spec",
                )
            count = kernel[0] * kernel[1]
            new = qnn.SumPool2dOp(data.value, accumulator, kernel, strides, pads)
        self.emit(new, op.output.name_hint)
        low, high = numerics.integer_range(accumulator.width.data, True)
        return IntValue(new.results[0], data.scale / count, None, low, high)

    def realize_data_movement(self, op: Operation) -> IntValue:
        data = self.integer(op.operands[0], op)
        if data.scale.size != 1 and not isinstance(op, (qsim.MaxPool2dOp, qsim.PadOp)):
            _fail(op, "a per-channel scale cannot be moved through a reshape or transpose")
        shape = shape_of(op.results[0])
        properties = dict(op.properties)
        if isinstance(op, qsim.PadOp) and op.value.value.data != 0.0:
            _fail(op, "an integer pad must pad with zero")
        new = op.__class__.create(
            operands=[data.value],
            result_types=[TensorType(qnn.element_type(data.value), list(shape))],
            properties=properties,
        )
        self.emit(new, op.results[0].name_hint)
        qmin, qmax = data.qmin, data.qmax
        if isinstance(op, qsim.PadOp):
            qmin, qmax = min(qmin, 0), max(qmax, 0)
        return IntValue(new.results[0], data.scale, data.axis, qmin, qmax)

    # ---------------------------------------------------------------- materialization
    def materialize(self, expression: Expression, op: qsim.SimulatedQuantizeOp, name: str | None) -> IntValue:
        """The value of an integer op's result, as the simulated quantize `op` wants it."""
        if isinstance(expression, Added):
            return self.materialize_add(expression, op, name)
        if isinstance(expression, Concatenated):
            return self.materialize_concat(expression, op, name)
        return self.requantize(expression.base, op, name, expression.low, expression.high)

    def requantize(self, base: IntValue, op: qsim.SimulatedQuantizeOp, name: str | None,
                   low: float = -math.inf, high: float = math.inf) -> IntValue:
        scale = _per_tensor_scale(op)
        dtype = _dtype(op)
        qmin, qmax = _range(op)
        # Clip bounds in real units become integer bounds in the output scale.
        if low > -math.inf:
            qmin = max(qmin, int(np.rint(low / scale)))
        if high < math.inf:
            qmax = min(qmax, int(np.rint(high / scale)))
        qmax = max(qmax, qmin)
        same_scale = base.scale.size == 1 and float(base.scale.reshape(-1)[0]) == scale
        if same_scale and qnn.element_type(base.value) == dtype:
            if base.qmin >= qmin and base.qmax <= qmax:
                return base
            new = self.emit(qnn.ClipOp(base.value, qmin, qmax), name)
            return IntValue(new.results[0], base.scale, None, qmin, qmax)
        input_scales = _axis_scales(base.scale)
        pairs = []
        for input_scale in input_scales:
            try:
                pairs.append(numerics.fixed_point_multiplier(input_scale / scale))
            except ValueError as error:
                _fail(op, f"cannot requantize from scale {input_scale:g} to {scale:g}: {error}")
        floats = None
        if self.float32_requantize and dtype.width.data <= numerics.FLOAT32_REQUANTIZE_MAX_BITS:
            try:
                floats = [numerics.float32_multiplier(input_scale / scale) for input_scale in input_scales]
            except ValueError as error:
                _fail(op, f"cannot requantize from scale {input_scales[0]:g} to {scale:g} in float32: {error}")
        new = self.emit(
            qnn.RequantizeOp(
                base.value, dtype, input_scales, [scale], [m for m, _ in pairs], [s for _, s in pairs],
                qmin, qmax, base.axis if len(input_scales) > 1 else None, floats,
            ),
            name,
        )
        return IntValue(new.results[0], np.array([scale]), None, qmin, qmax)

    def materialize_add(self, expression: Added, op: qsim.SimulatedQuantizeOp, name: str | None) -> IntValue:
        lhs, rhs = expression.lhs, expression.rhs
        if lhs.scale.size != 1 or rhs.scale.size != 1:
            _fail(expression.op, "integer add operands must have one scale each")
        scale = _per_tensor_scale(op)
        ratios = (float(lhs.scale[0]) / scale, float(rhs.scale[0]) / scale)
        # Extra fractional bits for the sum: as many as the accumulator holds
        # (the rescaled operands and their sum must fit), at most 16.
        headroom = 2 ** (expression.accumulator.width.data - 1) - 1
        bound = lhs.magnitude() * ratios[0] + rhs.magnitude() * ratios[1] + 2.0
        shift = max(0, min(16, int(math.floor(math.log2(headroom / bound)))))
        try:
            rescales = [numerics.fixed_point_multiplier(r * 2**shift) for r in ratios]
        except ValueError as error:
            _fail(expression.op, f"cannot rescale its operands to scale {scale:g}: {error}")
        qmin, qmax = _range(op)
        if expression.low > -math.inf:
            qmin = max(qmin, int(np.rint(expression.low / scale)))
        if expression.high < math.inf:
            qmax = min(qmax, int(np.rint(expression.high / scale)))
        qmax = max(qmax, qmin)
        accumulator = qnn.integer_type(expression.accumulator.width.data, True)
        new = self.emit(
            qnn.AddOp(lhs.value, rhs.value, _dtype(op), rescales[0], rescales[1], shift, accumulator, scale, qmin, qmax),
            name,
        )
        return IntValue(new.results[0], np.array([scale]), None, qmin, qmax)

    def materialize_concat(self, expression: Concatenated, op: qsim.SimulatedQuantizeOp, name: str | None) -> IntValue:
        parts = [self.requantize(part, op, None) for part in expression.parts]
        shape = shape_of(expression.op.output)
        new = qsim.ConcatOp.create(
            operands=[p.value for p in parts],
            result_types=[TensorType(_dtype(op), list(shape))],
            properties=dict(expression.op.properties),
        )
        self.emit(new, name)
        qmin, qmax = _range(op)
        return IntValue(new.results[0], np.array([_per_tensor_scale(op)]), None, qmin, qmax)


def realize(module: ModuleOp, function: str | None = None) -> int:
    """Rewrite the function into the qnn dialect; returns the number of integer ops made."""
    function_op = find_function(module, function)
    realizer = _Realizer(function_op, FLOAT32_REQUANTIZE in module.attributes)
    block = realizer.run()
    function_op.body.detach_block(function_op.body.block)
    function_op.body.add_block(block)
    return sum(1 for op in block.ops if op.dialect_name() == "qnn")

