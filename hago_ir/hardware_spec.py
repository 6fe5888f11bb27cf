"""Hardware specs: loading, building from Python, and asking them questions.

The spec is IR (the `hwspec` dialect); this module is its engine: `load_spec`
reads a built-in spec by name (hago_ir/specs/NAME.mlir) or a user's file,
`HardwareSpec` is the Python builder in the spirit of the HAGO paper's Figure 4,

    spec = HardwareSpec("my-npu", pow2_scales=True)
    spec.add("conv2d", inputs=("i8", "i8"), accumulator="i24", output="i24", overflow="saturate")
    spec.add_float("softmax")

and the topology pass asks it `integer_rules(op)` / `runs_in_float(op)`.
Dtype strings: "i8" is signed 8-bit (si8 in IR), "u8" unsigned; i16, i24, i32 likewise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xdsl.context import Context
from xdsl.dialects.builtin import (
    ArrayAttr,
    Builtin,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Block, Region
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError, VerifyException

from hago_ir.dialects.hwspec import FloatRuleOp, HwSpec, IntegerRuleOp, SpecOp
from hago_ir.errors import HagoError

BUILTIN_SPEC_DIR = Path(__file__).resolve().parent / "specs"


@dataclass(frozen=True)
class IntegerRule:
    """One way the hardware runs an operator on integers."""

    op: str
    inputs: tuple[IntegerType, ...]
    output: IntegerType
    accumulator: IntegerType | None = None
    overflow: str | None = None

    def input_type(self, index: int) -> IntegerType:
        """The dtype of data operand `index` (a single listed dtype covers every operand)."""
        return self.inputs[0] if len(self.inputs) == 1 else self.inputs[index]

    def arity_matches(self, operand_count: int) -> bool:
        return len(self.inputs) in (1, operand_count)


@dataclass
class HardwareSpec:
    """A hardware specification; see the module docstring."""

    name: str
    pow2_scales: bool = False
    symmetric: bool = False
    integer_only: bool = False
    float32_requantize: bool = False
    integer: list[IntegerRule] = field(default_factory=list)
    floats: set[str] = field(default_factory=set)

    # ------------------------------------------------------------- building

    def add(
        self, op: str, inputs: Sequence[str], output: str, accumulator: str | None = None,
        overflow: str | None = None,
    ) -> HardwareSpec:
        self.integer.append(IntegerRule(
            op, tuple(parse_dtype(t) for t in inputs), parse_dtype(output),
            parse_dtype(accumulator) if accumulator else None, overflow,
        ))
        return self

    def add_float(self, op: str) -> HardwareSpec:
        self.floats.add(op)
        return self

    # ------------------------------------------------------------- questions

    def integer_rules(self, op: str) -> list[IntegerRule]:
        return [rule for rule in self.integer if rule.op == op]

    def runs_in_float(self, op: str) -> bool:
        return op in self.floats

    def mentions(self, op: str) -> bool:
        return self.runs_in_float(op) or bool(self.integer_rules(op))

    # ------------------------------------------------------------- IR

    def to_op(self) -> SpecOp:
        rules = []
        for rule in self.integer:
            properties = {
                "op_name": StringAttr(rule.op), "inputs": ArrayAttr(rule.inputs), "output": rule.output,
            }
            if rule.accumulator is not None:
                properties["accumulator"] = rule.accumulator
            if rule.overflow is not None:
                properties["overflow"] = StringAttr(rule.overflow)
            rules.append(IntegerRuleOp.create(properties=properties))
        rules += [FloatRuleOp.create(properties={"op_name": StringAttr(op)}) for op in sorted(self.floats)]
        properties = {"spec_name": StringAttr(self.name)}
        for flag in ("pow2_scales", "symmetric", "integer_only", "float32_requantize"):
            if getattr(self, flag):
                properties[flag] = UnitAttr()
        spec = SpecOp.create(properties=properties, regions=[Region(Block(rules))])
        spec.verify()
        return spec

    @staticmethod
    def from_op(spec: SpecOp) -> HardwareSpec:
        result = HardwareSpec(
            spec.spec_name.data, spec.pow2_scales is not None, spec.symmetric is not None,
            spec.integer_only is not None, spec.float32_requantize is not None,
        )
        for op in spec.body.block.ops:
            if isinstance(op, IntegerRuleOp):
                result.integer.append(IntegerRule(
                    op.op_name.data, tuple(op.inputs.data), op.output, op.accumulator,
                    op.overflow.data if op.overflow is not None else None,
                ))
            elif isinstance(op, FloatRuleOp):
                result.floats.add(op.op_name.data)
        return result


_DTYPE = re.compile(r"([iu])(\d+)")


def parse_dtype(text: str) -> IntegerType:
    """'i8' -> si8, 'u8' -> ui8 (also accepts the IR spellings si8 / ui8)."""
    match = _DTYPE.fullmatch(text.removeprefix("s"))
    if match is None:
        raise HagoError(f"'{text}' is not an integer dtype (write i8, u8, i16, i24, i32, ...)")
    signedness = Signedness.SIGNED if match.group(1) == "i" else Signedness.UNSIGNED
    return IntegerType(int(match.group(2)), signedness)


def dtype_name(type_: IntegerType) -> str:
    prefix = "u" if type_.signedness.data == Signedness.UNSIGNED else "i"
    return f"{prefix}{type_.width.data}"


def builtin_spec_names() -> list[str]:
    return sorted(path.stem for path in BUILTIN_SPEC_DIR.glob("*.mlir"))


def load_spec(name_or_path: str) -> HardwareSpec:
    """A built-in spec by name, or a spec file (`.mlir` in the hwspec dialect)."""
    path = Path(name_or_path)
    if path.suffix != ".mlir":
        if name_or_path not in builtin_spec_names():
            raise HagoError(
                f"unknown spec '{name_or_path}': built-in specs are {', '.join(builtin_spec_names())}, "
                "or give the path of a .mlir spec file"
            )
        path = BUILTIN_SPEC_DIR / f"{name_or_path}.mlir"
    if not path.is_file():
        raise HagoError(f"{name_or_path}: no such spec file")
    return HardwareSpec.from_op(parse_spec_text(path.read_text(), str(path)))


def parse_spec_text(text: str, source: str) -> SpecOp:
    """Parse and verify a spec file; errors carry the file, line and column."""
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(HwSpec)
    try:
        module = Parser(ctx, text, source).parse_module()
    except ParseError as error:
        raise HagoError(f"invalid spec file:\n{error}") from None
    specs = [op for op in module.ops if isinstance(op, SpecOp)]
    if len(specs) != 1 or len(list(module.ops)) != 1:
        raise HagoError(f"{source}: a spec file must hold exactly one hwspec.spec")
    try:
        module.verify()
    except VerifyException as error:
        notes = "".join(f"\n{note}" for note in getattr(error, "__notes__", []))
        raise HagoError(f"{source}: invalid spec: {error}{notes}") from None
    return specs[0]


def spec_module(spec: HardwareSpec) -> ModuleOp:
    return ModuleOp([spec.to_op()])
