"""The `qsim` (quant-sim) dialect: the float graph that quantization works on.

The ONNX frontend produces it, every pass up to realization rewrites it, and the
reference interpreter runs it. Ops mirror the ONNX operators that CNNs and small
transformers use, with static shapes only; weights are `qsim.constant` ops holding
a dense elements attribute (printed as a hex literal: compact and fast to parse).
`qsim.simulated_quantize` models quantization in float arithmetic: its properties
are the state of the quantization search (dtype, bit range, threshold, ...).

Shape rules live here, in one `infer_*` function per op family, because the
verifiers and the frontend both need them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    BoolAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, Pure
from xdsl.utils.exceptions import VerifyException

Shape = tuple[int, ...]

# --------------------------------------------------------------------------
# Attribute helpers: the properties are builtin attributes; these keep the op
# definitions and the frontend free of attribute plumbing.
# --------------------------------------------------------------------------


def int_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


def float_attr(value: float) -> FloatAttr:
    return FloatAttr(float(value), f64)


def ints(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())


def ssa_name_hint(name: str | None) -> str | None:
    """A valid SSA name hint from a tensor name ('/layer1/Conv_output_0' -> 'layer1.Conv_output_0')."""
    if not name:
        return None
    cleaned = re.sub(r"[^\w$.-]", "_", name.strip("/").replace("/", "."))
    cleaned = re.sub(r"_+", "_", cleaned).strip("_")
    if not cleaned:
        return None
    return "v" + cleaned if cleaned[0].isdigit() else cleaned


def shape_of(value: SSAValue) -> Shape:
    type_ = value.type
    assert isinstance(type_, TensorType)
    return tuple(type_.get_shape())


def tensor_type(shape: Sequence[int], element_type: Attribute | None = None) -> TensorType:
    return TensorType(element_type or Float32Type(), list(shape))


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise VerifyException(message)


def _check_result_shape(op: Operation, expected: Shape) -> None:
    got = shape_of(op.results[0])
    _check(
        got == tuple(expected),
        f"result shape {list(got)} does not match the inferred shape {list(expected)}",
    )


# --------------------------------------------------------------------------
# Shape rules
# --------------------------------------------------------------------------


def broadcast_shapes(lhs: Shape, rhs: Shape) -> Shape:
    """ONNX multidirectional (numpy) broadcasting."""
    try:
        return tuple(np.broadcast_shapes(lhs, rhs))
    except ValueError:
        raise VerifyException(
            f"operand shapes {list(lhs)} and {list(rhs)} are not broadcastable"
        ) from None


def window_output_size(
    size: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
    dilation: int = 1, ceil_mode: bool = False,
) -> int:
    """Output length of a sliding window (conv or pool) along one axis, as ONNX."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad_begin + pad_end
    _check(padded >= span, f"window of extent {span} does not fit in {padded} elements")
    if not ceil_mode:
        return (padded - span) // stride + 1
    out = -(-(padded - span) // stride) + 1
    # ONNX/onnxruntime: the last window must start inside the (front-padded) input.
    if (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def infer_conv2d(
    input_shape: Shape, weight_shape: Shape, strides: Shape, pads: Shape,
    dilations: Shape, groups: int,
) -> Shape:
    _check(len(input_shape) == 4, f"conv2d input must be NCHW (rank 4), got rank {len(input_shape)}")
    _check(len(weight_shape) == 4, f"conv2d weight must be OIHW (rank 4), got rank {len(weight_shape)}")
    _check(len(strides) == 2 and min(strides) >= 1, f"strides must be 2 positive ints, got {list(strides)}")
    _check(len(dilations) == 2 and min(dilations) >= 1, f"dilations must be 2 positive ints, got {list(dilations)}")
    _check(len(pads) == 4 and min(pads) >= 0, f"pads must be 4 non-negative ints [top, left, bottom, right], got {list(pads)}")
    batch, channels, height, width = input_shape
    out_channels, group_channels, kernel_h, kernel_w = weight_shape
    _check(groups >= 1 and channels % groups == 0, f"groups={groups} does not divide the {channels} input channels")
    _check(out_channels % groups == 0, f"groups={groups} does not divide the {out_channels} output channels")
    _check(
        group_channels * groups == channels,
        f"weight has {group_channels} input channels per group, expected {channels // groups} "
        f"({channels} channels / groups={groups})",
    )
    out_h = window_output_size(height, kernel_h, strides[0], pads[0], pads[2], dilations[0])
    out_w = window_output_size(width, kernel_w, strides[1], pads[1], pads[3], dilations[1])
    return (batch, out_channels, out_h, out_w)


def infer_pool2d(
    input_shape: Shape, kernel: Shape, strides: Shape, pads: Shape,
    dilations: Shape, ceil_mode: bool,
) -> Shape:
    _check(len(input_shape) == 4, f"pooling input must be NCHW (rank 4), got rank {len(input_shape)}")
    _check(len(kernel) == 2 and min(kernel) >= 1, f"kernel must be 2 positive ints, got {list(kernel)}")
    _check(len(strides) == 2 and min(strides) >= 1, f"strides must be 2 positive ints, got {list(strides)}")
    _check(len(dilations) == 2 and min(dilations) >= 1, f"dilations must be 2 positive ints, got {list(dilations)}")
    _check(len(pads) == 4 and min(pads) >= 0, f"pads must be 4 non-negative ints, got {list(pads)}")
    _check(
        pads[0] < kernel[0] and pads[2] < kernel[0] and pads[1] < kernel[1] and pads[3] < kernel[1],
        f"pads {list(pads)} must be smaller than the kernel {list(kernel)}",
    )
    batch, channels, height, width = input_shape
    out_h = window_output_size(height, kernel[0], strides[0], pads[0], pads[2], dilations[0], ceil_mode)
    out_w = window_output_size(width, kernel[1], strides[1], pads[1], pads[3], dilations[1], ceil_mode)
    return (batch, channels, out_h, out_w)


def infer_matmul(lhs: Shape, rhs: Shape) -> Shape:
    """numpy.matmul shape rule (batch dimensions broadcast)."""
    _check(len(lhs) >= 1 and len(rhs) >= 1, "matmul operands must have rank >= 1")
    lhs2 = (1, *lhs) if len(lhs) == 1 else lhs
    rhs2 = (*rhs, 1) if len(rhs) == 1 else rhs
    _check(
        lhs2[-1] == rhs2[-2],
        f"matmul contraction mismatch: lhs {list(lhs)} and rhs {list(rhs)}",
    )
    batch = broadcast_shapes(lhs2[:-2], rhs2[:-2])
    out = (*batch, lhs2[-2], rhs2[-1])
    if len(lhs) == 1:
        out = out[:-2] + out[-1:]
    if len(rhs) == 1:
        out = out[:-1]
    return out


def normalize_axis(axis: int, rank: int) -> int:
    _check(-rank <= axis < max(rank, 1), f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


# --------------------------------------------------------------------------
# Op families
# --------------------------------------------------------------------------


class _UnaryElementwise(IRDLOperation):
    """An elementwise op: one tensor in, a tensor of the same type out."""

    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    output = result_def(T)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, input: SSAValue, properties: dict[str, Attribute] | None = None):
        super().__init__(
            operands=[input], result_types=[input.type], properties=properties or {}
        )


class _BinaryElementwise(IRDLOperation):
    """An elementwise op with ONNX (numpy) broadcasting of its two operands."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)"
    )

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = broadcast_shapes(shape_of(lhs), shape_of(rhs))
        element = lhs.type.get_element_type()  # type: ignore[union-attr]
        super().__init__(operands=[lhs, rhs], result_types=[tensor_type(shape, element)])

    def verify_(self) -> None:
        _check_result_shape(self, broadcast_shapes(shape_of(self.lhs), shape_of(self.rhs)))


class _ShapeOp(IRDLOperation):
    """An op with one tensor operand whose result shape is given by its type."""

    input = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"


# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A constant tensor: a weight, a bias or a folded value.

    `name` keeps the ONNX initializer's name so that diagnostics, per-edge tables
    and exported models can refer to the weight as the user knows it.

        %w = qsim.constant "conv1.weight" dense<"0x..."> : tensor<16x3x3x3xf32>
    """

    name = "qsim.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    sym_name = opt_prop_def(StringAttr, prop_name="name")
    output = result_def(TensorType)
    traits = traits_def(Pure(), ConstantLike())

    def __init__(self, value: DenseIntOrFPElementsAttr, name: str | None = None):
        properties: dict[str, Attribute] = {"value": value}
        if name:
            properties["name"] = StringAttr(name)
        super().__init__(result_types=[value.type], properties=properties)

    @staticmethod
    def from_array(array: np.ndarray, name: str | None = None) -> ConstantOp:
        return ConstantOp(dense_from_array(array), name)

    def to_array(self) -> np.ndarray:
        return array_from_dense(self.value)

    def verify_(self) -> None:
        _check(
            self.value.type == self.output.type,
            f"value type {self.value.type} does not match result type {self.output.type}",
        )

    def print(self, printer: Printer) -> None:
        if self.sym_name is not None:
            printer.print_string(" ")
            printer.print_attribute(self.sym_name)
        printer.print_string(" ")
        printer.print_attribute(self.value)

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        name = parser.parse_optional_str_literal()
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error("qsim.constant expects a dense elements attribute")
        return cls(value, name)


_NUMPY_ELEMENT_TYPES: dict[str, Attribute] = {
    "float32": Float32Type(),
    "float64": Float64Type(),
    "int64": i64,
    "int32": IntegerType(32),
    "int16": IntegerType(16),
    "int8": IntegerType(8),
}


def dense_from_array(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """A dense attribute holding the array's bytes as they are (little endian)."""
    array = np.ascontiguousarray(array)
    element = _NUMPY_ELEMENT_TYPES.get(array.dtype.name)
    if element is None:
        raise ValueError(f"constants of dtype {array.dtype} are not supported")
    type_ = TensorType(element, list(array.shape))
    from xdsl.dialects.builtin import BytesAttr

    return DenseIntOrFPElementsAttr(type_, BytesAttr(array.astype(array.dtype.newbyteorder("<")).tobytes()))


def array_from_dense(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    element = attr.get_element_type()
    dtype = {
        Float32Type: np.float32,
        Float64Type: np.float64,
    }.get(type(element))
    if dtype is None:
        assert isinstance(element, IntegerType)
        width = element.width.data
        # Odd widths (i24) are stored in the next machine width up.
        dtype = np.int8 if width <= 8 else np.int16 if width <= 16 else np.int32 if width <= 32 else np.int64
    data = np.frombuffer(attr.data.data, dtype=np.dtype(dtype).newbyteorder("<"))
    shape = attr.get_shape()
    if len(data) == 1 and math.prod(shape) != 1:  # a splat
        return np.full(shape, data[0], dtype=dtype)
    return data.reshape(shape).astype(dtype)


# --------------------------------------------------------------------------
# Linear algebra
# --------------------------------------------------------------------------


@irdl_op_definition
class Conv2dOp(IRDLOperation):
    """2-D convolution, NCHW input and OIHW weight, as ONNX Conv.

    `pads` are [top, left, bottom, right]; `groups` == channels is depthwise.
    """

    name = "qsim.conv2d"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)
    strides = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    dilations = prop_def(DenseArrayBase[I64])
    groups = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self, input: SSAValue, weight: SSAValue, bias: SSAValue | None,
        strides: Sequence[int], pads: Sequence[int], dilations: Sequence[int], groups: int,
    ):
        shape = infer_conv2d(
            shape_of(input), shape_of(weight), tuple(strides), tuple(pads),
            tuple(dilations), groups,
        )
        super().__init__(
            operands=[input, weight, [bias] if bias is not None else []],
            result_types=[tensor_type(shape)],
            properties={
                "strides": int_array(strides), "pads": int_array(pads),
                "dilations": int_array(dilations), "groups": int_attr(groups),
            },
        )

    def verify_(self) -> None:
        shape = infer_conv2d(
            shape_of(self.input), shape_of(self.weight), ints(self.strides),
            ints(self.pads), ints(self.dilations), self.groups.value.data,
        )
        if self.bias is not None:
            _check(
                shape_of(self.bias) == (shape[1],),
                f"bias shape {list(shape_of(self.bias))} must be [{shape[1]}] (one per output channel)",
            )
        _check_result_shape(self, shape)


@irdl_op_definition
class DenseOp(IRDLOperation):
    """Fully connected layer: `output = input @ weight^T + bias`.

    weight is [out_features, in_features] (ONNX Gemm with transB=1, torch Linear);
    the input may have leading batch dimensions.
    """

    name = "qsim.dense"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )

    @staticmethod
    def infer(input_shape: Shape, weight_shape: Shape) -> Shape:
        _check(len(weight_shape) == 2, f"dense weight must be rank 2 [out, in], got {list(weight_shape)}")
        _check(len(input_shape) >= 1, "dense input must have rank >= 1")
        _check(
            input_shape[-1] == weight_shape[1],
            f"dense input has {input_shape[-1]} features but the weight expects {weight_shape[1]}",
        )
        return (*input_shape[:-1], weight_shape[0])

    def __init__(self, input: SSAValue, weight: SSAValue, bias: SSAValue | None = None):
        shape = self.infer(shape_of(input), shape_of(weight))
        super().__init__(
            operands=[input, weight, [bias] if bias is not None else []],
            result_types=[tensor_type(shape)],
        )

    def verify_(self) -> None:
        shape = self.infer(shape_of(self.input), shape_of(self.weight))
        if self.bias is not None:
            _check(
                shape_of(self.bias) == (shape[-1],),
                f"bias shape {list(shape_of(self.bias))} must be [{shape[-1]}]",
            )
        _check_result_shape(self, shape)


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """Matrix product of two tensors with numpy/ONNX MatMul semantics."""

    name = "qsim.matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)"
    )

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = infer_matmul(shape_of(lhs), shape_of(rhs))
        super().__init__(operands=[lhs, rhs], result_types=[tensor_type(shape)])

    def verify_(self) -> None:
        _check_result_shape(self, infer_matmul(shape_of(self.lhs), shape_of(self.rhs)))


# --------------------------------------------------------------------------
# Elementwise arithmetic
# --------------------------------------------------------------------------


@irdl_op_definition
class AddOp(_BinaryElementwise):
    """Elementwise sum with broadcasting."""

    name = "qsim.add"


@irdl_op_definition
class SubOp(_BinaryElementwise):
    """Elementwise difference with broadcasting."""

    name = "qsim.sub"


@irdl_op_definition
class MulOp(_BinaryElementwise):
    """Elementwise product with broadcasting."""

    name = "qsim.mul"


@irdl_op_definition
class DivOp(_BinaryElementwise):
    """Elementwise quotient with broadcasting."""

    name = "qsim.div"


@irdl_op_definition
class ReluOp(_UnaryElementwise):
    """max(x, 0)."""

    name = "qsim.relu"


@irdl_op_definition
class ClipOp(_UnaryElementwise):
    """min(max(x, min), max); ReLU6 is clip(0, 6). Bounds may be +-inf."""

    name = "qsim.clip"
    min = prop_def(FloatAttr)
    max = prop_def(FloatAttr)

    def verify_(self) -> None:
        low, high = self.min.value.data, self.max.value.data
        _check(not (math.isnan(low) or math.isnan(high)), "clip bounds must not be NaN")
        _check(low <= high, f"clip min {low} is greater than max {high}")


@irdl_op_definition
class SigmoidOp(_UnaryElementwise):
    """1 / (1 + exp(-x))."""

    name = "qsim.sigmoid"


@irdl_op_definition
class TanhOp(_UnaryElementwise):
    """Hyperbolic tangent."""

    name = "qsim.tanh"


@irdl_op_definition
class SqrtOp(_UnaryElementwise):
    """Elementwise square root."""

    name = "qsim.sqrt"


@irdl_op_definition
class PowOp(_UnaryElementwise):
    """x ** exponent, with a constant scalar exponent (torch's LayerNorm uses 2)."""

    name = "qsim.pow"
    exponent = prop_def(FloatAttr)


@irdl_op_definition
class ErfOp(_UnaryElementwise):
    """The Gauss error function (GELU's exact form uses it)."""

    name = "qsim.erf"


@irdl_op_definition
class GeluOp(_UnaryElementwise):
    """GELU, exact (erf) form: 0.5 * x * (1 + erf(x / sqrt(2)))."""

    name = "qsim.gelu"


# --------------------------------------------------------------------------
# Pooling, normalization, softmax, reductions
# --------------------------------------------------------------------------


class _Pool2d(_ShapeOp):
    kernel = prop_def(DenseArrayBase[I64])
    strides = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    ceil_mode = prop_def(BoolAttr)

    def window(self) -> tuple[Shape, Shape, Shape, Shape]:
        dilations = ints(self.dilations) if isinstance(self, MaxPool2dOp) else (1, 1)
        return ints(self.kernel), ints(self.strides), ints(self.pads), dilations

    def verify_(self) -> None:
        kernel, strides, pads, dilations = self.window()
        shape = infer_pool2d(
            shape_of(self.input), kernel, strides, pads, dilations,
            bool(self.ceil_mode.value.data),
        )
        _check_result_shape(self, shape)


@irdl_op_definition
class MaxPool2dOp(_Pool2d):
    """Max pooling over NCHW windows; padding never wins the max."""

    name = "qsim.max_pool2d"
    dilations = prop_def(DenseArrayBase[I64])


@irdl_op_definition
class AvgPool2dOp(_Pool2d):
    """Average pooling; `count_include_pad` as ONNX AveragePool."""

    name = "qsim.avg_pool2d"
    count_include_pad = prop_def(BoolAttr)


@irdl_op_definition
class GlobalAvgPool2dOp(_ShapeOp):
    """Mean over H and W: [N, C, H, W] -> [N, C, 1, 1]."""

    name = "qsim.global_avg_pool2d"

    def verify_(self) -> None:
        shape = shape_of(self.input)
        _check(len(shape) == 4, f"global_avg_pool2d input must be NCHW (rank 4), got rank {len(shape)}")
        _check_result_shape(self, (shape[0], shape[1], 1, 1))


@irdl_op_definition
class SoftmaxOp(_UnaryElementwise):
    """Softmax along one axis."""

    name = "qsim.softmax"
    axis = prop_def(IntegerAttr[I64])

    def verify_(self) -> None:
        rank = len(shape_of(self.input))
        axis = self.axis.value.data
        _check(0 <= axis < rank, f"axis {axis} is out of range for rank {rank}")


@irdl_op_definition
class ReduceMeanOp(_ShapeOp):
    """Mean over `axes` (non-negative, sorted), keeping them as size 1 or not."""

    name = "qsim.reduce_mean"
    axes = prop_def(DenseArrayBase[I64])
    keepdims = prop_def(BoolAttr)

    @staticmethod
    def infer(shape: Shape, axes: Shape, keepdims: bool) -> Shape:
        rank = len(shape)
        _check(
            all(0 <= a < rank for a in axes) and len(set(axes)) == len(axes) and len(axes) > 0,
            f"axes {list(axes)} must be distinct and in [0, {rank})",
        )
        if keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in axes)

    def verify_(self) -> None:
        shape = self.infer(
            shape_of(self.input), ints(self.axes), bool(self.keepdims.value.data)
        )
        _check_result_shape(self, shape)


@irdl_op_definition
class BatchNormOp(IRDLOperation):
    """Inference-mode batch normalization over axis 1; hago-canonicalize folds it.

    output = (input - mean) / sqrt(var + epsilon) * scale + bias
    """

    name = "qsim.batch_norm"
    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    mean = operand_def(TensorType)
    var = operand_def(TensorType)
    output = result_def(TensorType)
    epsilon = prop_def(FloatAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $scale `,` $bias `,` $mean `,` $var attr-dict `:` "
        "functional-type(operands, results)"
    )

    def verify_(self) -> None:
        shape = shape_of(self.input)
        _check(len(shape) >= 2, "batch_norm input must have a channel axis (rank >= 2)")
        for operand_name in ("scale", "bias", "mean", "var"):
            operand = getattr(self, operand_name)
            _check(
                shape_of(operand) == (shape[1],),
                f"{operand_name} shape {list(shape_of(operand))} must be [{shape[1]}] (one per channel)",
            )
        _check_result_shape(self, shape)


@irdl_op_definition
class LayerNormOp(IRDLOperation):
    """Layer normalization over the axes from `axis` to the last (ONNX LayerNormalization)."""

    name = "qsim.layer_norm"
    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    epsilon = prop_def(FloatAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )

    def verify_(self) -> None:
        shape = shape_of(self.input)
        axis = self.axis.value.data
        _check(0 <= axis < len(shape), f"axis {axis} is out of range for rank {len(shape)}")
        normalized = shape[axis:]
        for operand in (self.scale, self.bias):
            if operand is not None:
                try:
                    broadcast = tuple(np.broadcast_shapes(normalized, shape_of(operand)))
                except ValueError:
                    broadcast = None
                _check(
                    broadcast == normalized,
                    f"scale/bias shape {list(shape_of(operand))} does not broadcast to the "
                    f"normalized shape {list(normalized)}",
                )
        _check_result_shape(self, shape)


# --------------------------------------------------------------------------
# Data movement
# --------------------------------------------------------------------------


@irdl_op_definition
class ReshapeOp(_ShapeOp):
    """Reshape to the (static) result type; ONNX Reshape, Flatten, Squeeze, Unsqueeze."""

    name = "qsim.reshape"

    def verify_(self) -> None:
        before, after = shape_of(self.input), shape_of(self.output)
        _check(
            math.prod(before) == math.prod(after),
            f"cannot reshape {list(before)} ({math.prod(before)} elements) to "
            f"{list(after)} ({math.prod(after)} elements)",
        )


@irdl_op_definition
class TransposeOp(_ShapeOp):
    """Permute dimensions: output dim i is input dim perm[i]."""

    name = "qsim.transpose"
    perm = prop_def(DenseArrayBase[I64])

    def verify_(self) -> None:
        shape, perm = shape_of(self.input), ints(self.perm)
        _check(
            sorted(perm) == list(range(len(shape))),
            f"perm {list(perm)} is not a permutation of the {len(shape)} dimensions",
        )
        _check_result_shape(self, tuple(shape[p] for p in perm))


@irdl_op_definition
class PadOp(_ShapeOp):
    """Constant padding; `pads` is ONNX's [begin_0, ..., begin_n, end_0, ..., end_n]."""

    name = "qsim.pad"
    pads = prop_def(DenseArrayBase[I64])
    value = prop_def(FloatAttr)

    def verify_(self) -> None:
        shape, pads = shape_of(self.input), ints(self.pads)
        rank = len(shape)
        _check(len(pads) == 2 * rank, f"pads has {len(pads)} entries, expected {2 * rank} (2 per dimension)")
        _check(min(pads, default=0) >= 0, f"negative pads {list(pads)} are not supported")
        _check_result_shape(
            self, tuple(d + pads[i] + pads[i + rank] for i, d in enumerate(shape))
        )


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Concatenation along `axis`."""

    name = "qsim.concat"
    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` functional-type($inputs, $output)"

    @staticmethod
    def infer(shapes: Sequence[Shape], axis: int) -> Shape:
        _check(len(shapes) >= 1, "concat needs at least one operand")
        first = shapes[0]
        _check(0 <= axis < len(first), f"axis {axis} is out of range for rank {len(first)}")
        for shape in shapes[1:]:
            _check(
                len(shape) == len(first)
                and all(a == b for i, (a, b) in enumerate(zip(shape, first)) if i != axis),
                f"operand shapes {[list(s) for s in shapes]} differ outside axis {axis}",
            )
        total = sum(shape[axis] for shape in shapes)
        return (*first[:axis], total, *first[axis + 1 :])

    def verify_(self) -> None:
        shapes = [shape_of(v) for v in self.inputs]
        _check_result_shape(self, self.infer(shapes, self.axis.value.data))


# --------------------------------------------------------------------------
# Simulated quantization
# --------------------------------------------------------------------------

QUANTIZE_KINDS = ("input", "weight", "activation", "bias", "accumulator")
OVERFLOW_MODES = ("wrap", "saturate")


@irdl_op_definition
class SimulatedQuantizeOp(_UnaryElementwise):
    """Quantize-dequantize in float: rounding, saturation and accumulator overflow.

    `kind` says what the edge carries (input, weight, activation, bias, or
    accumulator: the sums of a conv2d / dense / add going straight into a ReLU or
    Clip, which real int8 kernels fuse; only the accumulator is simulated there,
    and the ReLU's output edge is the one quantized);
    `dtype` is the integer container (i8, i16, i32) and `signed` its signedness;
    `effective_bits` (within [`min_bits`, `max_bits`]) is what the search picks.
    `threshold` (one value, or one per channel along `axis`) comes from
    calibration; until it is set the op is the identity. On the outputs of conv2d
    and dense, `accumulator` / `overflow` say how the integer sums are held.
    """

    name = "qsim.simulated_quantize"
    kind = prop_def(StringAttr)
    dtype = prop_def(IntegerType)
    signed = prop_def(BoolAttr)
    effective_bits = prop_def(IntegerAttr[I64])
    min_bits = prop_def(IntegerAttr[I64])
    max_bits = prop_def(IntegerAttr[I64])
    threshold = opt_prop_def(ArrayAttr[FloatAttr])
    axis = opt_prop_def(IntegerAttr[I64])
    accumulator = opt_prop_def(IntegerType)
    overflow = opt_prop_def(StringAttr)

    def verify_(self) -> None:
        kind = self.kind.data
        _check(kind in QUANTIZE_KINDS, f"kind '{kind}' is not one of {', '.join(QUANTIZE_KINDS)}")
        width = self.dtype.width.data
        bits, low, high = (
            self.effective_bits.value.data, self.min_bits.value.data, self.max_bits.value.data
        )
        _check(1 <= low <= high <= width, f"bit range [{low}, {high}] must lie within 1..{width} ({self.dtype})")
        _check(low <= bits <= high, f"effective_bits {bits} is outside [{low}, {high}]")
        shape = shape_of(self.input)
        if self.axis is not None:
            axis = self.axis.value.data
            _check(0 <= axis < len(shape), f"axis {axis} is out of range for rank {len(shape)}")
        if self.threshold is not None:
            values = [t.value.data for t in self.threshold.data]
            expected = 1 if self.axis is None else shape[self.axis.value.data]
            _check(
                len(values) == expected,
                f"{len(values)} thresholds given, expected {expected}"
                + ("" if self.axis is None else f" (one per channel along axis {self.axis.value.data})"),
            )
            _check(
                all(math.isfinite(v) and v > 0 for v in values),
                "thresholds must be finite and positive",
            )
        if self.overflow is not None:
            _check(
                self.overflow.data in OVERFLOW_MODES,
                f"overflow '{self.overflow.data}' is not one of {', '.join(OVERFLOW_MODES)}",
            )
            _check(self.accumulator is not None, "overflow is given without an accumulator dtype")


Qsim = Dialect(
    "qsim",
    [
        ConstantOp,
        Conv2dOp,
        DenseOp,
        MatmulOp,
        AddOp,
        SubOp,
        MulOp,
        DivOp,
        ReluOp,
        ClipOp,
        SigmoidOp,
        TanhOp,
        SqrtOp,
        PowOp,
        ErfOp,
        GeluOp,
        MaxPool2dOp,
        AvgPool2dOp,
        GlobalAvgPool2dOp,
        SoftmaxOp,
        ReduceMeanOp,
        BatchNormOp,
        LayerNormOp,
        ReshapeOp,
        TransposeOp,
        PadOp,
        ConcatOp,
        SimulatedQuantizeOp,
    ],
)



# The ONNX name of each function argument and result, kept as an argument /
# result attribute so that inputs and outputs are addressed as the user named them.
IO_NAME_ATTR = "qsim.name"
