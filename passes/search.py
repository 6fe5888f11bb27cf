"""`hago-search{method=greedy|annealing|random objective=accuracy|agreement|kl data=FILE.npz
budget=N seed=S max-drop=D rounds=R log=FILE.jsonl strategy=FILE.json plot=FILE.svg
engine=numpy|onnxruntime holdout=F}`.

Runs after hago-calibrate and writes the chosen effective bits onto every
simulated quantize; the search itself lives in hago_ir.search. The per-edge
table goes to stderr (stdout carries the IR), with a progress line on a terminal.
`holdout=F` keeps that fraction of the samples out of the search to check its
result on (the fewest-bits strategy within tolerance on both wins).
"""

import sys
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from hago_ir.errors import HagoError
from hago_ir.model_io import load_npz, write_atomically
from hago_ir.search import bits_plot_svg, format_table, search, write_strategy


@dataclass(frozen=True)
class HagoSearch(ModulePass):
    name = "hago-search"

    data: str = ""
    method: str = "greedy"
    objective: str = "accuracy"
    budget: int = 200
    seed: int = 0
    max_drop: float = 0.0
    rounds: int = 2
    log: str = ""
    strategy: str = ""
    plot: str = ""
    engine: str = "numpy"
    holdout: float = 0.0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not self.data:
            raise HagoError("hago-search needs data=FILE.npz (the model inputs, and 'label' for accuracy)")
        result = search(
            op, load_npz(self.data), self.method, self.objective, self.budget, self.seed, self.max_drop,
            self.rounds, self.log or None, source=self.data, engine=self.engine, holdout=self.holdout,
        )
        print(format_table(result), file=sys.stderr)
        if self.strategy:
            write_strategy(result, self.strategy)
        if self.plot:
            svg = bits_plot_svg(result)
            write_atomically(self.plot, lambda handle: handle.write(svg))
