"""`hago-realize`: simulated quantize -> the integer `qnn` model.

Runs after hago-calibrate / hago-search; the logic lives in hago_ir.realize.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from hago_ir.realize import realize


@dataclass(frozen=True)
class HagoRealize(ModulePass):
    name = "hago-realize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        realize(op)
