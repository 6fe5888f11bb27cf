"""Search benchmark: evaluation cost, reuse/batching speed-up, search methods, and the int16 result.

    .venv/bin/python benchmarks/search_benchmark.py [--samples 512] [--budget 120] [--out docs/SEARCH_BENCHMARK.md]

Model: the bundled Fashion-MNIST CNN (examples/fashion_cnn). Data: Fashion-MNIST
from scripts/datasets.py (the Debian package; fetched into ~/.cache if
missing): `--samples` training images, seeded, for the search; the whole 10,000
image test split for the accuracies reported; the bundled calib.npz (256
training images) for calibration (max). Everything is measured side by side in
one run on this machine; the results go to stdout and to --out.

1. Cost of one simulated evaluation of the search samples (all ops recomputed)
   against onnxruntime's float inference of the same samples.
2. Trials per second of a greedy-like sequence (one edge lowered per trial)
   with the simulator's batching and reuse, and without (the reference
   interpreter, one sample at a time, every op every time).
3. greedy vs annealing vs random on arm-a72-i16: best accuracy within the
   tolerance, and mean bits, against the number of trials.
4. The HAGO paper's int16 case: arm-a72-i16 with every edge at 8 bits
   overflows the i16 accumulators; the greedy strategy, its accuracy on the
   test split and its bits per edge.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from datasets import load_fashion_mnist, normalize_fashion_mnist  # noqa: E402
from hago_ir.dialects.qsim import int_attr  # noqa: E402

from hago_ir.calibrate import calibrate  # noqa: E402
from hago_ir.canonicalize import canonicalize  # noqa: E402
from hago_ir.hardware_spec import load_spec  # noqa: E402
from hago_ir.insert_simq import insert_simulated_quantize  # noqa: E402
from hago_ir.interpreter import make_interpreter, run_module  # noqa: E402
from hago_ir.onnx_frontend import import_onnx  # noqa: E402
from hago_ir.onnx_simulation import OnnxRuntimeSimulator  # noqa: E402
from hago_ir.search import format_table, search, search_edges  # noqa: E402
from hago_ir.simulator import Simulator  # noqa: E402
from hago_ir.topology import assign_topology  # noqa: E402
from hago_ir.tvm_build import usable_cores  # noqa: E402

MODEL = ROOT / "examples" / "fashion_cnn" / "model.onnx"
CALIB = ROOT / "examples" / "fashion_cnn" / "calib.npz"


def calibrated_module(spec: str):
    module = import_onnx(str(MODEL))
    canonicalize(module)
    assign_topology(module, load_spec(spec))
    insert_simulated_quantize(module)
    calibrate(module, {"input": np.load(CALIB)["input"]}, method="max")
    return module


def accuracy(module, images: np.ndarray, labels: np.ndarray, bits: list[int] | None = None) -> float:
    simulator = Simulator(module, {"input": images}, chunk_size=8, reuse=False)
    if bits is not None:
        simulator.set_bits(zip((e.op for e in search_edges(module)), bits))
    logits = simulator.run()[0]
    return 100.0 * float(np.mean(logits.argmax(axis=1) == labels))


def _timed(run, repeats: int = 3) -> float:
    run()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _batched_float_model() -> bytes:
    """The float model with a symbolic batch dimension (it is exported with batch 1)."""
    model = onnx.load(str(MODEL))
    for value in [*model.graph.input, *model.graph.output]:
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "N"
    del model.graph.value_info[:]
    return model.SerializeToString()


def float_runners(images: np.ndarray, cores: int) -> dict[str, object]:
    """onnxruntime float on the samples, each way we know to run it fast."""
    def session(model, threads: int = 0, spinning: bool = True):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    exported, symbolic = MODEL.read_bytes(), _batched_float_model()
    default, quiet, single = session(exported), session(exported, spinning=False), session(exported, 1)
    batched, batched_single = session(symbolic), session(symbolic, 1)
    runs = [images[start:start + 64] for start in range(0, len(images), 64)]

    def side_by_side():
        with ThreadPoolExecutor(cores) as pool:
            list(pool.map(lambda part: [single.run(None, {"input": image[None]}) for image in part],
                          np.array_split(images, cores)))

    def batched_side_by_side():
        with ThreadPoolExecutor(cores) as pool:
            list(pool.map(lambda run: batched_single.run(None, {"input": run}), runs))

    return {
        "default threads": lambda: [default.run(None, {"input": image[None]}) for image in images],
        "no spin-waiting": lambda: [quiet.run(None, {"input": image[None]}) for image in images],
        f"{cores} one-thread sessions side by side": side_by_side,
        "batched, default threads": lambda: [batched.run(None, {"input": run}) for run in runs],
        f"batched, {cores} one-thread sessions side by side": batched_side_by_side,
    }


def evaluation_cost(images: np.ndarray, rounds: int = 5) -> list[str]:
    """Section 1. The onnxruntime measures are taken in interleaved rounds (each
    float way, then each engine, then again), best of `rounds` each, so that a
    slow spell of the shared machine weighs on the ratios' both sides; a pause
    before each lets the thread pools of the one before go idle (onnxruntime's
    spin-wait after a run and slow whatever runs next)."""
    cores = usable_cores()
    floats = float_runners(images, cores)
    engines = {spec: OnnxRuntimeSimulator(calibrated_module(spec), {"input": images})
               for spec in ("arm-a72-i16", "x86-vnni")}
    one_sample = OnnxRuntimeSimulator(calibrated_module("x86-vnni"), {"input": images[:1]})
    measures = {**floats, **{spec: engine.run for spec, engine in engines.items()}, "one sample": one_sample.run}
    best = {name: float("inf") for name in measures}
    for _ in range(rounds):
        for name, run in measures.items():
            time.sleep(0.2)  # lets the previous runtime's spinning threads go idle
            best[name] = min(best[name], _timed(run, repeats=1))
    exported = {name: best[name] for name in floats if not name.startswith("batched")}
    symbolic = {name[len("batched, "):]: best[name] for name in floats if name.startswith("batched")}
    onnxruntime_float, batched = min(exported.values()), min(symbolic.values())

    def ways(times: dict[str, float]) -> str:
        return ", ".join(f"{name} {seconds:.3f} s" for name, seconds in times.items())

    rows = [
        f"| measure | seconds (best of {rounds}) | ratio | ratio to batched float |",
        "| --- | ---: | ---: | ---: |",
        f"| onnxruntime float, {len(images)} samples at batch 1, as exported (the fastest of: "
        f"{ways(exported)}) | {onnxruntime_float:.3f} | 1.0 | {onnxruntime_float / batched:.2f}x |",
        f"| onnxruntime float, the same model with a symbolic batch, runs of 64 samples (the fastest of: "
        f"{ways(symbolic)}) | {batched:.3f} | {batched / onnxruntime_float:.2f}x | 1.0 |",
    ]
    for spec, engine in engines.items():
        simulated = _timed(Simulator(engine.module, {"input": images}, chunk_size=8, reuse=False).run, repeats=1)
        compiled = best[spec]
        rows += [
            f"| {spec}: numpy engine (float64, exact), all ops | {simulated:.3f} | "
            f"{simulated / onnxruntime_float:.1f}x | {simulated / batched:.1f}x |",
            f"| {spec}: onnxruntime engine (float32; runs of {engine.run_size} samples, {engine.threads} side by "
            f"side) | {compiled:.3f} | **{compiled / onnxruntime_float:.2f}x** | **{compiled / batched:.2f}x** |",
        ]
    # A trial that changes a weight's bits first builds that setting's session.
    engine = engines["x86-vnni"]
    building = []
    for _ in range(3):
        engine.sessions.clear()
        started = time.perf_counter()
        engine.session()
        building.append(time.perf_counter() - started)
    rows.append(f"| x86-vnni: building the onnxruntime session for a new setting of the weights' bits | "
                f"{min(building):.3f} | {min(building) / onnxruntime_float:.2f}x | |")
    # What one run costs whatever its sample count: all that evaluating several
    # candidate strategies in one run (stacked along the batch) could save.
    one = best["one sample"]
    rows.append(f"| x86-vnni: onnxruntime engine, 1 sample (a run's fixed cost) | {one:.4f} | "
                f"{one / onnxruntime_float:.2f}x | |")
    return rows


def reuse_speedup(module, images: np.ndarray, trials: int = 8) -> list[str]:
    edges = search_edges(module)
    picks = [edges[i] for i in np.linspace(0, len(edges) - 1, trials).astype(int)]
    fast = Simulator(module, {"input": images}, chunk_size=8, reuse=True)
    fast.run()
    started = time.perf_counter()
    for edge in picks:
        fast.set_bits([(edge.op, edge.max_bits - 1)])
        fast.run()
    with_reuse = (time.perf_counter() - started) / trials
    for edge in picks:
        edge.op.effective_bits = int_attr(edge.max_bits)
    interpreter = make_interpreter(module)
    naive_trials = 2
    started = time.perf_counter()
    for edge in picks[:naive_trials]:
        edge.op.effective_bits = int_attr(edge.max_bits - 1)
        for image in images:
            run_module(module, {"input": image[None]}, interpreter=interpreter)
    without = (time.perf_counter() - started) / naive_trials
    for edge in picks:
        edge.op.effective_bits = int_attr(edge.max_bits)
    # The same trials on the onnxruntime engine: every op each time, and a new
    # session whenever the trial lowers a weight.
    engine = OnnxRuntimeSimulator(module, {"input": images})
    engine.run()
    started = time.perf_counter()
    for edge in picks:
        edge.op.effective_bits = int_attr(edge.max_bits - 1)
        engine.run()
    compiled = (time.perf_counter() - started) / trials
    for edge in picks:
        edge.op.effective_bits = int_attr(edge.max_bits)
    weights = sum(edge.op.kind.data == "weight" for edge in picks)
    return [
        "| evaluation | seconds per trial | trials per second | speed-up |", "| --- | ---: | ---: | ---: |",
        f"| reference interpreter, one sample at a time, every op | {without:.3f} | {1 / without:.2f} | 1.0 |",
        f"| simulator: stacked batches of 8, only ops below the changed edge | {with_reuse:.3f} | {1 / with_reuse:.2f} | {without / with_reuse:.1f}x |",
        f"| onnxruntime engine: every op; a new session for each of the {weights} trials that lower a weight | "
        f"{compiled:.3f} | {1 / compiled:.2f} | {without / compiled:.1f}x |",
    ]


def best_so_far(history: list[tuple[float, int]], target: float, checkpoints: list[int], edge_count: int) -> list[str]:
    cells = []
    for checkpoint in checkpoints:
        prefix = history[:checkpoint]
        feasible = [(bits, score) for score, bits in prefix if score >= target]
        if feasible:
            bits, score = min(feasible, key=lambda item: (item[0], -item[1]))
            cells.append(f"{score:.1f}% @ {bits / edge_count:.2f}b")
        else:
            cells.append(f"({max(s for s, _ in prefix):.1f}%, none within)" if prefix else "-")
    return cells


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--budget", type=int, default=120)
    parser.add_argument("--max-drop", type=float, default=1.0)
    parser.add_argument("--holdout", type=float, default=0.25,
                        help="fraction of the search data held out in section 4's checked searches")
    parser.add_argument("--engine", default="onnxruntime", choices=("numpy", "onnxruntime"),
                        help="simulation engine of the searches (test accuracies always use the exact numpy engine)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "SEARCH_BENCHMARK.md"))
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    rng = np.random.default_rng(1)
    chosen = rng.choice(len(x_train), size=args.samples, replace=False)
    search_data = {"input": normalize_fashion_mnist(x_train[chosen]), "label": y_train[chosen]}
    test_images, test_labels = normalize_fashion_mnist(x_test), y_test

    report = [
        "# Search benchmark", "",
        f"Machine: {cpu_name()} ({os.cpu_count()} cores), {platform.system()}, Python {platform.python_version()}; "
        f"onnxruntime {ort.__version__}. Command: `.venv/bin/python benchmarks/search_benchmark.py --samples "
        f"{args.samples} --budget {args.budget} --max-drop {args.max_drop} --engine {args.engine} "
        f"--holdout {args.holdout}`.",
        f"Model: examples/fashion_cnn (float, onnxruntime). Search data: {args.samples} seeded Fashion-MNIST "
        "training images; accuracies on the 10,000 test images; calibration: max over calib.npz.", "",
    ]
    report += ["## 1. Cost of one simulated evaluation", "",
               "The onnxruntime engine bakes the weights, fake-quantized at their current bits, into its "
               "model (one session per setting of the weights' bits; the activations' bits are inputs), so "
               "that onnxruntime runs the float model's prepacked NCHWc convolutions. On x86-vnni the i32 "
               "accumulators cannot overflow even at the largest bits, and the model leaves their simulation "
               "out; on arm-a72-i16 the int16 sums can wrap: its convs sum the integers themselves and wrap "
               "them by narrowing casts. The engine runs single-threaded sessions on runs of samples side by "
               "side, one per core. The float model is exported with batch 1; it is timed as it is, each way "
               "below, and with its batch dimension made symbolic (the engine's batching, given to the float "
               "model too). The float and onnxruntime-engine measures are interleaved, best of 5 rounds each.",
               ""]
    report += evaluation_cost(search_data["input"]) + [""]
    print("\n".join(report[-10:]), flush=True)
    module = calibrated_module("arm-a72-i16")
    section = reuse_speedup(module, search_data["input"])
    report += ["## 2. Trials per second, with and without batching and reuse", ""] + section + [""]
    print("\n".join(section), flush=True)

    checkpoints = [10, 25, 50, 100, args.budget]
    rows = ["| method | " + " | ".join(f"after {c} trials" for c in checkpoints) + " | seconds |",
            "| --- |" + " ---: |" * (len(checkpoints) + 1)]
    results = {}
    for method in ("greedy", "annealing", "random"):
        module = calibrated_module("arm-a72-i16")
        result = search(module, search_data, method, "accuracy", budget=args.budget, seed=0,
                        max_drop=args.max_drop, rounds=3, progress=False, engine=args.engine)
        results[method] = (module, result)
        target = result.float_score - args.max_drop
        cells = best_so_far(result.history, target, checkpoints, len(result.edges))
        rows.append(f"| {method} | " + " | ".join(cells) + f" | {result.seconds:.0f} |")
        print(rows[-1], flush=True)
    report += [
        f"## 3. greedy vs annealing vs random (arm-a72-i16, objective accuracy on the search data, {args.engine} engine)", "",
        f"Best search-data accuracy within {args.max_drop} point(s) of float, and its mean bits per edge, "
        "after N trials (in parentheses: the best accuracy when no strategy was within the tolerance yet).", "",
        *rows, "",
    ]

    module, greedy = results["greedy"]
    naive_bits = [e.max_bits for e in greedy.edges]
    float_module = import_onnx(str(MODEL))
    rows = [
        f"| float | {accuracy(float_module, test_images, test_labels):.2f}% | 32 |",
        f"| every edge at its maximum (8 bits; i16 output 16) | "
        f"{accuracy(module, test_images, test_labels, naive_bits):.2f}% | {np.mean(naive_bits):.2f} |",
    ]
    for method, (searched_module, result) in results.items():
        rows.append(f"| {method} search | {accuracy(searched_module, test_images, test_labels, result.bits):.2f}% "
                    f"| {np.mean(result.bits):.2f} |")
    for method in ("greedy", "random"):
        checked_module = calibrated_module("arm-a72-i16")
        checked = search(checked_module, search_data, method, "accuracy", budget=args.budget, seed=0,
                         max_drop=args.max_drop, rounds=3, progress=False, engine=args.engine, holdout=args.holdout)
        rows.append(
            f"| {method} search on {1 - args.holdout:.0%} of the samples, checked on the other {args.holdout:.0%} "
            f"(held-out score {checked.holdout_score:.2f}%, float {checked.holdout_float_score:.2f}%) | "
            f"{accuracy(checked_module, test_images, test_labels, checked.bits):.2f}% | {np.mean(checked.bits):.2f} |")
        print(rows[-1], flush=True)
    report += [
        "## 4. The int16 result (arm-a72-i16: i8 x i8 products summed in wrapping i16)", "",
        "Test accuracies are computed with the exact (numpy, float64) simulation. The checked searches use "
        "`holdout`: the search sees part of the samples, and its result is checked on the rest (docs/search.md).", "",
        "| strategy | test accuracy (10,000 images) | mean bits per edge |", "| --- | ---: | ---: |",
        *rows, "",
        "Greedy's bits per edge:", "", "```", format_table(greedy), "```", "",
    ]
    print("\n".join(report[-12:]), flush=True)
    Path(args.out).write_text("\n".join(report) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
