"""Integer reference interpreter for realized (`qnn`) modules: the oracle of the backends.

After hago-realize. Integer tensors are numpy int64 arrays holding the values
of their container type (si8, ui8, si16, si32); every qnn op computes in exact
int64 arithmetic and then applies what the hardware does at its width: the
accumulator of a conv2d / dense / add / sum pool wraps or saturates, requantize
rounds half to even with its fixed-point multiplier (or, with a float
multiplier, in IEEE float32 exactly as the x86 kernels do) and clips to [qmin, qmax].
Float ops left in the module (softmax, ...) run on the qsim interpreter's
float64 kernels, and the data-movement qsim ops keep integer tensors integer.

How it relates to the simulation (hago_ir/interpreter.py): conv2d / dense sums,
their wrap or saturation and every clip are the same integers. Requantize
differs only where the exact ratio and its 31-bit fixed-point form round a
value to different sides of a half (|q| x 2^-31 relative), and `qnn.add`
rounds its multipliers to the accumulator's headroom (documented in
docs/realization.md); `test/pytest/test_realize.py` measures both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.func import FuncFunctions

from hago_ir import kernels, numerics
from hago_ir.dialects import qnn, qsim
from hago_ir.dialects.qsim import ints
from hago_ir.interpreter import QsimFunctions
from hago_ir.model_io import bind_inputs, find_function, output_names


def _scales(attr, axis, rank: int) -> np.ndarray:
    values = np.array(qnn.scale_values(attr), dtype=np.float64)
    return numerics.broadcast_along(values, axis.value.data if axis is not None and values.size > 1 else None, rank)


def _per_channel(values: Sequence[int] | Sequence[float], axis, rank: int, dtype=np.int64) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    if array.size == 1:
        return array.reshape(())
    shape = [1] * rank
    shape[axis.value.data] = -1
    return array.reshape(shape)


def _width(type_: IntegerType) -> int:
    return type_.width.data


def constant_integers(op: qnn.ConstantOp) -> np.ndarray:
    """The integers of a qnn.constant (unsigned values restored from their stored bits)."""
    stored = qsim.array_from_dense(op.value).astype(np.int64)
    type_ = qnn.element_type(op.output)
    assert isinstance(type_, IntegerType)
    if type_.signedness.data == Signedness.UNSIGNED:
        stored = np.where(stored < 0, stored + 2 ** _width(type_), stored)
    return stored


@register_impls
class QnnFunctions(InterpreterFunctions):
    """Exact integer implementations of the qnn ops."""

    def __init__(self) -> None:
        self._constants: dict[qnn.ConstantOp, np.ndarray] = {}

    @impl(qnn.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: qnn.ConstantOp, args: tuple[Any, ...]):
        if op not in self._constants:
            self._constants[op] = constant_integers(op)
        return (self._constants[op],)

    @impl(qnn.QuantizeOp)
    def run_quantize(self, interpreter: Interpreter, op: qnn.QuantizeOp, args: tuple[Any, ...]):
        x = np.asarray(args[0], dtype=np.float64)
        floats = op.float_scales()
        if floats is not None:
            divisor = _per_channel(floats, op.axis, x.ndim, np.float32)
            return (numerics.quantize_float32(x, divisor, op.qmin.value.data, op.qmax.value.data),)
        scale = _scales(op.scale, op.axis, x.ndim)
        integers = np.clip(np.rint(x / scale), op.qmin.value.data, op.qmax.value.data)
        return (integers.astype(np.int64),)

    @impl(qnn.DequantizeOp)
    def run_dequantize(self, interpreter: Interpreter, op: qnn.DequantizeOp, args: tuple[Any, ...]):
        q = args[0]
        return (q.astype(np.float64) * _scales(op.scale, op.axis, q.ndim),)

    @impl(qnn.RequantizeOp)
    def run_requantize(self, interpreter: Interpreter, op: qnn.RequantizeOp, args: tuple[Any, ...]):
        q = args[0]
        floats = op.float_multipliers()
        if floats is not None:
            factor = _per_channel(floats, op.axis, q.ndim, np.float32)
            return (numerics.requantize_float32(q, factor, op.qmin.value.data, op.qmax.value.data),)
        multiplier = _per_channel(ints(op.multiplier), op.axis, q.ndim)
        shift = _per_channel(ints(op.shift), op.axis, q.ndim)
        return (numerics.requantize_integers(q, multiplier, shift, op.qmin.value.data, op.qmax.value.data),)

    @impl(qnn.Conv2dOp)
    def run_conv2d(self, interpreter: Interpreter, op: qnn.Conv2dOp, args: tuple[Any, ...]):
        # float64 holds every partial sum exactly (|sum| < 2^53 for 8- and 16-bit inputs).
        bias = args[2].astype(np.float64) if len(args) > 2 else None
        sums = kernels.conv2d(
            args[0].astype(np.float64), args[1].astype(np.float64), bias, ints(op.strides),
            ints(op.pads), ints(op.dilations), op.groups.value.data,
        )
        return (self._hold(sums, op),)

    @impl(qnn.DenseOp)
    def run_dense(self, interpreter: Interpreter, op: qnn.DenseOp, args: tuple[Any, ...]):
        bias = args[2].astype(np.float64) if len(args) > 2 else None
        sums = kernels.dense(args[0].astype(np.float64), args[1].astype(np.float64), bias)
        return (self._hold(sums, op),)

    @staticmethod
    def _hold(sums: np.ndarray, op: qnn.Conv2dOp | qnn.DenseOp) -> np.ndarray:
        accumulator = qnn.element_type(op.output)
        assert isinstance(accumulator, IntegerType)
        return numerics.hold_in_accumulator(np.rint(sums).astype(np.int64), _width(accumulator), op.overflow.data)

    @impl(qnn.AddOp)
    def run_add(self, interpreter: Interpreter, op: qnn.AddOp, args: tuple[Any, ...]):
        width = _width(op.accumulator)
        lhs = numerics.rounding_right_shift(args[0] * op.lhs_multiplier.value.data, op.lhs_shift.value.data)
        rhs = numerics.rounding_right_shift(args[1] * op.rhs_multiplier.value.data, op.rhs_shift.value.data)
        total = numerics.wrap_integers(lhs + rhs, width)
        rounded = numerics.rounding_right_shift(total, op.shift.value.data)
        return (np.clip(rounded, op.qmin.value.data, op.qmax.value.data),)

    @impl(qnn.ClipOp)
    def run_clip(self, interpreter: Interpreter, op: qnn.ClipOp, args: tuple[Any, ...]):
        return (np.clip(args[0], op.min.value.data, op.max.value.data),)

    @impl(qnn.SumPool2dOp)
    def run_sum_pool2d(self, interpreter: Interpreter, op: qnn.SumPool2dOp, args: tuple[Any, ...]):
        kernel = ints(op.kernel)
        averages = kernels.avg_pool2d(
            args[0].astype(np.float64), kernel, ints(op.strides), ints(op.pads), False, True
        )
        sums = np.rint(averages * (kernel[0] * kernel[1])).astype(np.int64)
        return (self._hold_pool(sums, op),)

    @impl(qnn.GlobalSumPool2dOp)
    def run_global_sum_pool2d(self, interpreter: Interpreter, op: qnn.GlobalSumPool2dOp, args: tuple[Any, ...]):
        return (self._hold_pool(args[0].sum(axis=(2, 3), keepdims=True, dtype=np.int64), op),)

    @staticmethod
    def _hold_pool(sums: np.ndarray, op: qnn.SumPool2dOp | qnn.GlobalSumPool2dOp) -> np.ndarray:
        accumulator = qnn.element_type(op.output)
        assert isinstance(accumulator, IntegerType)
        return numerics.wrap_integers(sums, _width(accumulator))


@register_impls
class MixedQsimFunctions(QsimFunctions):
    """qsim ops on integer tensors keep them integer (max pool pads with -inf in float)."""

    @impl(qsim.MaxPool2dOp)
    def run_max_pool2d(self, interpreter: Interpreter, op: qsim.MaxPool2dOp, args: tuple[Any, ...]):
        integer = np.issubdtype(np.asarray(args[0]).dtype, np.integer)
        # The float kernel pads with -inf: run integers through it as float64 (exact).
        result = kernels.max_pool2d(
            np.asarray(args[0], dtype=np.float64), ints(op.kernel), ints(op.strides), ints(op.pads),
            ints(op.dilations), bool(op.ceil_mode.value.data),
        )
        return (result.astype(np.int64) if integer else result,)


def make_integer_interpreter(module: ModuleOp) -> Interpreter:
    interpreter = Interpreter(module)
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(MixedQsimFunctions(simulate_quantization=False))
    interpreter.register_implementations(QnnFunctions())
    return interpreter


def run_integer_module(
    module: ModuleOp, inputs: dict[str, np.ndarray], function: str | None = None,
    interpreter: Interpreter | None = None,
) -> dict[str, np.ndarray]:
    """Run a realized module on named float inputs; float32 outputs by name."""
    function_op = find_function(module, function)
    args = bind_inputs(function_op, inputs)
    interpreter = interpreter or make_integer_interpreter(module)
    results = interpreter.call_op(function_op, tuple(args))
    return {
        name: np.asarray(value).astype(np.float32)
        for name, value in zip(output_names(function_op), results)
    }


def run_integer_batches(
    module: ModuleOp, inputs: dict[str, np.ndarray], chunk_size: int = 256,
) -> dict[str, np.ndarray]:
    """Run many samples (stacked along the batch axis) through a realized module, in chunks.

    The module's declared batch is 1; every kernel is batch-polymorphic, so
    each chunk goes through the function as one batch.
    """
    function_op = find_function(module)
    names = output_names(function_op)
    arrays = [np.asarray(v, dtype=np.float64) for v in inputs.values()]
    if len(arrays) != len(function_op.args):
        raise ValueError(f"expected {len(function_op.args)} input arrays, got {len(arrays)}")
    for array in arrays:
        if not np.all(np.isfinite(array)):
            raise ValueError("inputs contain NaN or infinite values")
    interpreter = make_integer_interpreter(module)
    parts: list[list[np.ndarray]] = []
    for start in range(0, arrays[0].shape[0], chunk_size):
        results = interpreter.call_op(function_op, tuple(a[start : start + chunk_size] for a in arrays))
        parts.append([np.asarray(r) for r in results])
    return {name: np.concatenate(chunks, axis=0).astype(np.float32) for name, chunks in zip(names, zip(*parts))}
