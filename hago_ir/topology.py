"""Topology generation (HAGO paper, Algorithm 1): which ops run in integers.

Behind `hago-topology{spec=...}`. Ops are visited in DFS order from the inputs
(the order of the function body, which SSA makes topological). For each op:
- only float rules (or none, on a host that has float): it stays float;
- only integer rules: it is quantized;
- both: it is quantized iff one of its data producers is quantized (so integer
  regions grow from the ops that must be integer, and never start on their own);
- none at all on an `integer_only` spec: an error at the op.

A quantized op gets the first rule whose unsigned inputs are provably
non-negative (relu, ReLU6, softmax, pools of those, ...). The result is written
on the op as discardable attributes:

    hago.mode = "int" | "float"
    hago.inputs = [ui8, si8]        the chosen dtype of each data operand
    hago.output = si32              ... of the result
    hago.accumulator = si32, hago.overflow = "wrap"   (conv2d, dense, add, pools)
    hago.candidates = [[ui8, si8], [si8]]   every dtype some rule allows, per operand

Data operands are all operands except a conv2d / dense bias (which lives in the
accumulator).
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Operation, SSAValue
from xdsl.utils.exceptions import DiagnosticException

from hago_ir.dialects import qsim
from hago_ir.hardware_spec import HardwareSpec, IntegerRule

MODE = "hago.mode"
INPUTS = "hago.inputs"
OUTPUT = "hago.output"
ACCUMULATOR = "hago.accumulator"
OVERFLOW = "hago.overflow"
CANDIDATES = "hago.candidates"


class TopologyError(DiagnosticException):
    """The spec cannot run this model as asked."""


def op_kind(op: Operation) -> str:
    return op.name.removeprefix("qsim.")


def is_compute_op(op: Operation) -> bool:
    return op.dialect_name() == "qsim" and not isinstance(
        op, (qsim.ConstantOp, qsim.SimulatedQuantizeOp)
    )


def data_operands(op: Operation) -> list[SSAValue]:
    if isinstance(op, (qsim.Conv2dOp, qsim.DenseOp)):
        return [op.input, op.weight]
    return list(op.operands)


def is_quantized(op: Operation) -> bool:
    mode = op.attributes.get(MODE)
    return isinstance(mode, StringAttr) and mode.data == "int"


def is_non_negative(value: SSAValue) -> bool:
    """True when every value of this edge is >= 0 whatever the input."""
    owner = value.owner
    if isinstance(owner, (qsim.ReluOp, qsim.SigmoidOp, qsim.SoftmaxOp, qsim.SqrtOp)):
        return True
    if isinstance(owner, qsim.ClipOp):
        return owner.min.value.data >= 0 or is_non_negative(owner.input)
    if isinstance(owner, qsim.ConstantOp):
        return bool((owner.to_array() >= 0).all())
    if isinstance(owner, qsim.PadOp):
        return owner.value.value.data >= 0 and is_non_negative(owner.input)
    if isinstance(owner, (qsim.MaxPool2dOp, qsim.AvgPool2dOp, qsim.GlobalAvgPool2dOp,
                          qsim.ReshapeOp, qsim.TransposeOp, qsim.SimulatedQuantizeOp)):
        return is_non_negative(owner.input)
    if isinstance(owner, qsim.ConcatOp):
        return all(is_non_negative(v) for v in owner.inputs)
    return False


def _produced_by_int_op(value: SSAValue) -> bool:
    owner = value.owner
    return isinstance(owner, Operation) and is_quantized(owner)


def _rule_fits(rule: IntegerRule, operands: list[SSAValue]) -> bool:
    for index, operand in enumerate(operands):
        unsigned = rule.input_type(index).signedness.data == Signedness.UNSIGNED
        if unsigned and not is_non_negative(operand):
            return False
    return True


def _record(op: Operation, rule: IntegerRule, rules: list[IntegerRule], operands: list[SSAValue]) -> None:
    op.attributes[MODE] = StringAttr("int")
    op.attributes[INPUTS] = ArrayAttr([rule.input_type(i) for i in range(len(operands))])
    op.attributes[OUTPUT] = rule.output
    if rule.accumulator is not None:
        op.attributes[ACCUMULATOR] = rule.accumulator
    if rule.overflow is not None:
        op.attributes[OVERFLOW] = StringAttr(rule.overflow)
    candidates = []
    for index in range(len(operands)):
        unique: list[IntegerType] = []
        for other in rules:
            if other.input_type(index) not in unique:
                unique.append(other.input_type(index))
        candidates.append(ArrayAttr(unique))
    op.attributes[CANDIDATES] = ArrayAttr(candidates)


def _clear(op: Operation) -> None:
    for name in (MODE, INPUTS, OUTPUT, ACCUMULATOR, OVERFLOW, CANDIDATES):
        op.attributes.pop(name, None)


FLOAT32_REQUANTIZE = "hago.float32_requantize"


def assign_topology(module: ModuleOp, spec: HardwareSpec) -> int:
    """Mark every compute op int or float; returns how many are int."""
    quantized = 0
    for function in (op for op in module.walk() if isinstance(op, func.FuncOp)):
        for op in function.body.walk():
            if not is_compute_op(op):
                continue
            _clear(op)
            quantized += _assign(op, spec)
    # Later stages need to know what the spec demands of scales.
    module.attributes["hago.spec"] = StringAttr(spec.name)
    module.attributes.pop("hago.pow2_scales", None)
    if spec.pow2_scales:
        module.attributes["hago.pow2_scales"] = UnitAttr()
    # hago-realize emits float32 requantizes for such specs.
    module.attributes.pop(FLOAT32_REQUANTIZE, None)
    if spec.float32_requantize:
        module.attributes[FLOAT32_REQUANTIZE] = UnitAttr()
    if quantized == 0:
        anchor = next((op for op in module.walk() if is_compute_op(op)), module)
        anchor.emit_error(
            f"spec '{spec.name}' quantizes no op of this model: no operator of it has an "
            "integer rule that can start an integer region",
            TopologyError(f"spec '{spec.name}' quantizes no op of this model"),
        )
    return quantized


def _assign(op: Operation, spec: HardwareSpec) -> int:
    kind = op_kind(op)
    operands = data_operands(op)
    rules = [r for r in spec.integer_rules(kind) if r.arity_matches(len(operands))]
    runs_in_float = spec.runs_in_float(kind) or (not rules and not spec.integer_only)
    if not rules and not runs_in_float:
        op.emit_error(
            f"spec '{spec.name}' is integer-only and has no rule for '{kind}'",
            TopologyError(f"spec '{spec.name}' is integer-only and has no rule for '{kind}'"),
        )
    wants_int = bool(rules) and (not runs_in_float or any(_produced_by_int_op(v) for v in operands))
    if not wants_int:
        op.attributes[MODE] = StringAttr("float")
        return 0
    fitting = [r for r in rules if _rule_fits(r, operands)]
    if not fitting:
        if runs_in_float:
            op.attributes[MODE] = StringAttr("float")
            return 0
        message = (
            f"no integer rule of '{kind}' in spec '{spec.name}' fits: they need unsigned inputs "
            "that are not provably non-negative"
        )
        op.emit_error(message, TopologyError(message))
    _record(op, fitting[0], fitting, operands)
    return 1
