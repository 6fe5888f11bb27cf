"""`hago-check-legal{spec=NAME|path.mlir}`: every realized op is legal under the spec.

Runs after hago-realize; without `spec` it checks against the spec recorded by
hago-topology (the module's `hago.spec`). The logic lives in hago_ir.legality.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.passes import ModulePass

from hago_ir.errors import HagoError
from hago_ir.hardware_spec import load_spec
from hago_ir.legality import check_legal


@dataclass(frozen=True)
class HagoCheckLegal(ModulePass):
    name = "hago-check-legal"

    spec: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        spec = self.spec
        if not spec:
            recorded = op.attributes.get("hago.spec")
            if not isinstance(recorded, StringAttr):
                raise HagoError("hago-check-legal needs spec=NAME: the module records no hago.spec")
            spec = recorded.data
        check_legal(op, load_spec(spec))
