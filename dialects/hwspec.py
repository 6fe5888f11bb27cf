"""The `hwspec` dialect: a hardware specification as a set of legality rules.

A spec is data, not code (DESIGN.md point 1). `hwspec.spec` holds one rule op
per (operator, data types) combination the hardware runs fast:

    hwspec.spec "x86-vnni" {
      // vpdpbusd: u8 x i8 products summed into i32 lanes
      hwspec.integer "conv2d" {inputs = [ui8, si8], accumulator = si32, output = si32, overflow = "wrap"}
      hwspec.float "softmax"
    }

An integer op is legal iff some `hwspec.integer` rule of its operator matches
its dtypes; `hwspec.float` says the operator may also run in float. Spec-wide
flags: `pow2_scales` (scales must be powers of two), `symmetric` (no zero
points, signed integers only), `integer_only` (no float at all),
`float32_requantize` (requantization multiplies in IEEE float32, as
onnxruntime's and TensorRT's x86 / GPU int8 kernels do, instead of with a
fixed-point integer multiplier, and quantization divides in float32; see
`qnn.requantize` and `qnn.quantize`).
Operator names are the qsim op names without the dialect prefix.
"""

from __future__ import annotations

from xdsl.dialects.builtin import (
    ArrayAttr,
    IntegerType,
    Signedness,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Dialect
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.traits import HasParent, NoTerminator
from xdsl.utils.exceptions import VerifyException

OVERFLOW_MODES = ("wrap", "saturate")


def _signedness_name(type_: IntegerType) -> str:
    return {Signedness.SIGNED: "signed", Signedness.UNSIGNED: "unsigned"}.get(
        type_.signedness.data, "signless"
    )


@irdl_op_definition
class SpecOp(IRDLOperation):
    """A hardware specification: a named set of rules."""

    name = "hwspec.spec"
    spec_name = prop_def(StringAttr)
    pow2_scales = opt_prop_def(UnitAttr)
    symmetric = opt_prop_def(UnitAttr)
    integer_only = opt_prop_def(UnitAttr)
    float32_requantize = opt_prop_def(UnitAttr)
    body = region_def("single_block")
    traits = traits_def(NoTerminator())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$spec_name attr-dict-with-keyword $body"

    def verify_(self) -> None:
        if not self.spec_name.data:
            raise VerifyException("a spec needs a non-empty name")
        if self.integer_only is not None and self.float32_requantize is not None:
            raise VerifyException("float32_requantize needs a float unit, which an integer_only spec has not")
        for op in self.body.block.ops:
            if not isinstance(op, (IntegerRuleOp, FloatRuleOp)):
                raise VerifyException(f"'{op.name}' is not a rule (hwspec.integer or hwspec.float)")
            if self.integer_only is not None and isinstance(op, FloatRuleOp):
                raise VerifyException(
                    f"float rule for '{op.op_name.data}' in an integer_only spec"
                )
            if self.symmetric is not None and isinstance(op, IntegerRuleOp):
                unsigned = [t for t in op.input_types() if t.signedness.data == Signedness.UNSIGNED]
                if unsigned:
                    raise VerifyException(
                        f"rule for '{op.op_name.data}' takes unsigned inputs in a symmetric spec"
                    )


@irdl_op_definition
class IntegerRuleOp(IRDLOperation):
    """The hardware runs `op_name` on integers of these types, fast.

    `inputs` lists one dtype per data operand (weights included, bias excluded:
    the bias lives in the accumulator); a single entry applies to every operand.
    `accumulator` (conv2d / dense) is the type products are summed in and
    `overflow` what happens when a sum does not fit it; `output` is the
    result's dtype.
    """

    name = "hwspec.integer"
    op_name = prop_def(StringAttr)
    inputs = prop_def(ArrayAttr[IntegerType])
    accumulator = opt_prop_def(IntegerType)
    output = prop_def(IntegerType)
    overflow = opt_prop_def(StringAttr)
    traits = traits_def(HasParent(SpecOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$op_name attr-dict"

    def input_types(self) -> list[IntegerType]:
        return list(self.inputs.data)

    def verify_(self) -> None:
        if not self.inputs.data:
            raise VerifyException(f"rule for '{self.op_name.data}' lists no input dtypes")
        types = [*self.inputs.data, self.output]
        if self.accumulator is not None:
            types.append(self.accumulator)
        for type_ in types:
            if type_.signedness.data == Signedness.SIGNLESS:
                raise VerifyException(
                    f"rule for '{self.op_name.data}': {type_} is signless; write si{type_.width.data} "
                    f"or ui{type_.width.data}"
                )
        if self.overflow is not None:
            if self.overflow.data not in OVERFLOW_MODES:
                raise VerifyException(
                    f"overflow '{self.overflow.data}' is not one of {', '.join(OVERFLOW_MODES)}"
                )
            if self.accumulator is None:
                raise VerifyException(
                    f"rule for '{self.op_name.data}' gives overflow without an accumulator"
                )
        if self.accumulator is not None:
            widest = max(t.width.data for t in self.inputs.data)
            if self.accumulator.width.data < widest:
                raise VerifyException(
                    f"rule for '{self.op_name.data}': accumulator {self.accumulator} is narrower "
                    f"than its inputs"
                )


@irdl_op_definition
class FloatRuleOp(IRDLOperation):
    """The hardware may run `op_name` in float."""

    name = "hwspec.float"
    op_name = prop_def(StringAttr)
    traits = traits_def(HasParent(SpecOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$op_name attr-dict"


HwSpec = Dialect("hwspec", [SpecOp, IntegerRuleOp, FloatRuleOp])
