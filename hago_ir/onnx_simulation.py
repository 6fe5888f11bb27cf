"""The simulated-quantized module, compiled for onnxruntime.

The search evaluates the same graph under many strategies. This module turns a
calibrated qsim module into an ONNX model whose activation quantize parameters
(scale, integer range; accumulator grid, range and modulus) are graph *inputs*,
so one onnxruntime session serves every strategy that differs only there (the
paper's batched simulation): a new strategy is only new input values, computed
by `simulation_feeds` with hago_ir.numerics, the same arithmetic the
interpreter uses. The batch dimension is symbolic.

Weights are the exception: each conv / dense weight is fake-quantized in numpy
(the interpreter's own function) and baked into the model as a constant, so
onnxruntime prepacks it and runs the float model's fast (NCHWc) convolutions;
weights computed at run time made every conv about twice as slow. The price is
one session per setting of the weights' bits: `OnnxRuntimeSimulator` keeps the
last few (a greedy step that is undone returns to the previous one), and
building one costs a few tens of milliseconds on the Fashion CNN. Constant
biases are quantized in numpy too, but fed as inputs (their grid depends on
the input's bits), and added after the conv so that it keeps its fast kernel.
The samples go through in cache-sized runs, side by side on single-threaded
sessions (`OnnxRuntimeSimulator`).

Precision: onnxruntime computes in float32 where the reference interpreter uses
float64. Products of 8-bit integers and their sums stay exact in float32 up to
2^24, so accumulator wrap-around agrees with the interpreter except when a
rounding lands within float32 error of a half step; `test_onnx_simulation.py`
bounds the difference on real data.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

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
from hago_ir.interpreter import accumulator_scale, simq_scale, simulate_quantize_op
from hago_ir.model_io import find_function, input_names, output_names
from hago_ir.tvm_build import usable_cores

BATCH = "N"


class _Builder:
    def __init__(self, module: ModuleOp, constant_weights: bool) -> None:
        self.function: func.FuncOp = find_function(module)
        self.constant_weights = constant_weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.parameter_inputs: list[onnx.ValueInfoProto] = []
        self.names: dict[SSAValue, str] = {}
        self.counter = 0
        self.simqs: list[qsim.SimulatedQuantizeOp] = []
        # Fake-quantized tensor -> the same values as integers (float-typed
        # where they are wider than 8 bits), for convs that sum integers.
        self.integers: dict[str, str] = {}
        # Quantizes whose input is a left-out ReLU's (see _folded_relu).
        self.nonnegative: set[Operation] = set()

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
                   container: tuple[int, bool] | None = None, nonnegative: bool = False) -> str:
    """clip(round(x / scale), qmin, qmax) * scale with scale, qmin, qmax as graph inputs.

    Edges stored in 8 bits use QuantizeLinear / DequantizeLinear (one fused,
    int8-typed pass each, rounding half to even like numerics.quantize) with
    the effective range clipped in between; wider ones the arithmetic ops.
    `nonnegative`: x is a ReLU's input, the ReLU left out (see _folded_relu):
    the range starts at max(qmin, 0).
    """
    scale = b.parameter(f"{prefix}.scale")
    low, high = b.parameter(f"{prefix}.qmin"), b.parameter(f"{prefix}.qmax")
    if nonnegative:
        low = b.node("Max", [low, b.constant(np.array(0.0, np.float32), "zero")])
    if container is not None and container[0] == 8:
        signed = container[1]
        element = TensorProto.INT8 if signed else TensorProto.UINT8
        zero_shape = () if axis is None else (shape[axis],)
        zero = b.constant(np.zeros(zero_shape, np.int8 if signed else np.uint8), "zero")
        attributes = {} if axis is None else {"axis": axis}
        integers = b.node("QuantizeLinear", [x, scale, zero], **attributes)
        low_i = b.node("Cast", [low], to=element)
        high_i = b.node("Cast", [high], to=element)
        clipped = b.node("Clip", [integers, low_i, high_i])
        out = b.node("DequantizeLinear", [clipped, scale, zero], **attributes)
        b.integers[out] = clipped
        return out
    if axis is not None:
        scale = b.node("Reshape", [scale, b.constant(np.array(_channel_shape(len(shape), axis), np.int64), "shape")])
    integers = b.node("Round", [b.node("Div", [x, scale])])
    clipped = b.node("Max", [b.node("Min", [integers, high]), low])
    out = b.node("Mul", [clipped, scale])
    b.integers[out] = clipped
    return out


def _channel_shape(rank: int, axis: int) -> list[int]:
    shape = [1] * rank
    shape[axis] = -1
    return shape


def _simulated_quantize(b: _Builder, op: qsim.SimulatedQuantizeOp, x: str) -> str:
    index = len(b.simqs)
    b.simqs.append(op)
    prefix = f"sq{index}"
    rank = len(qsim.shape_of(op.input))
    if b.constant_weights and _is_constant_weight(op):
        array = np.asarray(op.input.owner.to_array(), np.float64)  # type: ignore[union-attr]
        user = op.output.get_user_of_unique_use()
        if user is not None and _sums_integers(b, user):
            axis = None if op.axis is None else op.axis.value.data
            scale = numerics.broadcast_along(simq_scale(op), axis, array.ndim)
            integers = numerics.quantize(array, scale, op.effective_bits.value.data, bool(op.signed.value.data))
            name = b.constant(integers.astype(np.float32), "wi")
            b.integers[name] = name
            return name
        return b.constant(simulate_quantize_op(op, array).astype(np.float32), "wq")
    if op.kind.data == "bias" and isinstance(op.input.owner, qsim.ConstantOp):
        # A constant bias: quantized in numpy, by simulation_feeds, for each strategy.
        values, integers = b.parameter(f"{prefix}.bias"), b.parameter(f"{prefix}.bias_integers")
        b.integers[values] = integers
        return values
    if op.kind.data == "bias":
        return _fake_quantize(b, x, prefix, None, qsim.shape_of(op.input))
    if (op.accumulator is not None and isinstance(op.input.owner, (qsim.Conv2dOp, qsim.DenseOp))
            and _may_ever_overflow(op.input.owner, op.accumulator.width.data)):
        integer_sums = _sums_integers(b, op.input.owner)
        x = _accumulator(b, op, x, prefix, rank, integer_sums)
    if op.threshold is None:
        return x
    axis = None if op.axis is None else op.axis.value.data
    container = (op.dtype.width.data, bool(op.signed.value.data))
    return _fake_quantize(b, x, prefix, axis, qsim.shape_of(op.input), container, op in b.nonnegative)


# Accumulator widths with an ONNX integer type to wrap into.
_WRAPPING_TYPES = {8: TensorProto.INT8, 16: TensorProto.INT16}


def _accumulator(b: _Builder, op: qsim.SimulatedQuantizeOp, x: str, prefix: str, rank: int,
                 integer_sums: bool = False) -> str:
    """The sums as the accumulator keeps them.

    `integer_sums`: x holds the sums themselves, as integers (see
    `_sums_integers`), not sums x grid: no division and rounding to find them;
    a wrap is then two narrowing casts and a dequantize, cheap enough to do
    whatever the bits (an `If` around them cost more than it saved). Otherwise
    the computation sits inside an If: when the current bits cannot overflow
    the accumulator (`prefix.may_overflow` false, from a static bound) it is
    skipped.
    """
    channel_axis = 1 if isinstance(op.input.owner, qsim.Conv2dOp) else rank - 1
    acc_scale = b.parameter(f"{prefix}.acc_scale")
    width = op.accumulator.width.data  # type: ignore[union-attr]
    saturates = op.overflow is not None and op.overflow.data == "saturate"
    if integer_sums and width in _WRAPPING_TYPES and not saturates:
        # Wrapped, then times the grid in one pass: a per-channel dequantize.
        narrow = b.node("Cast", [b.node("Cast", [x], to=TensorProto.INT32)], to=_WRAPPING_TYPES[width])
        element = helper.tensor_dtype_to_np_dtype(_WRAPPING_TYPES[width])
        zero = b.constant(np.zeros(qsim.shape_of(op.input)[channel_axis], element), "zero")
        return b.node("DequantizeLinear", [narrow, acc_scale, zero], axis=channel_axis)
    grid = b.node("Reshape", [acc_scale, b.constant(np.array(_channel_shape(rank, channel_axis), np.int64), "shape")])
    outer_nodes, b.nodes = b.nodes, []
    sums = x if integer_sums else b.node("Round", [b.node("Div", [x, grid])])
    low, modulus = b.parameter(f"{prefix}.acc_low"), b.parameter(f"{prefix}.acc_modulus")
    if saturates:
        high = b.node("Sub", [b.node("Add", [low, modulus]), b.constant(np.array(1.0, np.float32))])
        kept = b.node("Max", [b.node("Min", [sums, high]), low])
    elif width in _WRAPPING_TYPES:
        kept = _wrapped(b, sums, width)
    else:
        shifted = b.node("Sub", [sums, low])
        wraps = b.node("Floor", [b.node("Div", [shifted, modulus])])
        kept = b.node("Add", [b.node("Sub", [shifted, b.node("Mul", [wraps, modulus])]), low])
    held = kept if integer_sums else b.node("Mul", [kept, grid])
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
    result = b.node("If", [condition], "acc", then_branch=then_branch, else_branch=else_branch)
    return b.node("Mul", [result, grid]) if integer_sums else result


def _wrapped(b: _Builder, sums: str, width: int) -> str:
    """Two's complement wrap of integer-valued float sums by narrowing casts:
    int32, then the accumulator's width (onnxruntime narrows integers as C++
    does, by dropping the high bits), then back to float."""
    narrow = b.node("Cast", [b.node("Cast", [sums], to=TensorProto.INT32)], to=_WRAPPING_TYPES[width])
    return b.node("Cast", [narrow], to=TensorProto.FLOAT)


def _is_constant_weight(op: qsim.SimulatedQuantizeOp) -> bool:
    return op.kind.data == "weight" and isinstance(op.input.owner, qsim.ConstantOp)


def constant_weight_quantizes(module: ModuleOp) -> list[qsim.SimulatedQuantizeOp]:
    """The weight quantizes a model built with constant weights bakes in."""
    return [op for op in find_function(module).body.block.ops
            if isinstance(op, qsim.SimulatedQuantizeOp) and _is_constant_weight(op)]


def _sums_integers(b: _Builder, producer: Operation) -> bool:
    """Whether a conv2d / dense computes its sums as integers, in accumulator units.

    Where the accumulator is simulated (it may overflow), the sums are what it
    holds: computing them from the integers themselves (of the input, of the
    weights, baked as integers, and of the bias) leaves out a division and a
    rounding of the whole output. float32 holds them exactly
    below 2^24, as it holds sums x grid. Needs the baked weights, calibrated
    inputs, and the accumulator's quantize as the only user.
    """
    if not b.constant_weights or not isinstance(producer, (qsim.Conv2dOp, qsim.DenseOp)):
        return False
    input_q, weight_q = producer.input.owner, producer.weight.owner
    bias = getattr(producer, "bias", None)
    if not (isinstance(input_q, qsim.SimulatedQuantizeOp) and input_q.threshold is not None
            and input_q.kind.data != "bias" and isinstance(weight_q, qsim.SimulatedQuantizeOp)
            and _is_constant_weight(weight_q) and weight_q.threshold is not None
            # baked as integers for this conv alone
            and weight_q.output.get_user_of_unique_use() is producer
            and (bias is None or (isinstance(bias.owner, qsim.SimulatedQuantizeOp)
                                  and bias.owner.kind.data == "bias"))):
        return False
    user = producer.results[0].get_user_of_unique_use()
    return (isinstance(user, qsim.SimulatedQuantizeOp) and user.accumulator is not None
            and _may_ever_overflow(producer, user.accumulator.width.data))


def _in_accumulator_units(b: _Builder, op: qsim.Conv2dOp | qsim.DenseOp, args: list[str]) -> list[str]:
    """The operands of an integer-summing conv / dense: the integers of its
    input, weight (baked as such) and bias."""
    integers = b.integers[args[0]]
    if op.input.owner.dtype.width.data == 8:  # type: ignore[union-attr]
        integers = b.node("Cast", [integers], to=TensorProto.FLOAT)  # int8 / uint8 from the quantize
    operands = [integers, args[1]]
    if len(args) > 2:
        operands.append(b.integers[args[2]])  # the bias quantize's grid is the accumulator's
    return operands


def _conv(b: _Builder, op: qsim.Conv2dOp, args: list[str]) -> str:
    pads = ints(op.pads)
    attributes = {"strides": list(ints(op.strides)), "dilations": list(ints(op.dilations)),
                  "group": op.groups.value.data, "pads": [pads[0], pads[1], pads[2], pads[3]]}
    if _sums_integers(b, op):
        args = _in_accumulator_units(b, op, args)
    if len(args) < 3 or not b.constant_weights:
        return b.node("Conv", args, "conv", **attributes)
    # A run-time bias keeps onnxruntime from its NCHWc conv: add it after.
    sums = b.node("Conv", args[:2], "conv", **attributes)
    return b.node("Add", [sums, b.node("Reshape", [args[2], b.constant(np.array([1, -1, 1, 1], np.int64), "shape")])])


def _dense(b: _Builder, op: qsim.DenseOp, args: list[str]) -> str:
    if _sums_integers(b, op):
        args = _in_accumulator_units(b, op, args)
    out = b.node("MatMul", [args[0], b.node("Transpose", [args[1]], perm=[1, 0])])
    return b.node("Add", [out, args[2]]) if len(args) > 2 else out


def _pool(b: _Builder, op: qsim.MaxPool2dOp | qsim.AvgPool2dOp, args: list[str]) -> str:
    attributes = {"kernel_shape": list(ints(op.kernel)), "strides": list(ints(op.strides)),
                  "pads": list(ints(op.pads)), "ceil_mode": int(bool(op.ceil_mode.value.data))}
    if isinstance(op, qsim.MaxPool2dOp):
        return b.node("MaxPool", args, dilations=list(ints(op.dilations)), **attributes)
    return b.node("AveragePool", args, count_include_pad=int(bool(op.count_include_pad.value.data)), **attributes)


def _folded_relu(op: qsim.ReluOp) -> bool:
    """Whether a ReLU can be left to the quantizes that read it.

    Each one computes clip(round(relu(x) / s), lo, hi) with lo <= 0 <= hi;
    rounding is monotonic and maps 0 to 0, so that is clip(round(x / s),
    max(lo, 0), hi): the same integers, one pass over the tensor fewer. Only
    where every user is a calibrated quantize (not a bias or weight one).
    """
    uses = list(op.results[0].uses)
    return bool(uses) and all(
        isinstance(use.operation, qsim.SimulatedQuantizeOp) and use.operation.threshold is not None
        and use.operation.kind.data in ("activation", "input") and use.operation.accumulator is None
        for use in uses)


def _convert(b: _Builder, op: Operation, args: list[str]) -> str:
    if isinstance(op, qsim.ReluOp) and _folded_relu(op):
        b.nonnegative.update(use.operation for use in op.results[0].uses)
        return args[0]
    simple = {qsim.AddOp: "Add", qsim.SubOp: "Sub", qsim.MulOp: "Mul", qsim.DivOp: "Div", qsim.ReluOp: "Relu",
              qsim.SigmoidOp: "Sigmoid", qsim.TanhOp: "Tanh", qsim.SqrtOp: "Sqrt", qsim.ErfOp: "Erf",
              qsim.MatmulOp: "MatMul", qsim.GlobalAvgPool2dOp: "GlobalAveragePool"}
    for op_class, op_type in simple.items():
        if isinstance(op, op_class):
            return b.node(op_type, args)
    if isinstance(op, qsim.ConstantOp):
        if b.constant_weights and op.results[0].uses and all(
            isinstance(use.operation, qsim.SimulatedQuantizeOp) and _is_constant_weight(use.operation)
            for use in op.results[0].uses
        ):
            return "(baked into its quantize's constant)"  # the raw weight is not needed
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
                      keepdims=int(bool(op.keepdims.value.data)))
    if isinstance(op, qsim.GeluOp):
        return b.node("Gelu", args)  # exact (erf) form, as kernels.gelu
    if isinstance(op, qsim.LayerNormOp):
        return b.node("LayerNormalization", args, axis=op.axis.value.data, epsilon=op.epsilon.value.data)
    if isinstance(op, qsim.BatchNormOp):
        return b.node("BatchNormalization", args, epsilon=op.epsilon.value.data)
    if isinstance(op, qsim.PadOp):
        return b.node("Pad", [args[0], b.constant(np.array(ints(op.pads), np.int64), "pads"),
                              b.constant(np.array(op.value.value.data, np.float32))])
    raise HagoError(f"'{op.name}' has no onnxruntime simulation yet")


def build_simulation_model(
    module: ModuleOp, constant_weights: bool = True
) -> tuple[onnx.ModelProto, list[qsim.SimulatedQuantizeOp]]:
    """The ONNX model, and the simulated quantize ops in the order of their parameter inputs.

    With `constant_weights`, the weights are baked in at their current bits
    (see the module's docstring); otherwise they too are computed from inputs.
    """
    b = _Builder(module, constant_weights)
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
    nodes = _live(b.nodes, [o.name for o in outputs])
    used = {name for node in nodes for name in _reads(node)}
    initializers = [t for t in b.initializers if t.name in used]
    parameters = [value for value in b.parameter_inputs if value.name in used]
    graph = helper.make_graph(nodes, "hago_simulation", inputs + parameters, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    return model, b.simqs


def _live(nodes: list[onnx.NodeProto], outputs: list[str]) -> list[onnx.NodeProto]:
    """The nodes the outputs depend on (a quantize feeding only integer-summing
    convs leaves its dequantized tensor unused), in their order."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(_reads(node))
    return kept[::-1]


def _reads(node: onnx.NodeProto) -> list[str]:
    """The names a node reads, its If branches' included."""
    names = list(node.input)
    for branch in (a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH):
        names += [name for inner in branch.node for name in inner.input]
    return names


def _accumulator_scale(consumer: Operation) -> np.ndarray:
    """The interpreter's accumulator grid; the search only compiles calibrated modules."""
    scale = accumulator_scale(consumer)  # type: ignore[arg-type]
    if scale is None:
        raise HagoError(f"'{consumer.name}' has uncalibrated inputs: run hago-calibrate first")
    return scale


def _bits(op: qsim.SimulatedQuantizeOp, at_most: bool) -> int:
    """The op's current bits, or the largest the search may give it."""
    return (op.max_bits if at_most else op.effective_bits).value.data


def _largest_integer(op: qsim.SimulatedQuantizeOp, bits: int) -> float:
    """The largest |integer| a simulated quantize can hand on at `bits`."""
    low, high = numerics.integer_range(bits, bool(op.signed.value.data))
    return float(max(abs(low), abs(high)))


def _may_overflow(producer: Operation, width: int, at_most: bool = False) -> bool:
    """False when no sum of this conv2d / dense can leave a `width`-bit accumulator
    at the current bits of its input and weights (`at_most`: at the largest bits
    the search may give them: the most integer levels, the finest grid).

    Bound: fan-in x largest input integer x largest weight integer, plus the
    largest bias integer (the accumulator's grid is the product of the scales).
    """
    input_q, weight_q = producer.input.owner, producer.weight.owner  # type: ignore[union-attr]
    if not (isinstance(input_q, qsim.SimulatedQuantizeOp) and isinstance(weight_q, qsim.SimulatedQuantizeOp)):
        return True
    input_bits, weight_bits = _bits(input_q, at_most), _bits(weight_q, at_most)
    fan_in = math.prod(qsim.shape_of(producer.weight)[1:])  # type: ignore[union-attr]
    bound = fan_in * _largest_integer(input_q, input_bits) * _largest_integer(weight_q, weight_bits)
    bias = getattr(producer, "bias", None)
    if bias is not None:
        bias_q = bias.owner
        if not (isinstance(bias_q, qsim.SimulatedQuantizeOp) and isinstance(bias_q.input.owner, qsim.ConstantOp)):
            return True
        if input_q.threshold is None or weight_q.threshold is None:
            raise HagoError(f"'{producer.name}' has uncalibrated inputs: run hago-calibrate first")
        grid = simq_scale(input_q, input_bits) * simq_scale(weight_q, weight_bits)
        bound += float(np.max(np.abs(bias_q.input.owner.to_array() / grid)))
    return bound >= 2.0 ** (width - 1)


def _may_ever_overflow(producer: Operation, width: int) -> bool:
    """_may_overflow at the largest bits. When even they cannot overflow, the
    model leaves the accumulator simulation out altogether: an `If` that always
    takes its pass-through branch still copies the whole conv output
    (x86-vnni's int32 accumulators: 16% of an evaluation of the Fashion-MNIST
    CNN)."""
    return _may_overflow(producer, width, at_most=True)


def simulation_feeds(simqs: list[qsim.SimulatedQuantizeOp]) -> dict[str, np.ndarray]:
    """The parameter inputs for the module's current bits and thresholds."""
    feeds: dict[str, np.ndarray] = {}
    for index, op in enumerate(simqs):
        prefix = f"sq{index}"
        bits, signed = op.effective_bits.value.data, bool(op.signed.value.data)
        if op.kind.data == "bias" and isinstance(op.input.owner, qsim.ConstantOp):
            bias = np.asarray(op.input.owner.to_array(), np.float64)
            feeds[f"{prefix}.bias"] = simulate_quantize_op(op, bias).astype(np.float32)
            grid = accumulator_scale(op.output.get_user_of_unique_use())
            if grid is not None:
                integers = numerics.quantize(bias, grid, op.dtype.width.data, True)
                feeds[f"{prefix}.bias_integers"] = integers.astype(np.float32)
            continue
        if op.kind.data == "bias":
            scale = _accumulator_scale(op.output.get_user_of_unique_use())
            low, high = numerics.integer_range(op.dtype.width.data, True)
        else:
            scale = simq_scale(op)
            low, high = numerics.integer_range(bits, signed)
        if scale is not None:
            per_tensor = op.axis is None and np.size(scale) == 1
            feeds[f"{prefix}.scale"] = np.asarray(scale, np.float32).reshape(() if per_tensor else (-1,))
            feeds[f"{prefix}.qmin"] = np.array(low, np.float32)
            feeds[f"{prefix}.qmax"] = np.array(high, np.float32)
        if op.accumulator is not None and isinstance(op.input.owner, (qsim.Conv2dOp, qsim.DenseOp)):
            width = op.accumulator.width.data
            feeds[f"{prefix}.acc_scale"] = np.asarray(_accumulator_scale(op.input.owner), np.float32).reshape(-1)
            feeds[f"{prefix}.acc_low"] = np.array(-(2.0 ** (width - 1)), np.float32)
            feeds[f"{prefix}.acc_modulus"] = np.array(2.0**width, np.float32)
            feeds[f"{prefix}.may_overflow"] = np.array(_may_overflow(op.input.owner, width))
    return feeds


class _Session:
    """One onnxruntime session: the model at one setting of the weights' bits.

    Single-threaded: the engine runs several sample runs side by side
    instead (`OnnxRuntimeSimulator.run`). Splitting each operator between
    threads cost a thread wake-up per operator, and the model has a hundred
    small ones: on the Fashion CNN, 2 runs side by side on 1 thread each
    were about 20% faster than the same runs one after the other on 2.
    """

    def __init__(self, module: ModuleOp) -> None:
        import onnxruntime as ort

        model, self.simqs = build_simulation_model(module)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.wanted = {i.name for i in self.session.get_inputs()}

    def feeds(self) -> dict[str, np.ndarray]:
        """The parameter inputs for the module's current bits."""
        return {k: v for k, v in simulation_feeds(self.simqs).items() if k in self.wanted}

    def run(self, feeds: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(out, np.float64) for out in self.session.run(None, {**feeds, **inputs})]


# The samples of one onnxruntime run are chosen so that its largest
# activation takes about this much memory: small enough for the CPU's caches
# to keep each quantize pass's input while another run goes on beside it,
# large enough for the convolutions to stay efficient. On the Fashion CNN,
# with 2 runs side by side, runs of 32 to 64 samples (2 MiB: 41) were the
# fastest, about 10% faster than runs of 128 and 25% than runs of 256.
RUN_BYTES = 2 << 20


def samples_per_run(module: ModuleOp) -> int:
    """How many samples one onnxruntime run takes (see RUN_BYTES)."""
    largest = 1
    for op in find_function(module).body.block.ops:
        for result in op.results:
            shape = qsim.shape_of(result)
            if shape:
                largest = max(largest, math.prod(shape[1:]))
    return max(1, RUN_BYTES // (4 * largest))


class OnnxRuntimeSimulator:
    """Evaluate the module under its current bits with onnxruntime.

    One session per setting of the weights' bits (built when first needed,
    the `cached_sessions` most recent kept); the activations' bits are inputs.
    The samples go through in runs of at most `samples_per_run`, `threads` of
    them side by side (0: one per core this process may use).
    """

    def __init__(self, module: ModuleOp, inputs: dict[str, np.ndarray], threads: int = 0,
                 cached_sessions: int = 4) -> None:
        self.module, self.cached_sessions = module, max(1, cached_sessions)
        self.threads = threads or usable_cores()
        self.weights = constant_weight_quantizes(module)
        self.sessions: OrderedDict[tuple, _Session] = OrderedDict()
        self.sessions_built = 0
        self.inputs = {name: np.asarray(array, np.float32) for name, array in inputs.items()}
        self.sample_count = len(next(iter(self.inputs.values())))
        # Whole rounds of runs, one per thread: with 13 runs on 2 threads the
        # last one ran alone (512 samples: up to 10% longer than 14 runs of 37).
        runs = math.ceil(self.sample_count / samples_per_run(module))
        runs = math.ceil(runs / self.threads) * self.threads if runs > 1 else 1
        self.run_size = math.ceil(self.sample_count / runs)
        self.session()  # fail early, at construction, on a model onnxruntime rejects

    def _weights_key(self) -> tuple:
        return tuple((op.effective_bits.value.data, None if op.threshold is None else simq_scale(op).tobytes())
                     for op in self.weights)

    def session(self) -> _Session:
        """The session for the weights' current bits."""
        key = self._weights_key()
        if key in self.sessions:
            self.sessions.move_to_end(key)
        else:
            self.sessions[key] = _Session(self.module)
            self.sessions_built += 1
            while len(self.sessions) > self.cached_sessions:
                self.sessions.popitem(last=False)
        return self.sessions[key]

    def run(self) -> list[np.ndarray]:
        session = self.session()
        feeds = session.feeds()
        slices = [{name: array[start:start + self.run_size] for name, array in self.inputs.items()}
                  for start in range(0, self.sample_count, self.run_size)]
        if len(slices) == 1 or self.threads == 1:
            runs = [session.run(feeds, inputs) for inputs in slices]
        else:
            # onnxruntime lets go of the GIL while it runs: the runs share the cores.
            with ThreadPoolExecutor(min(self.threads, len(slices))) as pool:
                runs = list(pool.map(lambda inputs: session.run(feeds, inputs), slices))
        return [np.concatenate(parts) for parts in zip(*runs)]
