"""`hago-topology{spec=NAME|path.mlir}`: mark each op int or float (HAGO Algorithm 1).

The logic lives in hago_ir.topology; specs are loaded by hago_ir.hardware_spec.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from hago_ir.hardware_spec import load_spec
from hago_ir.topology import assign_topology


@dataclass(frozen=True)
class HagoTopology(ModulePass):
    name = "hago-topology"

    spec: str = "x86-vnni"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        assign_topology(op, load_spec(self.spec))
