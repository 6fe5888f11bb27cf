"""The whole pipeline, stage by stage, with its outputs in one directory: `hago quantize`.

The Python API of hago in one call (the `hago quantize` command is a thin
wrapper around `quantize`):

    from hago_ir.pipeline import quantize
    result = quantize("model.onnx", spec="arm-a72-i16", calib="calib.npz",
                      out_dir="out", eval_data="test.npz", search="greedy", budget=100)
    print(result.report)

Stages and what each writes into `out_dir`:
 1. import + hago-canonicalize        -> 1-imported.mlir
 2. hago-topology + hago-insert-simq  -> 2-simq.mlir
 3. hago-calibrate                    -> 3-calibrated.mlir
 4. hago-search (unless search=None)  -> 4-searched.mlir, strategy.json, bits.svg, search.jsonl
 5. hago-realize + hago-check-legal   -> 5-realized.mlir
 6. ONNX QDQ export                   -> model.qdq.onnx
 7. TVM build (unless target=None)    -> model.<target>.so (batch 1)
 8. evaluation                        -> report.md, report.json
Every stage records a fingerprint of its inputs (hago's own source, the model
and data files' contents and the options it and the stages before it used) in stages.json; a
rerun with the same directory reuses each stage whose fingerprint is
unchanged and whose outputs exist, and redoes the rest. The search also
resumes from search.jsonl if it was interrupted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from hago_ir.errors import HagoError
from hago_ir.model_io import load_npz, write_atomically

STAGES = ("import", "simq", "calibrate", "search", "realize", "onnx", "build", "report")


@dataclass
class QuantizeOptions:
    spec: str = "x86-vnni"
    calib_method: str = "percentile"
    percentile: float = 99.99
    search: str | None = "greedy"
    objective: str = "accuracy"
    budget: int = 100
    max_drop: float = 0.0
    holdout: float = 0.0
    seed: int = 0
    engine: str = "onnxruntime"
    target: str | None = "x86"
    eval_samples: int = 1000


@dataclass
class QuantizeResult:
    out_dir: Path
    report: str
    metrics: dict
    reused: list[str] = field(default_factory=list)


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def parse_module(path: Path) -> ModuleOp:
    from hago_ir.model_io import load_module

    return load_module(str(path))


def write_module(module: ModuleOp, path: Path) -> None:
    from xdsl.printer import Printer

    def write(handle) -> None:
        Printer(stream=handle).print_op(module)
        handle.write("\n")

    write_atomically(path, write)


# Why the report does not run a build for these targets.
NOT_RUN = {
    "aarch64": "an AArch64 library does not run on this machine",
    "cuda": "the report runs builds on the CPU only",
    "x86-vnni": "this CPU has no avx512_vnni (/proc/cpuinfo)",
}


def compiler_digest() -> str:
    """A digest of hago's own source: hago_ir (with its built-in specs), its dialects and passes."""
    import hago_ir
    import hago_ir.dialects
    import hago_ir.passes

    digest = hashlib.sha256()
    for package in (hago_ir, hago_ir.dialects, hago_ir.passes):
        for root in map(Path, package.__path__):
            for path in sorted([*root.glob("*.py"), *root.glob("specs/*")]):
                digest.update(f"{package.__name__}/{path.name}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class _Stages:
    """Runs or reuses the stages, tracking fingerprints in stages.json."""

    def __init__(self, out_dir: Path, log: Callable[[str], None]) -> None:
        self.out_dir = out_dir
        self.log = log
        self.record_path = out_dir / "stages.json"
        try:
            self.record = json.loads(self.record_path.read_text()) if self.record_path.is_file() else {}
        except json.JSONDecodeError:
            self.record = {}
        self.reused: list[str] = []
        # The compiler itself is an input too: a rerun after hago changed redoes every stage.
        self.chain = compiler_digest()

    def run(self, name: str, fingerprint: dict, outputs: list[str], work: Callable[[], None]) -> None:
        self.chain = hashlib.sha256((self.chain + json.dumps(fingerprint, sort_keys=True)).encode()).hexdigest()[:16]
        index = STAGES.index(name) + 1
        if self.record.get(name) == self.chain and all((self.out_dir / o).exists() for o in outputs):
            self.reused.append(name)
            self.log(f"[{index}/{len(STAGES)}] {name}: reused ({', '.join(outputs)})")
            return
        started = time.perf_counter()
        self.log(f"[{index}/{len(STAGES)}] {name} ...")
        work()
        self.record[name] = self.chain
        # Later stages depend on this one: forget theirs.
        for later in STAGES[index:]:
            self.record.pop(later, None)
        text = json.dumps(self.record, indent=2) + "\n"
        write_atomically(self.record_path, lambda handle: handle.write(text))
        self.log(f"[{index}/{len(STAGES)}] {name}: done in {time.perf_counter() - started:.1f} s")


def quantize(
    model: str | Path, calib: str | Path, out_dir: str | Path, eval_data: str | Path | None = None,
    options: QuantizeOptions | None = None, log: Callable[[str], None] | None = None, **overrides,
) -> QuantizeResult:
    """Run the pipeline on an ONNX model; see the module docstring."""
    options = dataclasses.replace(options or QuantizeOptions(), **overrides)
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    if not 0.0 <= options.holdout < 1.0:  # checked before any stage runs
        raise HagoError(f"holdout {options.holdout} must be at least 0 and below 1 (a fraction of the samples)")
    model, calib = Path(model), Path(calib)
    for path, what in ((model, "model"), (calib, "calibration data")):
        if not path.is_file():
            raise HagoError(f"{path}: no such file ({what})")
    if eval_data is not None and not Path(eval_data).is_file():
        raise HagoError(f"{eval_data}: no such file (evaluation data)")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise HagoError(f"{out_dir}: exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    calib_data = load_npz(calib)
    stages = _Stages(out_dir, log)

    from hago_ir.hardware_spec import load_spec

    spec = load_spec(options.spec)

    def stage_import() -> None:
        from hago_ir.canonicalize import canonicalize
        from hago_ir.onnx_frontend import import_onnx

        module = import_onnx(str(model))
        canonicalize(module)
        write_module(module, out_dir / "1-imported.mlir")

    stages.run("import", {"model": file_digest(model)}, ["1-imported.mlir"], stage_import)

    def stage_simq() -> None:
        from hago_ir.insert_simq import insert_simulated_quantize
        from hago_ir.topology import assign_topology

        module = parse_module(out_dir / "1-imported.mlir")
        assign_topology(module, spec)
        insert_simulated_quantize(module)
        write_module(module, out_dir / "2-simq.mlir")

    spec_fingerprint = options.spec if not Path(options.spec).is_file() else file_digest(options.spec)
    stages.run("simq", {"spec": spec_fingerprint}, ["2-simq.mlir"], stage_simq)

    def stage_calibrate() -> None:
        from hago_ir.calibrate import calibrate

        module = parse_module(out_dir / "2-simq.mlir")
        inputs = {k: v for k, v in calib_data.items() if k != "label"}
        calibrate(module, inputs, options.calib_method, options.percentile, source=str(calib))
        write_module(module, out_dir / "3-calibrated.mlir")

    stages.run("calibrate", {"calib": file_digest(calib), "method": options.calib_method,
                             "percentile": options.percentile}, ["3-calibrated.mlir"], stage_calibrate)

    search_summary: dict = {}

    def stage_search() -> None:
        from hago_ir.search import bits_plot_svg, format_table, search, write_strategy

        module = parse_module(out_dir / "3-calibrated.mlir")
        # The log resumes an interrupted search with the same inputs; a log left
        # by a different model, spec, calibration or options must not be reused.
        key_file, log_file = out_dir / "search.key", out_dir / "search.jsonl"
        if not key_file.is_file() or key_file.read_text().strip() != stages.chain:
            log_file.unlink(missing_ok=True)
            write_atomically(key_file, lambda handle: handle.write(stages.chain + "\n"))
        result = search(
            module, calib_data, options.search, options.objective, options.budget, options.seed,
            options.max_drop, log_path=str(out_dir / "search.jsonl"), source=str(calib), engine=options.engine,
            holdout=options.holdout,
        )
        log(format_table(result))
        write_strategy(result, str(out_dir / "strategy.json"))
        svg = bits_plot_svg(result, f"{model.name} on {options.spec}: effective bits per edge")
        write_atomically(out_dir / "bits.svg", lambda handle: handle.write(svg))
        write_module(module, out_dir / "4-searched.mlir")

    if options.search:
        stages.run("search", {k: getattr(options, k) for k in ("search", "objective", "budget", "max_drop",
                                                               "seed", "engine", "holdout")},
                   ["4-searched.mlir", "strategy.json", "bits.svg"], stage_search)
        search_summary = json.loads((out_dir / "strategy.json").read_text())
        chosen = out_dir / "4-searched.mlir"
    else:
        chosen = out_dir / "3-calibrated.mlir"

    def stage_realize() -> None:
        from hago_ir.legality import check_legal
        from hago_ir.realize import realize

        module = parse_module(chosen)
        realize(module)
        check_legal(module, spec)
        write_module(module, out_dir / "5-realized.mlir")

    stages.run("realize", {"from": chosen.name}, ["5-realized.mlir"], stage_realize)

    def stage_onnx() -> None:
        from hago_ir.onnx_export import export_qdq

        data = export_qdq(parse_module(out_dir / "5-realized.mlir")).SerializeToString()
        write_atomically(out_dir / "model.qdq.onnx", lambda handle: handle.write(data), binary=True)

    stages.run("onnx", {}, ["model.qdq.onnx"], stage_onnx)

    library = f"model.{options.target}.so" if options.target else None

    def stage_build() -> None:
        import os
        import tempfile

        from hago_ir.relax_backend import to_relax
        from hago_ir.tvm_build import build, kernels_for

        realized = parse_module(out_dir / "5-realized.mlir")
        built = build(to_relax(realized, **kernels_for(options.target)), options.target)
        fd, temporary = tempfile.mkstemp(prefix=".model.", suffix=".so", dir=out_dir)
        os.close(fd)
        try:
            built.export(temporary)
            os.replace(temporary, out_dir / library)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        assembly = built.assembly()
        write_atomically(out_dir / f"model.{options.target}.s", lambda handle: handle.write(assembly))

    if library:
        from hago_ir.tvm_build import kernels_for

        # The hand kernels depend on the host too (VNNI for `x86` only where the CPU has it):
        # a build made elsewhere is not reused.
        stages.run("build", {"target": options.target, "kernels": kernels_for(options.target)}, [library],
                   stage_build)

    metrics: dict = {}

    def stage_report() -> None:
        from hago_ir.evaluate import evaluate_all

        from hago_ir.tvm_build import host_has_vnni

        data = load_npz(eval_data) if eval_data is not None else calib_data
        # The report runs builds on this machine's CPU only.
        runnable = options.target == "x86" or (options.target == "x86-vnni" and host_has_vnni())
        metrics.update(evaluate_all(model, out_dir, data, options.eval_samples, library if runnable else None))
        if library and not runnable:
            metrics["build_not_run"] = (
                f"`{library}` (and its assembly, `{library[:-3]}.s`) was built for {options.target} and not run: "
                + NOT_RUN.get(options.target, "this machine's CPU cannot run it") + "."
            )
        metrics["eval_data"] = str(eval_data if eval_data is not None else calib)
        metrics["search"] = search_summary
        metrics["options"] = asdict(options)
        text = json.dumps(metrics, indent=2) + "\n"
        write_atomically(out_dir / "report.json", lambda handle: handle.write(text))
        report = render_report(model, calib, eval_data, out_dir, options, metrics)
        write_atomically(out_dir / "report.md", lambda handle: handle.write(report))

    stages.run("report", {"eval": file_digest(eval_data) if eval_data else "calib",
                          "samples": options.eval_samples}, ["report.md", "report.json"], stage_report)
    if not metrics:
        metrics = json.loads((out_dir / "report.json").read_text())
    return QuantizeResult(out_dir, (out_dir / "report.md").read_text(), metrics, stages.reused)


def command_line(model: Path, calib: Path, eval_data, out_dir: Path, options: QuantizeOptions) -> str:
    parts = ["hago", "quantize", str(model), "--spec", options.spec, "--calib", str(calib)]
    if eval_data is not None:
        parts += ["--eval", str(eval_data)]
    if options.search:
        parts += ["--search", options.search, "--objective", options.objective, "--budget", str(options.budget)]
        if options.max_drop:
            parts += ["--max-drop", str(options.max_drop)]
        if options.holdout:
            parts += ["--holdout", str(options.holdout)]
    else:
        parts += ["--search", "none"]
    parts += ["--target", options.target or "none", "--out", str(out_dir)]
    return shlex.join(parts)


def render_report(model: Path, calib: Path, eval_data, out_dir: Path, options: QuantizeOptions, metrics: dict) -> str:
    def pct(value) -> str:
        return "-" if value is None else f"{value:.2f}%"

    lines = [
        f"# hago report: {model.name} on {options.spec}",
        "",
        f"Evaluated on {metrics['samples']} samples of {metrics['eval_data']}"
        + (" (labels present)." if metrics.get("labelled") else " (no labels: agreement with float only)."),
        "",
        "| model | accuracy | top-1 agreement with float | batch-1 latency |",
        "| --- | --- | --- | --- |",
    ]
    for row in metrics["rows"]:
        latency = "-" if row.get("latency_ms") is None else f"{row['latency_ms']:.3f} ms"
        lines.append(f"| {row['name']} | {pct(row.get('accuracy'))} | {pct(row.get('agreement'))} | {latency} |")
    if metrics.get("bit_exact") is not None:
        lines += ["", f"TVM build bit-exact with the integer reference interpreter: **{metrics['bit_exact']}**."]
    if metrics.get("build_not_run"):
        lines += ["", metrics["build_not_run"]]
    search = metrics.get("search") or {}
    if search:
        lines += [
            "", "## Search", "",
            f"{search['method']} / {search['objective']}: {search['trials']} trials in {search['seconds']} s, "
            f"score {search['score']:.4g} (float {search['float_score']:.4g}) on the calibration data, "
            f"{search['mean_bits']:.2f} bits per edge on average. Plot: `bits.svg`.",
            "", "| # | edge | kind | dtype | bits |", "| --- | --- | --- | --- | --- |",
        ]
        for index, edge in enumerate(search["edges"]):
            lines.append(f"| {index} | `{edge['name']}` | {edge['kind']} | {edge['dtype']} | {edge['bits']} |")
    lines += [
        "", "## Reproduce", "", "```sh", command_line(model, calib, eval_data, out_dir, options), "```", "",
        "Files: `1-imported.mlir`, `2-simq.mlir`, `3-calibrated.mlir`, `4-searched.mlir`, `5-realized.mlir` "
        "(the IR after each stage), `strategy.json`, `bits.svg`, `search.jsonl`, `model.qdq.onnx`"
        + (f", `model.{options.target}.so`, `model.{options.target}.s`" if options.target else "") + ".",
        "",
    ]
    return "\n".join(lines)
