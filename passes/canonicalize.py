"""`hago-canonicalize`: batch norm folded into conv, constants folded, identities removed.

The first pass after import; the patterns live in hago_ir.canonicalize.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from hago_ir.canonicalize import canonicalize


@dataclass(frozen=True)
class HagoCanonicalize(ModulePass):
    name = "hago-canonicalize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        canonicalize(op)
