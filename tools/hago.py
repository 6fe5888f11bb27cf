"""`hago`: the end-to-end command. Subcommands:

    hago quantize MODEL.onnx --spec SPEC --calib CALIB.npz [--eval TEST.npz]
                  [--search greedy|annealing|random|none] [--objective accuracy|agreement|kl]
                  [--budget N] [--max-drop P] [--holdout F] [--target x86|x86-vnni|aarch64|cuda|none] --out DIR
    hago eval MODEL(.onnx|.mlir|.so) --data DATA.npz [--reference MODEL] [--samples N] [--json]
    hago build REALIZED.mlir --target x86|x86-vnni|aarch64|cuda -o model.so [--asm model.s]
              [--relax model.py] [--tune-trials N --tuning-dir DIR]

`quantize` runs the whole pipeline (hago_ir/pipeline.py) into DIR and prints
its report; rerunning with the same DIR reuses the finished stages. `eval`
measures accuracy, agreement with a reference and batch-1 latency
(hago_ir/evaluate.py).

`build` takes a realized module (after hago-realize; see docs/realization.md),
emits it to TVM Relax, compiles it for the target and writes the shared
library (cross-linked for aarch64), and optionally the generated assembly or
CUDA source and the Relax module as TVMScript. Outputs are written atomically.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hago_ir.tools.diagnostics import run_cli

from hago_ir.errors import HagoError
from hago_ir.model_io import load_module, write_atomically


def _build(args: argparse.Namespace) -> int:
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build, kernels_for

    module = load_module(args.module)
    if not any(op.dialect_name() == "qnn" for op in module.walk()):
        raise HagoError(f"{args.module}: not a realized module (no qnn op): run hago-realize first")
    if any(op.name == "qsim.simulated_quantize" for op in module.walk()):
        raise HagoError(f"{args.module}: still has simulated quantize ops: run hago-realize first")
    relax_module = to_relax(module, **kernels_for(args.target))
    if args.relax:
        text = relax_module.script()
        write_atomically(args.relax, lambda handle: handle.write(text))
    if args.tune_trials and not args.tuning_dir:
        raise HagoError("--tune-trials needs --tuning-dir DIR (where the tuning database is kept)")
    result = build(relax_module, args.target, args.tune_trials, args.tuning_dir, args.trials_per_task)
    output = Path(args.output)
    if not output.parent.is_dir() and str(output.parent):
        raise HagoError(f"{output}: directory {output.parent} does not exist")
    if args.asm:  # first: reading the assembly needs no linker (aarch64 without the cross gcc)
        text = result.assembly()
        write_atomically(args.asm, lambda handle: handle.write(text))
    # export_library writes by name: build beside the target, then rename over it.
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=output.suffix or ".so",
                                     dir=output.parent if str(output.parent) else ".")
    os.close(fd)
    try:
        result.export(temporary)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    print(f"hago build: {args.module} -> {output} ({args.target})")
    return 0


def _quantize(args: argparse.Namespace) -> int:
    from hago_ir.pipeline import QuantizeOptions, quantize

    options = QuantizeOptions(
        spec=args.spec, calib_method=args.calib_method, percentile=args.percentile,
        search=None if args.search == "none" else args.search, objective=args.objective,
        budget=args.budget, max_drop=args.max_drop, holdout=args.holdout, seed=args.seed, engine=args.engine,
        target=None if args.target == "none" else args.target, eval_samples=args.samples,
    )
    result = quantize(args.model, args.calib, args.out, args.eval, options)
    print(result.report)
    return 0


def _eval(args: argparse.Namespace) -> int:
    import json

    from hago_ir.evaluate import evaluate
    from hago_ir.model_io import load_npz

    result = evaluate(args.model, load_npz(args.data), args.samples, args.reference, not args.no_latency)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['model']}: {result['samples']} samples")
    if "accuracy" in result:
        print(f"  accuracy:  {result['accuracy']:.2f}%")
    if "agreement" in result:
        print(f"  agreement: {result['agreement']:.2f}% (top-1, with {args.reference})")
    if result.get("latency_ms") is not None:
        print(f"  latency:   {result['latency_ms']:.3f} ms (batch 1, median)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hago", description="hago: hardware-aware post-training quantization.")
    commands = parser.add_subparsers(dest="command", required=True)
    quantize = commands.add_parser("quantize", help="the whole pipeline: ONNX in, integer model and report out")
    quantize.add_argument("model", help="the float model (.onnx)")
    quantize.add_argument("--spec", required=True, help="a built-in spec name or a spec .mlir file")
    quantize.add_argument("--calib", required=True, help=".npz of calibration samples ('label' for accuracy)")
    quantize.add_argument("--eval", help=".npz of held-out samples for the report (default: the calibration data)")
    quantize.add_argument("--search", default="greedy", choices=["greedy", "annealing", "random", "none"])
    quantize.add_argument("--objective", default="accuracy", choices=["accuracy", "agreement", "kl"])
    quantize.add_argument("--budget", type=int, default=100, help="search trials")
    quantize.add_argument("--max-drop", type=float, default=0.0, help="accepted objective drop (points)")
    quantize.add_argument("--holdout", type=float, default=0.0,
                          help="fraction of the calibration samples kept out of the search to check its result on")
    quantize.add_argument("--seed", type=int, default=0)
    quantize.add_argument("--engine", default="onnxruntime", choices=["numpy", "onnxruntime"],
                          help="search evaluation engine (onnxruntime: float32, about 20x faster than numpy)")
    quantize.add_argument("--calib-method", default="percentile",
                          choices=["max", "avg_range", "percentile", "kl", "mse"])
    quantize.add_argument("--percentile", type=float, default=99.99)
    quantize.add_argument("--target", default="x86", choices=["x86", "x86-vnni", "aarch64", "cuda", "none"])
    quantize.add_argument("--samples", type=int, default=1000, help="evaluation samples for the report")
    quantize.add_argument("--out", required=True, help="the output directory (reused stages are kept)")

    evaluate = commands.add_parser("eval", help="accuracy, agreement and batch-1 latency of a model")
    evaluate.add_argument("model", help="an .onnx (float or QDQ), a .mlir (qsim or realized) or a TVM .so")
    evaluate.add_argument("--data", required=True, help=".npz with the input array and optionally 'label'")
    evaluate.add_argument("--reference", help="a model to measure top-1 agreement with")
    evaluate.add_argument("--samples", type=int, default=1000)
    evaluate.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    build = commands.add_parser("build", help="compile a realized module with TVM for a target")
    build.add_argument("module", help="a realized .mlir module (after hago-realize)")
    build.add_argument("--target", default="x86", choices=["x86", "x86-vnni", "aarch64", "cuda"])
    build.add_argument("-o", "--output", required=True, help="the shared library to write")
    build.add_argument("--asm", help="also write the generated assembly (or CUDA source) here")
    build.add_argument("--relax", help="also write the Relax module (TVMScript) here")
    build.add_argument("--tune-trials", type=int, default=0, help="MetaSchedule trials in all (0: no tuning)")
    build.add_argument("--trials-per-task", type=int, help="MetaSchedule trials per kernel")
    build.add_argument("--tuning-dir", help="the tuning database directory (reused across builds)")
    args = parser.parse_args(argv)
    handlers = {"quantize": _quantize, "eval": _eval, "build": _build}
    return run_cli("hago", lambda: handlers[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
