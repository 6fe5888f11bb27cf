"""`hago-insert-simq`: a qsim.simulated_quantize on every edge into or out of an integer op.

Runs after hago-topology; the logic lives in hago_ir.insert_simq.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from hago_ir.insert_simq import insert_simulated_quantize


@dataclass(frozen=True)
class HagoInsertSimq(ModulePass):
    name = "hago-insert-simq"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        insert_simulated_quantize(op)
