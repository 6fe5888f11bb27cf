"""The bit-width search (HAGO paper, Algorithm 2 and its baselines).

Behind `hago-search`, after hago-calibrate. The search space is the effective
bits of every simulated quantize except biases (which follow their
accumulator), in DFS order, each within its [min_bits, max_bits]. A strategy is
one bits value per edge; its score comes from running the simulated model on
the search data (hago_ir.simulator) and comparing with labels or the float
model:
- `accuracy`: top-1 accuracy in percent (needs `label` in the data);
- `agreement`: top-1 agreement with the float model, in percent;
- `kl`: minus the mean KL divergence of the softmax outputs from the float
  model's (so that higher is better for every objective).

`max_drop` is the tolerance against the float model's score (percentage points,
or nats for kl). Methods:
- `greedy` (Algorithm 2): start at the maximum bits; walk the edges in DFS
  order, lowering the current edge by one bit while the score stays at least
  min(current score, float score - max_drop); `rounds` passes;
- `random`: uniform random strategies; the best is the one with the fewest
  bits among those within the tolerance (or the best-scoring one if none is);
- `annealing`: simulated annealing over the cost `bits / max bits +
  penalty * shortfall`, moving a random portion of edges by +-1 bit, with
  Metropolis acceptance `exp(-delta / T)` and geometric cooling.

Every trial is appended to a JSON-lines log; a search started with the same log
reads it first and does not re-evaluate the strategies it holds, so a killed
search resumes where it stopped (the methods are deterministic given the seed).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from hago_ir.dialects import qsim
from hago_ir.errors import HagoError
from hago_ir.model_io import calibration_batches, find_function, write_atomically
from hago_ir.simulator import Simulator

METHODS = ("greedy", "random", "annealing")
# numpy: the reference interpreter's float64 semantics, exact; onnxruntime: the
# same graph compiled once (hago_ir.onnx_simulation), float32, several times faster.
ENGINES = ("numpy", "onnxruntime")
OBJECTIVES = ("accuracy", "agreement", "kl")


@dataclass
class Edge:
    op: qsim.SimulatedQuantizeOp
    name: str
    min_bits: int
    max_bits: int

    @property
    def dtype(self) -> str:
        return ("i" if self.op.signed.value.data else "u") + str(self.op.dtype.width.data)


@dataclass
class SearchResult:
    method: str
    objective: str
    bits: list[int]
    score: float
    float_score: float
    trials: int
    evaluations: int
    seconds: float
    edges: list[Edge] = field(repr=False)
    history: list[tuple[float, int]] = field(default_factory=list, repr=False)
    # With a holdout: the chosen strategy's score and float's on the held-out
    # samples, and how many candidates were checked there.
    holdout_score: float | None = None
    holdout_float_score: float | None = None
    holdout_checked: int = 0


def search_edges(module: ModuleOp) -> list[Edge]:
    edges = []
    for op in find_function(module).body.walk():
        if isinstance(op, qsim.SimulatedQuantizeOp) and op.kind.data not in ("bias", "accumulator"):
            owner = op.input.owner
            if isinstance(owner, qsim.ConstantOp) and owner.sym_name is not None:
                name = owner.sym_name.data
            else:
                name = op.input.name_hint or f"edge{len(edges)}"
            edges.append(Edge(op, name, op.min_bits.value.data, op.max_bits.value.data))
    if not edges:
        raise HagoError("the module has no simulated quantize to search: run hago-insert-simq and hago-calibrate first")
    uncalibrated = [e.name for e in edges if e.op.threshold is None]
    if uncalibrated:
        raise HagoError(f"edge '{uncalibrated[0]}' has no threshold: run hago-calibrate first")
    return edges


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class Evaluator:
    """Scores strategies; remembers (and logs) every one it has scored."""

    def __init__(self, module: ModuleOp, edges: list[Edge], data: dict[str, np.ndarray], objective: str,
                 log_path: str | None = None, chunk_size: int = 8, reuse: bool = True,
                 source: str = "search data", engine: str = "numpy") -> None:
        if objective not in OBJECTIVES:
            raise HagoError(f"unknown objective '{objective}' (choose from {', '.join(OBJECTIVES)})")
        function = find_function(module)
        labels = data.get("label")
        batches = calibration_batches(function, data, source)
        inputs = {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}
        if objective == "accuracy":
            if labels is None:
                raise HagoError(f"{source}: the accuracy objective needs a 'label' array")
            labels = np.asarray(labels).reshape(-1)
            if len(labels) < len(next(iter(inputs.values()))):
                raise HagoError(f"{source}: 'label' has {len(labels)} entries for more samples")
        self.edges, self.objective = edges, objective
        if engine not in ENGINES:
            raise HagoError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")
        self.simulator = Simulator(module, inputs, chunk_size=chunk_size, reuse=reuse)
        self.engine, self.fast = engine, None
        if engine == "onnxruntime":
            from hago_ir.onnx_simulation import OnnxRuntimeSimulator

            self.fast = OnnxRuntimeSimulator(module, inputs)
        sample_count = self.simulator.sample_count
        self.labels = None if labels is None else labels[:sample_count]
        self.float_outputs = self._float_outputs(module, inputs, chunk_size)
        self.memo: dict[tuple[int, ...], float] = {}
        # Strategies asked for in this run. The methods are deterministic, so a
        # resumed run asks for the logged ones again, in the same order: they
        # count towards the budget exactly as they did, but cost nothing.
        self.requested: set[tuple[int, ...]] = set()
        self.evaluations = 0
        # (score, total bits) of each strategy in the order first asked for.
        self.history: list[tuple[float, int]] = []
        self.log_path = log_path
        if log_path:
            self._resume(log_path)

    def _float_outputs(self, module: ModuleOp, inputs: dict[str, np.ndarray], chunk_size: int) -> np.ndarray:
        saved = [(e.op, e.op.threshold) for e in self.edges]
        bias = [op for op in module.walk() if isinstance(op, qsim.SimulatedQuantizeOp) and op.kind.data == "bias"]
        saved += [(op, op.threshold) for op in bias]
        # The float model: the same module with every simulated quantize uncalibrated.
        for op, _ in saved:
            op.threshold = None
        try:
            return Simulator(module, inputs, chunk_size=chunk_size, reuse=False).run()[0]
        finally:
            for op, threshold in saved:
                op.threshold = threshold

    def score_outputs(self, outputs: np.ndarray) -> float:
        flat = outputs.reshape(outputs.shape[0], -1)
        if self.objective == "accuracy":
            return 100.0 * float(np.mean(flat.argmax(axis=1) == self.labels))
        reference = self.float_outputs.reshape(outputs.shape[0], -1)
        if self.objective == "agreement":
            return 100.0 * float(np.mean(flat.argmax(axis=1) == reference.argmax(axis=1)))
        p, q = _softmax(reference), _softmax(flat)
        return -float(np.mean(np.sum(p * (np.log(p + 1e-12) - np.log(q + 1e-12)), axis=1)))

    def float_score(self) -> float:
        return self.score_outputs(self.float_outputs)

    def _resume(self, log_path: str) -> None:
        path = Path(log_path)
        if not path.is_file():
            return
        names = [e.name for e in self.edges]
        text = path.read_text()
        if text and not text.endswith("\n"):
            # Killed mid-write: drop the partial last line so new trials start on a fresh line.
            text = text[: text.rfind("\n") + 1]
            write_atomically(path, lambda handle: handle.write(text))
        lines = text.splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    continue  # a line cut short when the search was killed
                raise HagoError(f"{log_path}:{number}: not a JSON line") from None
            if entry.get("edges") is not None:
                if (entry["edges"] != names or entry.get("objective") != self.objective
                        or entry.get("engine", "numpy") != self.engine):
                    raise HagoError(f"{log_path}: the log is of another model, edge set, objective or engine")
                continue
            self.memo[tuple(entry["bits"])] = float(entry["score"])

    def _log(self, entry: dict) -> None:
        if not self.log_path:
            return
        path = Path(self.log_path)
        with open(path, "a") as handle:
            if path.stat().st_size == 0:
                header = {"edges": [e.name for e in self.edges], "objective": self.objective, "engine": self.engine}
                handle.write(json.dumps(header) + "\n")
            handle.write(json.dumps(entry) + "\n")

    @property
    def trials(self) -> int:
        return len(self.requested)

    def __call__(self, bits: list[int]) -> float:
        key = tuple(bits)
        score = self._score(key)
        if key not in self.requested:
            self.requested.add(key)
            self.history.append((score, sum(bits)))
        return score

    def _score(self, key: tuple[int, ...]) -> float:
        bits = list(key)
        if key in self.memo:
            return self.memo[key]
        started = time.perf_counter()
        self.simulator.set_bits((edge.op, b) for edge, b in zip(self.edges, bits))
        outputs = self.fast.run() if self.fast is not None else self.simulator.run()
        score = self.score_outputs(outputs[0])
        self.memo[key] = score
        self.evaluations += 1
        self._log({"trial": len(self.memo), "bits": list(bits), "score": score, "total_bits": sum(bits),
                   "seconds": round(time.perf_counter() - started, 4)})
        return score


class Progress:
    """A one-line progress report on stderr: trials, best score, bits, ETA."""

    def __init__(self, method: str, budget: int, enabled: bool) -> None:
        self.method, self.budget, self.enabled = method, budget, enabled
        self.started = time.perf_counter()

    def update(self, trials: int, best_score: float, best_bits: list[int]) -> None:
        if not self.enabled or trials == 0:
            return
        elapsed = time.perf_counter() - self.started
        eta = elapsed / trials * max(0, self.budget - trials)
        mean_bits = sum(best_bits) / len(best_bits)
        sys.stderr.write(
            f"\r[{self.method}] trial {trials}/{self.budget}  best {best_score:.4g} "
            f"at {mean_bits:.2f} bits/edge  elapsed {elapsed:.0f}s  eta {eta:.0f}s "
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _greedy(evaluate: Evaluator, edges: list[Edge], target: float, budget: int, rounds: int,
            progress: Progress, **_: object) -> tuple[list[int], float]:
    bits = [e.max_bits for e in edges]
    score = evaluate(bits)
    for _round in range(rounds):
        changed = False
        for index, edge in enumerate(edges):
            while bits[index] > edge.min_bits and evaluate.trials < budget:
                candidate = bits.copy()
                candidate[index] -= 1
                candidate_score = evaluate(candidate)
                progress.update(evaluate.trials, score, bits)
                if candidate_score >= min(score, target):
                    bits, score, changed = candidate, candidate_score, True
                else:
                    break
        if not changed or evaluate.trials >= budget:
            break
    return bits, score


def _better(score: float, bits: list[int], best: tuple[float, list[int]] | None, target: float) -> bool:
    """Within the tolerance, fewer bits win; outside it, the higher score wins."""
    if best is None:
        return True
    best_score, best_bits = best
    if score >= target and best_score >= target:
        return (sum(bits), -score) < (sum(best_bits), -best_score)
    return score >= target > best_score or (score < target and best_score < target and score > best_score)


def _random(evaluate: Evaluator, edges: list[Edge], target: float, budget: int, seed: int,
            progress: Progress, **_: object) -> tuple[list[int], float]:
    rng = np.random.default_rng(seed)
    best: tuple[float, list[int]] | None = None
    attempts = 0
    while evaluate.trials < budget and attempts < 20 * budget:
        attempts += 1
        bits = [int(rng.integers(e.min_bits, e.max_bits + 1)) for e in edges]
        score = evaluate(bits)
        if _better(score, bits, best, target):
            best = (score, bits)
        progress.update(evaluate.trials, best[0], best[1])
    assert best is not None
    return best[1], best[0]


def _annealing(evaluate: Evaluator, edges: list[Edge], target: float, budget: int, seed: int,
               progress: Progress, initial_temperature: float = 0.1, final_temperature: float = 1e-3,
               portion: float = 0.1, penalty: float = 0.05, **_: object) -> tuple[list[int], float]:
    rng = np.random.default_rng(seed)
    max_total = sum(e.max_bits for e in edges)

    def cost(bits: list[int], score: float) -> float:
        return sum(bits) / max_total + penalty * max(0.0, target - score)

    bits = [e.max_bits for e in edges]
    score = evaluate(bits)
    current_cost = cost(bits, score)
    best = (score, bits)
    step, steps = 0, max(1, budget)
    while evaluate.trials < budget and step < 20 * steps:
        temperature = initial_temperature * (final_temperature / initial_temperature) ** min(1.0, step / steps)
        step += 1
        candidate = bits.copy()
        moved = max(1, int(round(portion * len(edges))))
        for index in rng.choice(len(edges), size=moved, replace=False):
            delta = int(rng.choice((-1, 1)))
            candidate[index] = int(np.clip(candidate[index] + delta, edges[index].min_bits, edges[index].max_bits))
        candidate_score = evaluate(candidate)
        candidate_cost = cost(candidate, candidate_score)
        if candidate_cost <= current_cost or rng.random() < math.exp(-(candidate_cost - current_cost) / temperature):
            bits, score, current_cost = candidate, candidate_score, candidate_cost
        if _better(candidate_score, candidate, best, target):
            best = (candidate_score, candidate)
        progress.update(evaluate.trials, best[0], best[1])
    return best[1], best[0]


_METHODS: dict[str, Callable[..., tuple[list[int], float]]] = {
    "greedy": _greedy, "random": _random, "annealing": _annealing,
}


def split_holdout(data: dict[str, np.ndarray], fraction: float, source: str) -> tuple[dict, dict]:
    """The first (1 - fraction) of the samples to search on, the rest held out (labels alike)."""
    if not 0.0 < fraction < 1.0:
        raise HagoError(f"holdout {fraction} must be between 0 and 1 (a fraction of the samples)")
    count = min(len(array) for array in data.values())
    held = int(round(count * fraction))
    if held < 1 or held >= count:
        raise HagoError(f"{source}: {count} samples are too few to hold out {fraction:g} of them")
    return ({k: v[: count - held] for k, v in data.items()}, {k: v[count - held : count] for k, v in data.items()})


# Candidates checked on the held-out samples, fewest bits first.
HOLDOUT_CANDIDATES = 12


def _check_on_holdout(evaluate: Evaluator, validator: Evaluator, target: float, max_drop: float,
                      chosen: list[int]) -> tuple[list[int], float, float, int]:
    """The fewest-bits strategy that meets the target on the search samples and on the held-out ones.

    The search pushes bits down as far as its own samples allow, and on a few
    hundred samples that is partly their noise: a strategy at the edge of the
    tolerance there is often past it on new data. So the strategies within
    tolerance on the search samples are checked on the held-out ones, fewest
    bits first; the first within tolerance there too wins. If none is, the
    one with the best held-out score does.
    """
    holdout_target = validator.float_score() - max_drop
    candidates = sorted(
        (key for key, score in evaluate.memo.items() if score >= target and key in evaluate.requested),
        key=lambda key: (sum(key), -evaluate.memo[key]),
    )
    if tuple(chosen) not in candidates:
        candidates.append(tuple(chosen))
    best: tuple[float, tuple[int, ...]] | None = None
    checked = 0
    for key in candidates[:HOLDOUT_CANDIDATES]:
        checked += 1
        score = validator(list(key))
        if score >= holdout_target:
            return list(key), evaluate.memo[key], score, checked
        if best is None or score > best[0]:
            best = (score, key)
    assert best is not None
    return list(best[1]), evaluate.memo[best[1]], best[0], checked


def search(
    module: ModuleOp, data: dict[str, np.ndarray], method: str = "greedy", objective: str = "accuracy",
    budget: int = 200, seed: int = 0, max_drop: float = 0.0, rounds: int = 2, log_path: str | None = None,
    progress: bool | None = None, chunk_size: int = 8, source: str = "search data", engine: str = "numpy",
    holdout: float = 0.0,
) -> SearchResult:
    """Search effective bits and write the best strategy onto the simulated quantize ops.

    With `holdout` > 0, that fraction of the samples is kept out of the search
    and used to check its result (see _check_on_holdout).
    """
    if method not in METHODS:
        raise HagoError(f"unknown search method '{method}' (choose from {', '.join(METHODS)})")
    if budget < 1:
        raise HagoError(f"budget {budget} must be at least 1 trial")
    edges = search_edges(module)
    started = time.perf_counter()
    held_out = None
    if holdout:
        data, held_out = split_holdout(data, holdout, source)
    evaluate = Evaluator(module, edges, data, objective, log_path, chunk_size, source=source, engine=engine)
    float_score = evaluate.float_score()
    target = float_score - max_drop
    reporter = Progress(method, budget, sys.stderr.isatty() if progress is None else progress)
    try:
        bits, score = _METHODS[method](evaluate, edges, target=target, budget=budget, rounds=rounds,
                                       seed=seed, progress=reporter)
    finally:
        reporter.close()
    checked, holdout_score, holdout_float = 0, None, None
    if held_out is not None:
        validator = Evaluator(module, edges, held_out, objective, None, chunk_size, source=f"{source} (held out)",
                              engine=engine)
        bits, score, holdout_score, checked = _check_on_holdout(evaluate, validator, target, max_drop, bits)
        holdout_float = validator.float_score()
    for edge, b in zip(edges, bits):
        edge.op.effective_bits = qsim.int_attr(b)
    return SearchResult(method, objective, bits, score, float_score, evaluate.trials, evaluate.evaluations,
                        time.perf_counter() - started, edges, evaluate.history, holdout_score, holdout_float,
                        checked)


def strategy_json(result: SearchResult) -> dict:
    return {
        "method": result.method, "objective": result.objective, "score": result.score,
        "float_score": result.float_score, "trials": result.trials, "evaluations": result.evaluations,
        "seconds": round(result.seconds, 2),
        "mean_bits": sum(result.bits) / len(result.bits),
        "holdout_score": result.holdout_score, "holdout_float_score": result.holdout_float_score,
        "edges": [
            {"name": e.name, "kind": e.op.kind.data, "dtype": e.dtype, "bits": b,
             "min_bits": e.min_bits, "max_bits": e.max_bits}
            for e, b in zip(result.edges, result.bits)
        ],
    }


def write_strategy(result: SearchResult, path: str) -> None:
    text = json.dumps(strategy_json(result), indent=2) + "\n"
    write_atomically(path, lambda handle: handle.write(text))


def format_table(result: SearchResult) -> str:
    lines = [f"{'#':>3} {'edge':40} {'kind':10} {'dtype':5} {'bits':>4}"]
    for index, (edge, b) in enumerate(zip(result.edges, result.bits)):
        lines.append(f"{index:>3} {edge.name[:40]:40} {edge.op.kind.data:10} {edge.dtype:5} {b:>4}")
    lines.append(
        f"{result.method} / {result.objective}: score {result.score:.4g} (float {result.float_score:.4g}), "
        f"{sum(result.bits) / len(result.bits):.2f} bits per edge, {result.trials} trials "
        f"({result.evaluations} evaluated now, the rest read from the log), {result.seconds:.1f} s"
    )
    if result.holdout_score is not None:
        lines.append(f"held-out samples: score {result.holdout_score:.4g} (float {result.holdout_float_score:.4g}), "
                     f"{result.holdout_checked} candidate(s) checked")
    return "\n".join(lines)


def bits_plot_svg(result: SearchResult, title: str = "effective bits per edge") -> str:
    """A bar chart of bits per edge (the paper's Figure 6) as a standalone SVG image."""
    width_per_bar, height, top, left = 14, 220, 30, 40
    maximum = max(e.max_bits for e in result.edges)
    scale = (height - top - 20) / max(maximum, 1)
    width = left + width_per_bar * len(result.bits) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}" font-family="sans-serif" font-size="10">',
        f'<text x="{left}" y="16" font-size="12">{title} ({result.method}, {result.objective} {result.score:.4g})</text>',
    ]
    for level in range(0, maximum + 1, 2):
        y = height - level * scale
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 3:.1f}" text-anchor="end">{level}</text>')
    colors = {"weight": "#4c78a8", "activation": "#f58518", "input": "#54a24b"}
    for index, (edge, b) in enumerate(zip(result.edges, result.bits)):
        x = left + index * width_per_bar + 2
        parts.append(
            f'<rect x="{x}" y="{height - b * scale:.1f}" width="{width_per_bar - 4}" height="{b * scale:.1f}" '
            f'fill="{colors.get(edge.op.kind.data, "#888")}"><title>{edge.name}: {b} bits</title></rect>'
        )
    parts.append(f'<text x="{left}" y="{height + 15}">edges in DFS order; blue weights, orange activations, green inputs</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
