"""Legality: does every integer op of a realized module run on the target?

Behind `hago-check-legal`, after hago-realize. The hardware spec is the set of
rules; each realized op is checked against the rules for its operator:
- `qnn.conv2d` / `qnn.dense`: operand dtypes, the accumulator (the result
  type) and the overflow mode must be one rule's;
- `qnn.add`, `qnn.sum_pool2d` (avg_pool2d), `qnn.global_sum_pool2d`
  (global_avg_pool2d): operand dtypes and the accumulator;
- `qnn.clip` (a relu or clip rule) and the data-movement qsim ops on integer
  tensors (max_pool2d, reshape, transpose, pad, concat): operand dtypes;
- `qnn.requantize` / `qnn.add`: multipliers must be powers of two (shifts)
  when the spec has power-of-two scales, except the 1/count of average pooling;
- `qnn.requantize` with a float32 multiplier, `qnn.quantize` with a float32
  scale: only on a `float32_requantize` spec;
- float compute ops must be allowed in float (never, for an integer-only spec).
An op that misses gets a diagnostic at the op naming what it is and the rules
it could have matched. Edits by hand after realization are caught here.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType, ModuleOp, TensorType
from xdsl.ir import Operation
from xdsl.utils.exceptions import DiagnosticException

from hago_ir.dialects import qnn, qsim
from hago_ir.dialects.qsim import ints
from hago_ir.hardware_spec import HardwareSpec, IntegerRule, dtype_name
from hago_ir.topology import is_compute_op, op_kind


class IllegalOpError(DiagnosticException):
    """An op of the realized module is not legal under the spec."""


_ACCUMULATING: dict[type[Operation], str] = {
    qnn.Conv2dOp: "conv2d",
    qnn.DenseOp: "dense",
    qnn.AddOp: "add",
    qnn.SumPool2dOp: "avg_pool2d",
    qnn.GlobalSumPool2dOp: "global_avg_pool2d",
}
_DATA_MOVEMENT = (qsim.MaxPool2dOp, qsim.ReshapeOp, qsim.TransposeOp, qsim.PadOp, qsim.ConcatOp)


def _element(value) -> IntegerType | None:
    type_ = value.type
    if isinstance(type_, TensorType) and isinstance(type_.get_element_type(), IntegerType):
        return type_.get_element_type()
    return None


def _describe(rule: IntegerRule) -> str:
    text = "(" + ", ".join(dtype_name(t) for t in rule.inputs) + ")"
    if rule.accumulator is not None:
        text += f" -> {dtype_name(rule.accumulator)}"
    if rule.overflow is not None:
        text += f" {rule.overflow}"
    return text


def _operands(op: Operation) -> list:
    if isinstance(op, (qnn.Conv2dOp, qnn.DenseOp)):
        return [op.input, op.weight]
    return list(op.operands)


def _accumulator(op: Operation) -> IntegerType | None:
    if isinstance(op, qnn.AddOp):
        return op.accumulator
    if isinstance(op, (qnn.Conv2dOp, qnn.DenseOp, qnn.SumPool2dOp, qnn.GlobalSumPool2dOp)):
        return _element(op.results[0])
    return None


def _matches(rule: IntegerRule, op: Operation) -> bool:
    operands = _operands(op)
    if not rule.arity_matches(len(operands)):
        return False
    if any(_element(v) != rule.input_type(i) for i, v in enumerate(operands)):
        return False
    accumulator = _accumulator(op)
    if accumulator is not None and rule.accumulator is not None:
        if accumulator != rule.accumulator:
            return False
    if accumulator is not None and rule.accumulator is None and not isinstance(op, qnn.AddOp):
        return False
    overflow = getattr(op, "overflow", None)
    if overflow is not None and rule.overflow is not None and overflow.data != rule.overflow:
        return False
    return True


def _what(op: Operation) -> str:
    text = "(" + ", ".join(dtype_name(t) if (t := _element(v)) else str(v.type) for v in _operands(op)) + ")"
    accumulator = _accumulator(op)
    if accumulator is not None:
        text += f" -> {dtype_name(accumulator)}"
    overflow = getattr(op, "overflow", None)
    if overflow is not None:
        text += f" {overflow.data}"
    return text


def _rule_names(op: Operation) -> list[str]:
    if type(op) in _ACCUMULATING:
        return [_ACCUMULATING[type(op)]]
    if isinstance(op, qnn.ClipOp):
        return ["relu", "clip"] if op.min.value.data == 0 else ["clip"]
    if isinstance(op, _DATA_MOVEMENT) and any(_element(v) is not None for v in op.operands):
        return [op_kind(op)]
    return []


def _fail(op: Operation, message: str) -> None:
    op.emit_error(message, IllegalOpError(message))


def _check_shifts_only(op: Operation, spec: HardwareSpec) -> None:
    """Power-of-two scales: every rescale must be a shift (a pool's 1/count excepted)."""
    multipliers: list[int] = []
    if isinstance(op, qnn.RequantizeOp) and not isinstance(
        op.input.owner, (qnn.SumPool2dOp, qnn.GlobalSumPool2dOp)
    ):
        multipliers = list(ints(op.multiplier))
    elif isinstance(op, qnn.AddOp):
        multipliers = [op.lhs_multiplier.value.data, op.rhs_multiplier.value.data]
    odd = [m for m in multipliers if m & (m - 1)]
    if odd:
        _fail(op, f"spec '{spec.name}' has power-of-two scales only, but this op multiplies "
              f"by {odd[0]} (not a shift)")


def check_legal(module: ModuleOp, spec: HardwareSpec) -> int:
    """Check every op; returns how many integer ops were checked. Raises at the first illegal op."""
    from hago_ir.errors import HagoError

    if any(isinstance(op, qsim.SimulatedQuantizeOp) for op in module.walk()):
        raise HagoError("the module is not realized (it has simulated quantize ops): run hago-realize first")
    checked = 0
    for op in module.walk():
        if spec.pow2_scales:
            _check_shifts_only(op, spec)
        if isinstance(op, qnn.RequantizeOp) and op.float_multiplier is not None and not spec.float32_requantize:
            _fail(op, f"this requantize multiplies in float32, but spec '{spec.name}' requantizes in "
                  "fixed point (no float32_requantize): realize the model for this spec")
        if isinstance(op, qnn.QuantizeOp) and op.float_scale is not None and not spec.float32_requantize:
            _fail(op, f"this quantize divides in float32, but spec '{spec.name}' has no float32_requantize: "
                  "realize the model for this spec")
        names = _rule_names(op)
        if names:
            checked += 1
            rules = [r for name in names for r in spec.integer_rules(name)]
            if not rules:
                _fail(op, f"spec '{spec.name}' has no integer rule for '{names[0]}'")
            if not any(_matches(rule, op) for rule in rules):
                _fail(op, f"{names[0]} {_what(op)} is not legal under spec '{spec.name}'; its "
                      f"rules: {'; '.join(_describe(r) for r in rules)}")
        elif is_compute_op(op) and not isinstance(op, qsim.ConstantOp):
            kind = op_kind(op)
            if spec.integer_only:
                _fail(op, f"spec '{spec.name}' is integer-only, but '{kind}' runs in float here")
            if spec.integer_rules(kind) and not spec.runs_in_float(kind):
                _fail(op, f"spec '{spec.name}' runs '{kind}' only in integers, but it runs in float here")
    return checked
