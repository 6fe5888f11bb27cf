"""Reference interpreter for qsim modules: the oracle of every later stage.

Built on xDSL's interpreter framework: `QsimFunctions` binds each qsim op to its
numpy kernel in hago_ir.kernels, and `run_module` runs a module's function on
named numpy inputs. Values are float64 numpy arrays; outputs are returned in the
element type of the function's results (float32 for imported models).
Interpreter listeners (xDSL's `Interpreter.Listener`) see every op's inputs and
outputs: calibration hooks in there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import Float64Type, ModuleOp, TensorType
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.func import FuncFunctions

from hago_ir import kernels, numerics
from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import ints
from hago_ir.model_io import bind_inputs, find_function, output_names


def _float(attr) -> float:
    return float(attr.value.data)


def _bool(attr) -> bool:
    return bool(attr.value.data)


@register_impls
class QsimFunctions(InterpreterFunctions):
    """numpy implementations of the qsim ops (float64)."""

    def __init__(self, simulate_quantization: bool = True) -> None:
        # Weights are converted once per op, not once per run.
        self._constants: dict[qsim.ConstantOp, np.ndarray] = {}
        # Calibration runs the float model: simulated quantize ops pass values through.
        self.simulate_quantization = simulate_quantization

    @impl(qsim.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: qsim.ConstantOp, args: tuple[Any, ...]):
        if op not in self._constants:
            self._constants[op] = op.to_array().astype(np.float64)
        return (self._constants[op],)

    @impl(qsim.Conv2dOp)
    def run_conv2d(self, interpreter: Interpreter, op: qsim.Conv2dOp, args: tuple[Any, ...]):
        bias = args[2] if len(args) > 2 else None
        return (
            kernels.conv2d(
                args[0], args[1], bias, ints(op.strides), ints(op.pads),
                ints(op.dilations), op.groups.value.data,
            ),
        )

    @impl(qsim.DenseOp)
    def run_dense(self, interpreter: Interpreter, op: qsim.DenseOp, args: tuple[Any, ...]):
        return (kernels.dense(args[0], args[1], args[2] if len(args) > 2 else None),)

    @impl(qsim.MatmulOp)
    def run_matmul(self, interpreter: Interpreter, op: qsim.MatmulOp, args: tuple[Any, ...]):
        return (kernels.matmul(*args),)

    @impl(qsim.AddOp)
    def run_add(self, interpreter: Interpreter, op: qsim.AddOp, args: tuple[Any, ...]):
        return (args[0] + args[1],)

    @impl(qsim.SubOp)
    def run_sub(self, interpreter: Interpreter, op: qsim.SubOp, args: tuple[Any, ...]):
        return (args[0] - args[1],)

    @impl(qsim.MulOp)
    def run_mul(self, interpreter: Interpreter, op: qsim.MulOp, args: tuple[Any, ...]):
        return (args[0] * args[1],)

    @impl(qsim.DivOp)
    def run_div(self, interpreter: Interpreter, op: qsim.DivOp, args: tuple[Any, ...]):
        return (args[0] / args[1],)

    @impl(qsim.ReluOp)
    def run_relu(self, interpreter: Interpreter, op: qsim.ReluOp, args: tuple[Any, ...]):
        return (kernels.relu(args[0]),)

    @impl(qsim.ClipOp)
    def run_clip(self, interpreter: Interpreter, op: qsim.ClipOp, args: tuple[Any, ...]):
        return (kernels.clip(args[0], _float(op.min), _float(op.max)),)

    @impl(qsim.SigmoidOp)
    def run_sigmoid(self, interpreter: Interpreter, op: qsim.SigmoidOp, args: tuple[Any, ...]):
        return (kernels.sigmoid(args[0]),)

    @impl(qsim.TanhOp)
    def run_tanh(self, interpreter: Interpreter, op: qsim.TanhOp, args: tuple[Any, ...]):
        return (np.tanh(args[0]),)

    @impl(qsim.SqrtOp)
    def run_sqrt(self, interpreter: Interpreter, op: qsim.SqrtOp, args: tuple[Any, ...]):
        return (np.sqrt(args[0]),)

    @impl(qsim.PowOp)
    def run_pow(self, interpreter: Interpreter, op: qsim.PowOp, args: tuple[Any, ...]):
        return (kernels.power(args[0], _float(op.exponent)),)

    @impl(qsim.ErfOp)
    def run_erf(self, interpreter: Interpreter, op: qsim.ErfOp, args: tuple[Any, ...]):
        return (kernels.erf(args[0]),)

    @impl(qsim.GeluOp)
    def run_gelu(self, interpreter: Interpreter, op: qsim.GeluOp, args: tuple[Any, ...]):
        return (kernels.gelu(args[0]),)

    @impl(qsim.MaxPool2dOp)
    def run_max_pool2d(self, interpreter: Interpreter, op: qsim.MaxPool2dOp, args: tuple[Any, ...]):
        return (
            kernels.max_pool2d(
                args[0], ints(op.kernel), ints(op.strides), ints(op.pads),
                ints(op.dilations), _bool(op.ceil_mode),
            ),
        )

    @impl(qsim.AvgPool2dOp)
    def run_avg_pool2d(self, interpreter: Interpreter, op: qsim.AvgPool2dOp, args: tuple[Any, ...]):
        return (
            kernels.avg_pool2d(
                args[0], ints(op.kernel), ints(op.strides), ints(op.pads),
                _bool(op.ceil_mode), _bool(op.count_include_pad),
            ),
        )

    @impl(qsim.GlobalAvgPool2dOp)
    def run_global_avg_pool2d(
        self, interpreter: Interpreter, op: qsim.GlobalAvgPool2dOp, args: tuple[Any, ...]
    ):
        return (kernels.global_avg_pool2d(args[0]),)

    @impl(qsim.SoftmaxOp)
    def run_softmax(self, interpreter: Interpreter, op: qsim.SoftmaxOp, args: tuple[Any, ...]):
        return (kernels.softmax(args[0], op.axis.value.data),)

    @impl(qsim.ReduceMeanOp)
    def run_reduce_mean(self, interpreter: Interpreter, op: qsim.ReduceMeanOp, args: tuple[Any, ...]):
        return (kernels.reduce_mean(args[0], ints(op.axes), _bool(op.keepdims)),)

    @impl(qsim.BatchNormOp)
    def run_batch_norm(self, interpreter: Interpreter, op: qsim.BatchNormOp, args: tuple[Any, ...]):
        return (kernels.batch_norm(*args, _float(op.epsilon)),)

    @impl(qsim.LayerNormOp)
    def run_layer_norm(self, interpreter: Interpreter, op: qsim.LayerNormOp, args: tuple[Any, ...]):
        bias = args[2] if len(args) > 2 else None
        return (kernels.layer_norm(args[0], args[1], bias, op.axis.value.data, _float(op.epsilon)),)

    @impl(qsim.ReshapeOp)
    def run_reshape(self, interpreter: Interpreter, op: qsim.ReshapeOp, args: tuple[Any, ...]):
        return (args[0].reshape(batched_shape(qsim.shape_of(op.output), op.input, args[0])),)

    @impl(qsim.TransposeOp)
    def run_transpose(self, interpreter: Interpreter, op: qsim.TransposeOp, args: tuple[Any, ...]):
        return (np.transpose(args[0], ints(op.perm)),)

    @impl(qsim.PadOp)
    def run_pad(self, interpreter: Interpreter, op: qsim.PadOp, args: tuple[Any, ...]):
        return (kernels.pad(args[0], ints(op.pads), _float(op.value)),)

    @impl(qsim.ConcatOp)
    def run_concat(self, interpreter: Interpreter, op: qsim.ConcatOp, args: tuple[Any, ...]):
        return (np.concatenate(args, axis=op.axis.value.data),)

    @impl(qsim.SimulatedQuantizeOp)
    def run_simulated_quantize(
        self, interpreter: Interpreter, op: qsim.SimulatedQuantizeOp, args: tuple[Any, ...]
    ):
        if not self.simulate_quantization:
            return (args[0],)
        return (simulate_quantize_op(op, args[0]),)


def batched_shape(declared: tuple[int, ...], operand, value: np.ndarray) -> tuple[int, ...]:
    """The declared result shape, with the batch the value really has.

    Modules have static shapes (batch 1 for imported models); the search runs
    many samples through one pass by stacking them along the batch dimension,
    which every kernel but reshape handles as it is.
    """
    declared_input = qsim.shape_of(operand)
    if declared and declared_input and declared[0] == declared_input[0] and value.shape[0] != declared_input[0]:
        return (value.shape[0], *declared[1:])
    return declared


def simq_scale(op: qsim.SimulatedQuantizeOp, bits: int | None = None) -> np.ndarray | None:
    """The scale of a calibrated simulated quantize (per channel along its axis)
    at its effective bits (or at `bits`), or None."""
    if op.threshold is None:
        return None
    threshold = np.array([t.value.data for t in op.threshold.data], dtype=np.float64)
    return numerics.scale_of(threshold, op.effective_bits.value.data if bits is None else bits, _bool(op.signed))


def accumulator_scale(consumer: qsim.Conv2dOp | qsim.DenseOp) -> np.ndarray | None:
    """scale(input) * scale(weight)[channel]: the value of one unit of the accumulator."""
    input_q, weight_q = consumer.input.owner, consumer.weight.owner
    if not isinstance(input_q, qsim.SimulatedQuantizeOp) or not isinstance(weight_q, qsim.SimulatedQuantizeOp):
        return None
    input_scale, weight_scale = simq_scale(input_q), simq_scale(weight_q)
    if input_scale is None or weight_scale is None:
        return None
    return input_scale * weight_scale


def _channel_shape(values: np.ndarray, rank: int, channel_axis: int) -> np.ndarray:
    return numerics.broadcast_along(values, channel_axis if values.size > 1 else None, rank)


def simulate_quantize_op(op: qsim.SimulatedQuantizeOp, x: np.ndarray) -> np.ndarray:
    """The semantics of one qsim.simulated_quantize, reading its neighbours where it must.

    - bias: quantized to the accumulator's grid (scale of input x scale of weight,
      per output channel) of the conv2d / dense that consumes it;
    - on a conv2d / dense output with `accumulator`: the integer sums are first
      kept as that accumulator keeps them (wrap or saturate), then requantized;
    - otherwise: quantize-dequantize with its own threshold (identity before
      calibration).
    """
    kind = op.kind.data
    if kind == "bias":
        user = op.output.get_user_of_unique_use()
        if not isinstance(user, (qsim.Conv2dOp, qsim.DenseOp)):
            return x
        scale = accumulator_scale(user)
        if scale is None:
            return x
        return numerics.fake_quantize(x, scale, op.dtype.width.data, True)
    if op.accumulator is not None and isinstance(op.input.owner, (qsim.Conv2dOp, qsim.DenseOp)):
        producer = op.input.owner
        scale = accumulator_scale(producer)
        if scale is not None:
            channel_axis = 1 if isinstance(producer, qsim.Conv2dOp) else x.ndim - 1
            overflow = op.overflow.data if op.overflow is not None else "wrap"
            x = numerics.simulate_accumulator(
                x, _channel_shape(scale, x.ndim, channel_axis), op.accumulator.width.data, overflow
            )
    scale = simq_scale(op)
    if scale is None:
        return x
    axis = None if op.axis is None else op.axis.value.data
    scale = numerics.broadcast_along(scale, axis, x.ndim)
    return numerics.fake_quantize(x, scale, op.effective_bits.value.data, _bool(op.signed))


def make_interpreter(
    module: ModuleOp, listeners: Sequence[Interpreter.Listener] = (),
    simulate_quantization: bool = True,
) -> Interpreter:
    """An interpreter for `module`; without simulate_quantization it runs the float model."""
    interpreter = Interpreter(module, listeners=tuple(listeners))
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(QsimFunctions(simulate_quantization))
    return interpreter


def _result_dtype(type_) -> np.dtype:
    if isinstance(type_, TensorType) and isinstance(type_.get_element_type(), Float64Type):
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def run_module(
    module: ModuleOp, inputs: dict[str, np.ndarray], function: str | None = None,
    interpreter: Interpreter | None = None, keep_float64: bool = False,
) -> dict[str, np.ndarray]:
    """Run `function` (default @main) on named inputs; outputs by name.

    Pass an `interpreter` from `make_interpreter` to reuse its converted weights
    across runs. With keep_float64 the outputs keep the interpreter's precision.
    """
    function_op: func.FuncOp = find_function(module, function)
    args = bind_inputs(function_op, inputs)
    interpreter = interpreter or make_interpreter(module)
    results = interpreter.call_op(function_op, tuple(args))
    names = output_names(function_op)
    outputs = {}
    for name, value, type_ in zip(names, results, function_op.function_type.outputs):
        outputs[name] = value if keep_float64 else np.asarray(value).astype(_result_dtype(type_))
    return outputs
