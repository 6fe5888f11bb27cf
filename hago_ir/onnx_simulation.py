"""The simulated-quantized module, compiled once for onnxruntime.

The search evaluates the same graph under many strategies. This module turns a
calibrated qsim module into one ONNX model whose simulated-quantize parameters
(scale, integer range; accumulator grid, range and modulus) are graph *inputs*,
so one onnxruntime session serves every strategy (the paper's batched
simulation): a new strategy is only new input values, computed by
`simulation_feeds` with hago_ir.numerics, the same arithmetic the interpreter
uses. The batch dimension is symbolic: all samples go through in one run.

Precision: onnxruntime computes in float32 where the reference interpreter uses
float64. Products of 8-bit integers and their sums stay exact in float32 up to
2^24, so accumulator wrap-around agrees with the interpreter except when a
rounding lands within float32 error of a half step; `test_onnx_simulation.py`
bounds the difference on real data.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from hago_ir import numerics
from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import ints
from hago_ir.errors import HagoError
from hago_ir.interpreter import accumulator_scale, simq_scale
from hago_ir.model_io import find_function, input_names, output_names

BATCH = "N"


class _Builder:
    def __init__(self, module: ModuleOp) -> None:
        self.function: func.FuncOp = find_function(module)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.parameter_inputs: list[onnx.ValueInfoProto] = []
        self.names: dict[SSAValue, str] = {}
        self.counter = 0
        self.simqs: list[qsim.SimulatedQuantizeOp] = []

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def constant(self, array: np.ndarray, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type: str, inputs: list[str], hint: str = "t", **attributes) -> str:
        output = self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attributes))
        return output

    def parameter(self, name: str) -> str:
        self.parameter_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
        return name

    def batch_polymorphic_shape(self, op: Operation, shape: tuple[int, ...]) -> list[int]:
        declared_input = qsim.shape_of(op.operands[0])
        if shape and declared_input and shape[0] == declared_input[0]:
            return [0, *shape[1:]]  # 0: copy the (symbolic) batch dimension
        return list(shape)


def _fake_quantize(b: _Builder, x: str, prefix: str, axis: int | None, shape: tuple[int, ...],
                   container: tuple[int, bool] | None = None) -> str:
    """clip(round(x / scale), qmin, qmax) * scale with scale, qmin, qmax as graph inputs.

    Edges stored in 8 bits use QuantizeLinear / DequantizeLinear (one fused,
    int8-typed pass each, rounding half to even like numerics.quantize) with
    the effective range clipped in between; wider ones the arithmetic ops.
    """
    scale = b.parameter(f"{prefix}.scale")
    low, high = b.parameter(f"{prefix}.qmin"), b.parameter(f"{prefix}.qmax")
    if container is not None and container[0] == 8:
        signed = container[1]
        element = TensorProto.INT8 if signed else TensorProto.UINT8
        zero_shape = () if axis is None else (shape[axis],)
        zero = b.constant(np.zeros(zero_shape, np.int8 if signed else np.uint8), "zero")
        attributes = {} if axis is None else {"axis": axis}
        if axis is None:
            scale = b.node("Reshape", [scale, b.constant(np.array([], np.int64), "shape")])
        integers = b.node("QuantizeLinear", [x, scale, zero], **attributes)
        low_i = b.node("Cast", [low], to=element)
        high_i = b.node("Cast", [high], to=element)
        clipped = b.node("Clip", [integers, low_i, high_i])
        return b.node("DequantizeLinear", [clipped, scale, zero], **attributes)
    if axis is not None:
        scale = b.node("Reshape", [scale, b.constant(np.array(_channel_shape(len(shape), axis), np.int64), "shape")])
    integers = b.node("Round", [b.node("Div", [x, scale])])
    clipped = b.node("Max", [b.node("Min", [integers, high]), low])
    return b.node("Mul", [clipped, scale])


def _channel_shape(rank: int, axis: int) -> list[int]:
    shape = [1] * rank
    shape[axis] = -1
    return shape


def _simulated_quantize(b: _Builder, op: qsim.SimulatedQuantizeOp, x: str) -> str:
    index = len(b.simqs)
    b.simqs.append(op)
    prefix = f"sq{index}"
    rank = len(qsim.shape_of(op.input))
    if op.kind.data == "bias":
        return _fake_quantize(b, x, prefix, None, qsim.shape_of(op.input))
    if (op.accumulator is not None and isinstance(op.input.owner, (qsim.Conv2dOp, qsim.DenseOp))
            and _may_ever_overflow(op.input.owner, op.accumulator.width.data)):
        x = _accumulator(b, op, x, prefix, rank)
    if op.threshold is None:
        return x
    axis = None if op.axis is None else op.axis.value.data
    container = (op.dtype.width.data, bool(op.signed.value.data))
    return _fake_quantize(b, x, prefix, axis, qsim.shape_of(op.input), container)


# Accumulator widths with an ONNX integer type to wrap into.
_WRAPPING_TYPES = {8: TensorProto.INT8, 16: TensorProto.INT16}


def _accumulator(b: _Builder, op: qsim.SimulatedQuantizeOp, x: str, prefix: str, rank: int) -> str:
    """The sums as the accumulator keeps them, inside an If: when the current bits
    cannot overflow it (`prefix.may_overflow` false, from a static bound) the
    whole computation is skipped."""
    outer_nodes, b.nodes = b.nodes, []
    channel_axis = 1 if isinstance(op.input.owner, qsim.Conv2dOp) else rank - 1
    grid = b.node("Reshape", [b.parameter(f"{prefix}.acc_scale"),
                              b.constant(np.array(_channel_shape(rank, channel_axis), np.int64), "shape")])
    sums = b.node("Round", [b.node("Div", [x, grid])])
    low, modulus = b.parameter(f"{prefix}.acc_low"), b.parameter(f"{prefix}.acc_modulus")
    if op.overflow is not None and op.overflow.data == "saturate":
        high = b.node("Sub", [b.node("Add", [low, modulus]), b.constant(np.array(1.0, np.float32))])
        kept = b.node("Max", [b.node("Min", [sums, high]), low])
    elif op.accumulator.width.data in _WRAPPING_TYPES:
        # Two's complement wrap by narrowing casts: int32, then the
        # accumulator's width (onnxruntime narrows integers as C++ does, by
        # dropping the high bits); three cheap passes instead of five float ones.
        narrow = b.node("Cast", [b.node("Cast", [sums], to=TensorProto.INT32)],
                        to=_WRAPPING_TYPES[op.accumulator.width.data])
        kept = b.node("Cast", [narrow], to=TensorProto.FLOAT)
    else:
        shifted = b.node("Sub", [sums, low])
        wraps = b.node("Floor", [b.node("Div", [shifted, modulus])])
        kept = b.node("Add", [b.node("Sub", [shifted, b.node("Mul", [wraps, modulus])]), low])
    held = b.node("Mul", [kept, grid])
    then_nodes, b.nodes = b.nodes, outer_nodes
    then_branch = helper.make_graph(
        then_nodes, f"{prefix}_overflow", [], [helper.make_tensor_value_info(held, TensorProto.FLOAT, None)]
    )
    passthrough = b.fresh("unchanged")
    else_branch = helper.make_graph(
        [helper.make_node("Identity", [x], [passthrough])], f"{prefix}_no_overflow", [],
        [helper.make_tensor_value_info(passthrough, TensorProto.FLOAT, None)],
    )
    condition = f"{prefix}.may_overflow"
    b.parameter_inputs.append(helper.make_tensor_value_info(condition, TensorProto.BOOL, []))
    return b.node("If", [condition], "acc", then_branch=then_branch, else_branch=else_branch)


def _conv(b: _Builder, op: qsim.Conv2dOp, args: list[str]) -> str:
    pads = ints(op.pads)
    return b.node("Conv", args, "conv", strides=list(ints(op.strides)), dilations=list(ints(op.dilations)),
                  group=op.groups.value.data, pads=[pads[0], pads[1], pads[2], pads[3]])


def _dense(b: _Builder, op: qsim.DenseOp, args: list[str]) -> str:
    out = b.node("MatMul", [args[0], b.node("Transpose", [args[1]], perm=[1, 0])])
    return b.node("Add", [out, args[2]]) if len(args) > 2 else out


def _pool(b: _Builder, op: qsim.MaxPool2dOp | qsim.AvgPool2dOp, args: list[str]) -> str:
    attributes = {"kernel_shape": list(ints(op.kernel)), "strides": list(ints(op.strides)),
                  "pads": list(ints(op.pads)), "ceil_mode": int(op.ceil_mode.value.data)}
    if isinstance(op, qsim.MaxPool2dOp):
        return b.node("MaxPool", args, dilations=list(ints(op.dilations)), **attributes)
    return b.node("AveragePool", args, count_include_pad=int(op.count_include_pad.value.data), **attributes)


def _convert(b: _Builder, op: Operation, args: list[str]) -> str:
    simple = {qsim.AddOp: "Add", qsim.SubOp: "Sub", qsim.MulOp: "Mul", qsim.DivOp: "Div", qsim.ReluOp: "Relu",
              qsim.SigmoidOp: "Sigmoid", qsim.TanhOp: "Tanh", qsim.SqrtOp: "Sqrt", qsim.ErfOp: "Erf",
              qsim.MatmulOp: "MatMul", qsim.GlobalAvgPool2dOp: "GlobalAveragePool"}
    for op_class, op_type in simple.items():
        if isinstance(op, op_class):
            return b.node(op_type, args)
    if isinstance(op, qsim.ConstantOp):
        return b.constant(op.to_array().astype(np.float32), "w")
    if isinstance(op, qsim.SimulatedQuantizeOp):
        return _simulated_quantize(b, op, args[0])
    if isinstance(op, qsim.Conv2dOp):
        return _conv(b, op, args)
    if isinstance(op, qsim.DenseOp):
        return _dense(b, op, args)
    if isinstance(op, (qsim.MaxPool2dOp, qsim.AvgPool2dOp)):
        return _pool(b, op, args)
    if isinstance(op, qsim.ClipOp):
        low, high = op.min.value.data, op.max.value.data
        out = args[0]
        if low != -math.inf:
            out = b.node("Max", [out, b.constant(np.array(low, np.float32))])
        if high != math.inf:
            out = b.node("Min", [out, b.constant(np.array(high, np.float32))])
        return out
    if isinstance(op, qsim.ReshapeOp):
        shape = b.batch_polymorphic_shape(op, qsim.shape_of(op.output))
        return b.node("Reshape", [args[0], b.constant(np.array(shape, np.int64), "shape")])
    if isinstance(op, qsim.TransposeOp):
        return b.node("Transpose", args, perm=list(ints(op.perm)))
    if isinstance(op, qsim.ConcatOp):
        return b.node("Concat", args, axis=op.axis.value.data)
    if isinstance(op, qsim.SoftmaxOp):
        return b.node("Softmax", args, axis=op.axis.value.data)
    if isinstance(op, qsim.PowOp):
        return b.node("Pow", [args[0], b.constant(np.array(op.exponent.value.data, np.float32))])
    if isinstance(op, qsim.ReduceMeanOp):
        return b.node("ReduceMean", [args[0], b.constant(np.array(ints(op.axes), np.int64), "axes")],
                      keepdims=int(op.keepdims.value.data))
    if isinstance(op, qsim.PadOp):
        return b.node("Pad", [args[0], b.constant(np.array(ints(op.pads), np.int64), "pads"),
                              b.constant(np.array(op.value.value.data, np.float32))])
    raise HagoError(f"'{op.name}' has no onnxruntime simulation yet")


def build_simulation_model(module: ModuleOp) -> tuple[onnx.ModelProto, list[qsim.SimulatedQuantizeOp]]:
    """The ONNX model, and the simulated quantize ops in the order of their parameter inputs."""
    b = _Builder(module)
    inputs = []
    for arg, name in zip(b.function.args, input_names(b.function)):
        shape = [BATCH, *qsim.shape_of(arg)[1:]]
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        b.names[arg] = name
    for op in b.function.body.block.ops:
        if isinstance(op, func.ReturnOp):
            continue
        b.names[op.results[0]] = _convert(b, op, [b.names[v] for v in op.operands])
    return_op = b.function.body.block.last_op
    outputs = []
    for value, name in zip(return_op.operands, output_names(b.function)):
        b.nodes.append(helper.make_node("Identity", [b.names[value]], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    graph = helper.make_graph(b.nodes, "hago_simulation", inputs + b.parameter_inputs, outputs, b.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return model, b.simqs


def _accumulator_scale(consumer: Operation) -> np.ndarray:
    """The interpreter's accumulator grid; the search only compiles calibrated modules."""
    scale = accumulator_scale(consumer)  # type: ignore[arg-type]
    if scale is None:
        raise HagoError(f"'{consumer.name}' has uncalibrated inputs: run hago-calibrate first")
    return scale


def _largest_integer(op: Operation) -> float:
    """The largest |integer| a simulated quantize can hand on."""
    assert isinstance(op, qsim.SimulatedQuantizeOp)
    low, high = numerics.integer_range(op.effective_bits.value.data, bool(op.signed.value.data))
    return float(max(abs(low), abs(high)))


def _may_overflow(producer: Operation, width: int) -> bool:
    """False when no sum of this conv2d / dense can leave a `width`-bit accumulator.

    Bound: fan-in x largest input integer x largest weight integer, plus the
    largest bias integer (the accumulator's grid is the product of the scales).
    """
    weight_shape = qsim.shape_of(producer.weight)  # type: ignore[union-attr]
    fan_in = math.prod(weight_shape[1:])
    bound = fan_in * _largest_integer(producer.input.owner) * _largest_integer(producer.weight.owner)  # type: ignore[union-attr]
    bias = getattr(producer, "bias", None)
    if bias is not None:
        bias_q = bias.owner
        if isinstance(bias_q, qsim.SimulatedQuantizeOp) and isinstance(bias_q.input.owner, qsim.ConstantOp):
            grid = _accumulator_scale(producer)
            bound += float(np.max(np.abs(bias_q.input.owner.to_array() / grid)))
        else:
            return True
    return bound >= 2.0 ** (width - 1)


def _may_ever_overflow(producer: Operation, width: int) -> bool:
    """_may_overflow at the largest bits the search may give the conv's input and
    weights (the worst case: the most integer levels, the finest accumulator
    grid). When even that cannot overflow, the model leaves the accumulator
    simulation out altogether: an `If` that always takes its pass-through
    branch still copies the whole conv output (x86-vnni's int32 accumulators:
    16% of an evaluation of the Fashion-MNIST CNN).
    """
    quantizes = [operand.owner for operand in (producer.input, producer.weight)]  # type: ignore[union-attr]
    if not all(isinstance(q, qsim.SimulatedQuantizeOp) for q in quantizes):
        return True
    current = [q.effective_bits for q in quantizes]
    try:
        for q in quantizes:
            q.effective_bits = q.max_bits
        return _may_overflow(producer, width)
    finally:
        for q, bits in zip(quantizes, current):
            q.effective_bits = bits


def simulation_feeds(simqs: list[qsim.SimulatedQuantizeOp]) -> dict[str, np.ndarray]:
    """The parameter inputs for the module's current bits and thresholds."""
    feeds: dict[str, np.ndarray] = {}
    for index, op in enumerate(simqs):
        prefix = f"sq{index}"
        bits, signed = op.effective_bits.value.data, bool(op.signed.value.data)
        if op.kind.data == "bias":
            scale = _accumulator_scale(op.output.get_user_of_unique_use())
            low, high = numerics.integer_range(op.dtype.width.data, True)
        else:
            scale = simq_scale(op)
            low, high = numerics.integer_range(bits, signed)
        if scale is not None:
            feeds[f"{prefix}.scale"] = np.asarray(scale, np.float32).reshape(-1)
            feeds[f"{prefix}.qmin"] = np.array(low, np.float32)
            feeds[f"{prefix}.qmax"] = np.array(high, np.float32)
        if op.accumulator is not None and isinstance(op.input.owner, (qsim.Conv2dOp, qsim.DenseOp)):
            width = op.accumulator.width.data
            feeds[f"{prefix}.acc_scale"] = np.asarray(_accumulator_scale(op.input.owner), np.float32).reshape(-1)
            feeds[f"{prefix}.acc_low"] = np.array(-(2.0 ** (width - 1)), np.float32)
            feeds[f"{prefix}.acc_modulus"] = np.array(2.0**width, np.float32)
            feeds[f"{prefix}.may_overflow"] = np.array(_may_overflow(op.input.owner, width))
    return feeds


class OnnxRuntimeSimulator:
    """Evaluate the module under its current bits with onnxruntime (one session, many strategies)."""

    def __init__(self, module: ModuleOp, inputs: dict[str, np.ndarray], threads: int = 0) -> None:
        import onnxruntime as ort

        model, self.simqs = build_simulation_model(module)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in self.session.get_inputs()]
        self.inputs = {name: np.asarray(array, np.float32) for name, array in inputs.items()}
        self.wanted = set(names)
        self.sample_count = len(next(iter(self.inputs.values())))

    def run(self) -> list[np.ndarray]:
        feeds = {k: v for k, v in simulation_feeds(self.simqs).items() if k in self.wanted}
        feeds.update(self.inputs)
        return [np.asarray(out, np.float64) for out in self.session.run(None, feeds)]
