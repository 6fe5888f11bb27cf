"""`hago-calibrate{data=FILE.npz method=max|avg_range|percentile|kl|mse percentile=99.999 pow2=false}`.

Runs after hago-insert-simq; the logic lives in hago_ir.calibrate.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from hago_ir.calibrate import calibrate
from hago_ir.errors import HagoError
from hago_ir.model_io import load_npz


@dataclass(frozen=True)
class HagoCalibrate(ModulePass):
    name = "hago-calibrate"

    data: str = ""
    method: str = "max"
    percentile: float = 99.999
    pow2: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not self.data:
            raise HagoError("hago-calibrate needs data=FILE.npz (one array per model input)")
        calibrate(op, load_npz(self.data), self.method, self.percentile, self.pow2, source=self.data)
