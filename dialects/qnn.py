"""The `qnn` dialect: the realized integer model, mirroring TVM's QNN.

`hago-realize` produces it from a searched `qsim` module; `hago-check-legal`
checks it against a hardware spec; the integer interpreter runs it bit-exactly;
the TVM and ONNX backends emit it. Tensors hold integers in their container
type (`si8`, `ui8`, `si16`, `si32`); an edge searched to 6 effective bits is an
`si8` tensor whose values stay in [-32, 31] (the `qmin`/`qmax` of the op that
made it).

Real value = integer x scale (symmetric quantization, no zero point). Scales
are f64 arrays: one value, or one per channel along `axis`. Arithmetic:
- `qnn.quantize`:   q = clip(round(x / scale), qmin, qmax) (float64; float32
  with `float_scale`, on specs with `float32_requantize`)
- `qnn.dequantize`: x = q * scale
- `qnn.requantize`: q' = clip(round(q * multiplier / 2^shift), qmin, qmax);
  multiplier / 2^shift approximates input_scale / output_scale (31-bit
  multiplier; a pure shift, multiplier 1, when the ratio is a power of two).
  With `float_multiplier` (specs with `float32_requantize`), the arithmetic is
  IEEE float32 instead: q' = clip(round(f32(q) * f32(float_multiplier))),
  each step rounded to nearest even, as cvtdq2ps / vmulps / vcvtps2dq do
- `qnn.conv2d` / `qnn.dense`: exact integer sums plus bias, held in the result
  type (the accumulator), wrapping or saturating as `overflow` says
- `qnn.add`: each operand is first rescaled like a requantize,
  t = round(q * multiplier / 2^operand_shift), to the output scale times
  2^-shift (the extra `shift` bits keep precision); the two are summed in
  `accumulator` and q = clip(round(sum / 2^shift), qmin, qmax)
- `qnn.clip`: integer bounds (ReLU is clip with min 0)
- `qnn.sum_pool2d` / `qnn.global_sum_pool2d`: window sums in the result type;
  the requantize that follows divides by the window size (average pooling)
Rounding is half to even everywhere, as in the simulation (hago_ir/numerics.py).
Data movement (reshape, transpose, pad, concat, max_pool2d) is type-agnostic and
stays as `qsim` ops on integer tensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import Shape, float_attr, int_array, int_attr, ints, shape_of
from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float32Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Dialect, SSAValue
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
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, Pure
from xdsl.utils.exceptions import VerifyException

OVERFLOW_MODES = ("wrap", "saturate")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise VerifyException(message)


def element_type(value: SSAValue | Attribute) -> Attribute:
    type_ = value.type if isinstance(value, SSAValue) else value
    assert isinstance(type_, TensorType)
    return type_.get_element_type()


def is_integer_tensor(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and isinstance(element_type(value), IntegerType)


def integer_type(width: int, signed: bool) -> IntegerType:
    return IntegerType(width, Signedness.SIGNED if signed else Signedness.UNSIGNED)


def type_range(type_: IntegerType) -> tuple[int, int]:
    width = type_.width.data
    if type_.signedness.data == Signedness.UNSIGNED:
        return 0, 2**width - 1
    return -(2 ** (width - 1)), 2 ** (width - 1) - 1


def scales_attr(values: Sequence[float]) -> ArrayAttr[FloatAttr]:
    return ArrayAttr([float_attr(v) for v in values])


def scale_values(attr: ArrayAttr[FloatAttr]) -> list[float]:
    return [float(v.value.data) for v in attr.data]


def _check_integer(value: SSAValue, what: str) -> IntegerType:
    _check(is_integer_tensor(value), f"{what} must be an integer tensor, got {value.type}")
    type_ = element_type(value)
    assert isinstance(type_, IntegerType)
    _check(
        type_.signedness.data != Signedness.SIGNLESS,
        f"{what} must say its signedness (si8 / ui8, not i8), got {type_}",
    )
    return type_


def _check_range(op: IRDLOperation, type_: IntegerType) -> None:
    low, high = type_range(type_)
    qmin, qmax = op.qmin.value.data, op.qmax.value.data  # type: ignore[attr-defined]
    _check(
        low <= qmin <= qmax <= high,
        f"range [{qmin}, {qmax}] must lie within {type_}'s [{low}, {high}]",
    )


def _check_scales(attr: ArrayAttr[FloatAttr], axis: IntegerAttr | None, shape: Shape, what: str) -> None:
    values = scale_values(attr)
    _check(all(math.isfinite(v) and v > 0 for v in values), f"{what} must be finite and positive")
    if axis is None:
        _check(len(values) == 1, f"{len(values)} {what} values given without an axis, expected 1")
        return
    index = axis.value.data
    _check(0 <= index < len(shape), f"axis {index} is out of range for rank {len(shape)}")
    _check(
        len(values) in (1, shape[index]),
        f"{len(values)} {what} values given, expected 1 or {shape[index]} (axis {index})",
    )


# --------------------------------------------------------------------------
# Constants and conversions
# --------------------------------------------------------------------------


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """An integer constant (a quantized weight or bias) with its scale.

        %w = qnn.constant "conv1.weight" dense<...> : tensor<16x3x3x3xsi8> {scale = [...], axis = 0}
    """

    name = "qnn.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    scale = prop_def(ArrayAttr[FloatAttr])
    axis = opt_prop_def(IntegerAttr[I64])
    sym_name = opt_prop_def(StringAttr, prop_name="name")
    output = result_def(TensorType)
    traits = traits_def(Pure(), ConstantLike())

    def __init__(
        self, value: DenseIntOrFPElementsAttr, scale: Sequence[float], axis: int | None = None,
        name: str | None = None,
    ):
        properties: dict[str, Attribute] = {"value": value, "scale": scales_attr(scale)}
        if axis is not None:
            properties["axis"] = int_attr(axis)
        if name:
            properties["name"] = StringAttr(name)
        super().__init__(result_types=[value.type], properties=properties)

    def verify_(self) -> None:
        _check(
            self.value.type == self.output.type,
            f"value type {self.value.type} does not match result type {self.output.type}",
        )
        _check_integer(self.output, "qnn.constant's value")
        _check_scales(self.scale, self.axis, shape_of(self.output), "scale")

    def print(self, printer: Printer) -> None:
        if self.sym_name is not None:
            printer.print_string(" ")
            printer.print_attribute(self.sym_name)
        printer.print_string(" ")
        printer.print_attribute(self.value)
        printer.print_string(" {scale = ")
        printer.print_attribute(self.scale)
        if self.axis is not None:
            printer.print_string(f", axis = {self.axis.value.data}")
        printer.print_string("}")

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        name = parser.parse_optional_str_literal()
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error("qnn.constant expects a dense elements attribute")
        attrs = parser.parse_optional_attr_dict()
        scale = attrs.get("scale")
        if not isinstance(scale, ArrayAttr):
            parser.raise_error("qnn.constant expects {scale = [...]} after its value")
        axis = attrs.get("axis")
        return cls(
            value, scale_values(scale),  # type: ignore[arg-type]
            axis.value.data if isinstance(axis, IntegerAttr) else None, name,
        )


@irdl_op_definition
class QuantizeOp(IRDLOperation):
    """Float to integers: q = clip(round(x / scale), qmin, qmax), in float64.

    With `float_scale` (float32 values, one per scale; specs with
    `float32_requantize`) the division is IEEE float32 instead:
    q = clip(round(f32(x) / float_scale)), rounding to nearest even.
    """

    name = "qnn.quantize"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    scale = prop_def(ArrayAttr[FloatAttr])
    float_scale = opt_prop_def(DenseArrayBase[Float32Type])
    axis = opt_prop_def(IntegerAttr[I64])
    qmin = prop_def(IntegerAttr[I64])
    qmax = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(
        self, input: SSAValue, dtype: IntegerType, scale: Sequence[float], qmin: int, qmax: int,
        axis: int | None = None, float_scale: Sequence[float] | None = None,
    ):
        properties: dict[str, Attribute] = {
            "scale": scales_attr(scale), "qmin": int_attr(qmin), "qmax": int_attr(qmax),
        }
        if axis is not None:
            properties["axis"] = int_attr(axis)
        if float_scale is not None:
            properties["float_scale"] = DenseArrayBase.from_list(Float32Type(), list(float_scale))
        super().__init__(
            operands=[input], result_types=[TensorType(dtype, shape_of(input))], properties=properties
        )

    def float_scales(self) -> tuple[float, ...] | None:
        """The float32 divisors (as Python floats holding float32 values), or None in float64."""
        if self.float_scale is None:
            return None
        return tuple(float(v) for v in self.float_scale.get_values())

    def verify_(self) -> None:
        floats = self.float_scales()
        if floats is not None:
            _check(len(floats) == len(self.scale.data), f"{len(floats)} float scales for {len(self.scale.data)} scale(s)")
            _check(all(math.isfinite(f) and f > 0 for f in floats), "float scales must be positive and finite")
        _check(not is_integer_tensor(self.input), "qnn.quantize takes a float tensor")
        _check(shape_of(self.input) == shape_of(self.output), "result shape must equal the input shape")
        _check_range(self, _check_integer(self.output, "the result"))
        _check_scales(self.scale, self.axis, shape_of(self.input), "scale")


@irdl_op_definition
class DequantizeOp(IRDLOperation):
    """Integers to float: x = q * scale."""

    name = "qnn.dequantize"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    scale = prop_def(ArrayAttr[FloatAttr])
    axis = opt_prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, scale: Sequence[float], axis: int | None = None):
        properties: dict[str, Attribute] = {"scale": scales_attr(scale)}
        if axis is not None:
            properties["axis"] = int_attr(axis)
        super().__init__(
            operands=[input], result_types=[TensorType(Float32Type(), shape_of(input))],
            properties=properties,
        )

    def verify_(self) -> None:
        _check_integer(self.input, "qnn.dequantize's operand")
        _check(not is_integer_tensor(self.output), "qnn.dequantize returns a float tensor")
        _check(shape_of(self.input) == shape_of(self.output), "result shape must equal the input shape")
        _check_scales(self.scale, self.axis, shape_of(self.input), "scale")


@irdl_op_definition
class RequantizeOp(IRDLOperation):
    """Integers at input_scale to integers at output_scale, in fixed point or float32.

    q' = clip(round(q * multiplier / 2^shift), qmin, qmax), per channel along
    `axis` when the scales are; the multiplier / shift pairs are what the
    hardware computes with, the scales say what they stand for.

    With `float_multiplier` (float32 values, one per multiplier) the hardware
    computes in IEEE float32 instead: q' = clip(round(f32(q) * float_multiplier),
    qmin, qmax), the conversion, the product and the rounding each to nearest
    even (hago_ir.numerics.requantize_float32); multiplier / shift then only
    record the fixed-point equivalent.
    """

    name = "qnn.requantize"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    input_scale = prop_def(ArrayAttr[FloatAttr])
    output_scale = prop_def(ArrayAttr[FloatAttr])
    multiplier = prop_def(DenseArrayBase[I64])
    shift = prop_def(DenseArrayBase[I64])
    float_multiplier = opt_prop_def(DenseArrayBase[Float32Type])
    axis = opt_prop_def(IntegerAttr[I64])
    qmin = prop_def(IntegerAttr[I64])
    qmax = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(
        self, input: SSAValue, dtype: IntegerType, input_scale: Sequence[float],
        output_scale: Sequence[float], multiplier: Sequence[int], shift: Sequence[int],
        qmin: int, qmax: int, axis: int | None = None, float_multiplier: Sequence[float] | None = None,
    ):
        properties: dict[str, Attribute] = {
            "input_scale": scales_attr(input_scale), "output_scale": scales_attr(output_scale),
            "multiplier": int_array(multiplier), "shift": int_array(shift),
            "qmin": int_attr(qmin), "qmax": int_attr(qmax),
        }
        if axis is not None:
            properties["axis"] = int_attr(axis)
        if float_multiplier is not None:
            properties["float_multiplier"] = DenseArrayBase.from_list(Float32Type(), list(float_multiplier))
        super().__init__(
            operands=[input], result_types=[TensorType(dtype, shape_of(input))], properties=properties
        )

    def float_multipliers(self) -> tuple[float, ...] | None:
        """The float32 multipliers (as Python floats holding float32 values), or None in fixed point."""
        if self.float_multiplier is None:
            return None
        return tuple(float(v) for v in self.float_multiplier.get_values())

    def verify_(self) -> None:
        _check_integer(self.input, "qnn.requantize's operand")
        _check(shape_of(self.input) == shape_of(self.output), "result shape must equal the input shape")
        _check_range(self, _check_integer(self.output, "the result"))
        shape = shape_of(self.input)
        _check_scales(self.input_scale, self.axis, shape, "input_scale")
        _check_scales(self.output_scale, self.axis, shape, "output_scale")
        multipliers, shifts = ints(self.multiplier), ints(self.shift)
        channels = max(len(self.input_scale.data), len(self.output_scale.data))
        _check(
            len(multipliers) == len(shifts) and len(multipliers) in (1, channels),
            f"{len(multipliers)} multipliers and {len(shifts)} shifts for {channels} channel(s)",
        )
        _check(all(0 < m < 2**31 for m in multipliers), "multipliers must lie in [1, 2^31)")
        _check(all(0 <= s < 63 for s in shifts), "shifts must lie in [0, 63)")
        floats = self.float_multipliers()
        if floats is not None:
            _check(len(floats) == len(multipliers),
                   f"{len(floats)} float multipliers for {len(multipliers)} multipliers")
            _check(all(math.isfinite(f) and f > 0 for f in floats), "float multipliers must be positive and finite")


# --------------------------------------------------------------------------
# Integer compute
# --------------------------------------------------------------------------


def _check_accumulating(op: IRDLOperation, operands: Sequence[SSAValue]) -> IntegerType:
    for index, operand in enumerate(operands):
        _check_integer(operand, f"operand {index}")
    result = _check_integer(op.results[0], "the result (the accumulator)")
    _check(
        op.overflow.data in OVERFLOW_MODES,  # type: ignore[attr-defined]
        f"overflow '{op.overflow.data}' is not one of {', '.join(OVERFLOW_MODES)}",  # type: ignore[attr-defined]
    )
    return result


@irdl_op_definition
class Conv2dOp(IRDLOperation):
    """Integer conv2d (NCHW, OIHW): exact sums plus bias, held in the result type."""

    name = "qnn.conv2d"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)
    strides = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    dilations = prop_def(DenseArrayBase[I64])
    groups = prop_def(IntegerAttr[I64])
    overflow = prop_def(StringAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self, input: SSAValue, weight: SSAValue, bias: SSAValue | None, accumulator: IntegerType,
        strides: Sequence[int], pads: Sequence[int], dilations: Sequence[int], groups: int,
        overflow: str,
    ):
        shape = qsim.infer_conv2d(
            shape_of(input), shape_of(weight), tuple(strides), tuple(pads), tuple(dilations), groups
        )
        super().__init__(
            operands=[input, weight, [bias] if bias is not None else []],
            result_types=[TensorType(accumulator, shape)],
            properties={
                "strides": int_array(strides), "pads": int_array(pads),
                "dilations": int_array(dilations), "groups": int_attr(groups),
                "overflow": StringAttr(overflow),
            },
        )

    def verify_(self) -> None:
        accumulator = _check_accumulating(self, [self.input, self.weight])
        shape = qsim.infer_conv2d(
            shape_of(self.input), shape_of(self.weight), ints(self.strides), ints(self.pads),
            ints(self.dilations), self.groups.value.data,
        )
        _check(shape_of(self.output) == shape, f"result shape {list(shape_of(self.output))} != {list(shape)}")
        if self.bias is not None:
            _check(shape_of(self.bias) == (shape[1],), f"bias must have shape [{shape[1]}]")
            _check(element_type(self.bias) == accumulator, "bias must have the accumulator's type")


@irdl_op_definition
class DenseOp(IRDLOperation):
    """Integer dense: input @ weight^T + bias, held in the result type."""

    name = "qnn.dense"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)
    overflow = prop_def(StringAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self, input: SSAValue, weight: SSAValue, bias: SSAValue | None, accumulator: IntegerType,
        overflow: str,
    ):
        shape = qsim.DenseOp.infer(shape_of(input), shape_of(weight))
        super().__init__(
            operands=[input, weight, [bias] if bias is not None else []],
            result_types=[TensorType(accumulator, shape)],
            properties={"overflow": StringAttr(overflow)},
        )

    def verify_(self) -> None:
        accumulator = _check_accumulating(self, [self.input, self.weight])
        shape = qsim.DenseOp.infer(shape_of(self.input), shape_of(self.weight))
        _check(shape_of(self.output) == shape, f"result shape {list(shape_of(self.output))} != {list(shape)}")
        if self.bias is not None:
            _check(shape_of(self.bias) == (shape[-1],), f"bias must have shape [{shape[-1]}]")
            _check(element_type(self.bias) == accumulator, "bias must have the accumulator's type")


@irdl_op_definition
class AddOp(IRDLOperation):
    """Integer add of two differently scaled tensors, straight into the output scale.

    t_lhs = round(lhs * lhs_multiplier / 2^lhs_shift) (and t_rhs likewise) put both
    operands on the grid output_scale / 2^shift; their sum is held in
    `accumulator` (whose width bounds `shift`) and q = clip(round(sum / 2^shift), qmin, qmax).
    """

    name = "qnn.add"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)
    lhs_multiplier = prop_def(IntegerAttr[I64])
    lhs_shift = prop_def(IntegerAttr[I64])
    rhs_multiplier = prop_def(IntegerAttr[I64])
    rhs_shift = prop_def(IntegerAttr[I64])
    shift = prop_def(IntegerAttr[I64])
    accumulator = prop_def(IntegerType)
    output_scale = prop_def(ArrayAttr[FloatAttr])
    qmin = prop_def(IntegerAttr[I64])
    qmax = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)"
    )

    def __init__(
        self, lhs: SSAValue, rhs: SSAValue, dtype: IntegerType, lhs_rescale: tuple[int, int],
        rhs_rescale: tuple[int, int], shift: int, accumulator: IntegerType, output_scale: float,
        qmin: int, qmax: int,
    ):
        shape = qsim.broadcast_shapes(shape_of(lhs), shape_of(rhs))
        super().__init__(
            operands=[lhs, rhs], result_types=[TensorType(dtype, shape)],
            properties={
                "lhs_multiplier": int_attr(lhs_rescale[0]), "lhs_shift": int_attr(lhs_rescale[1]),
                "rhs_multiplier": int_attr(rhs_rescale[0]), "rhs_shift": int_attr(rhs_rescale[1]),
                "shift": int_attr(shift), "accumulator": accumulator,
                "output_scale": scales_attr([output_scale]),
                "qmin": int_attr(qmin), "qmax": int_attr(qmax),
            },
        )

    def verify_(self) -> None:
        _check_integer(self.lhs, "lhs")
        _check_integer(self.rhs, "rhs")
        _check_range(self, _check_integer(self.output, "the result"))
        shape = qsim.broadcast_shapes(shape_of(self.lhs), shape_of(self.rhs))
        _check(shape_of(self.output) == shape, f"result shape {list(shape_of(self.output))} != {list(shape)}")
        for name in ("shift", "lhs_shift", "rhs_shift"):
            _check(0 <= getattr(self, name).value.data < 63, f"{name} must lie in [0, 63)")
        for name in ("lhs_multiplier", "rhs_multiplier"):
            _check(0 < getattr(self, name).value.data < 2**31, f"{name} must lie in [1, 2^31)")
        _check(len(self.output_scale.data) == 1, "qnn.add has one output scale")


@irdl_op_definition
class ClipOp(IRDLOperation):
    """Integer clip to [min, max]; ReLU is min = 0."""

    name = "qnn.clip"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    output = result_def(T)
    min = prop_def(IntegerAttr[I64])
    max = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, input: SSAValue, low: int, high: int):
        super().__init__(
            operands=[input], result_types=[input.type],
            properties={"min": int_attr(low), "max": int_attr(high)},
        )

    def verify_(self) -> None:
        _check_integer(self.input, "qnn.clip's operand")
        _check(self.min.value.data <= self.max.value.data, "min must not exceed max")


@irdl_op_definition
class SumPool2dOp(IRDLOperation):
    """Window sums (zero padding) in the result type; average pooling before its divide."""

    name = "qnn.sum_pool2d"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    kernel = prop_def(DenseArrayBase[I64])
    strides = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(
        self, input: SSAValue, accumulator: IntegerType, kernel: Sequence[int],
        strides: Sequence[int], pads: Sequence[int],
    ):
        shape = qsim.infer_pool2d(shape_of(input), tuple(kernel), tuple(strides), tuple(pads), (1, 1), False)
        super().__init__(
            operands=[input], result_types=[TensorType(accumulator, shape)],
            properties={"kernel": int_array(kernel), "strides": int_array(strides), "pads": int_array(pads)},
        )

    def verify_(self) -> None:
        _check_integer(self.input, "qnn.sum_pool2d's operand")
        _check_integer(self.output, "the result (the accumulator)")
        shape = qsim.infer_pool2d(
            shape_of(self.input), ints(self.kernel), ints(self.strides), ints(self.pads), (1, 1), False
        )
        _check(shape_of(self.output) == shape, f"result shape {list(shape_of(self.output))} != {list(shape)}")


@irdl_op_definition
class GlobalSumPool2dOp(IRDLOperation):
    """Sums over H and W in the result type: [N, C, H, W] -> [N, C, 1, 1]."""

    name = "qnn.global_sum_pool2d"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, accumulator: IntegerType):
        n, c, _, _ = shape_of(input)
        super().__init__(operands=[input], result_types=[TensorType(accumulator, [n, c, 1, 1])])

    def verify_(self) -> None:
        _check_integer(self.input, "qnn.global_sum_pool2d's operand")
        _check_integer(self.output, "the result (the accumulator)")
        shape = shape_of(self.input)
        _check(len(shape) == 4, "global_sum_pool2d input must be NCHW")
        _check(shape_of(self.output) == (shape[0], shape[1], 1, 1), "result must be [N, C, 1, 1]")


Qnn = Dialect(
    "qnn",
    [
        ConstantOp,
        QuantizeOp,
        DequantizeOp,
        RequantizeOp,
        Conv2dOp,
        DenseOp,
        AddOp,
        ClipOp,
        SumPool2dOp,
        GlobalSumPool2dOp,
    ],
)
