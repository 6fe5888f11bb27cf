"""Batch-1 latency of hago's int8 builds against TVM float and onnxruntime; writes docs/LATENCY.md.

    .venv/bin/python benchmarks/latency_benchmark.py [--models resnet18 mobilenet_v2]
        [--tune-trials N --trials-per-task K] [--tuning-dir DIR] [--repeats 60] [--profile]
        [--output docs/LATENCY.md]

Per model, side by side in one process, on this machine's cores:
- onnxruntime float32 and int8 (its `quantize_static`: QDQ, per-channel s8
  weights, u8 activations, MinMax calibration on the same samples as hago);
- TVM float32: the float model through hago's own Relax emission and build
  path (hago_ir.tvm_build: operator fusion and default CPU schedules),
  untuned, and MetaSchedule-tuned when `--tune-trials` is given (databases
  kept in `--tuning-dir`; a later run with that directory and no
  `--tune-trials` builds from them without tuning again);
- hago int8: `hago quantize --spec x86-vnni --search none` realized and built
  for `x86` (hand-scheduled VNNI / depthwise kernels with the requantize
  fused; default schedules for the rest), untuned. Its output is checked bit
  for bit against hago's integer reference interpreter on the timed input.

Timing: each runner in 5 blocks of consecutive calls (warm-up, then about
`--repeats` / 5 timed calls), the blocks of the runners alternating, so a slow
spell of the shared machine hits all of them; the table gives medians and the
ratios between them. (Runners are not interleaved call by call: the thread
pools of onnxruntime and TVM spin after each parallel job and slow the other
runtime's next call; see `blockwise_medians`.)

Models (cached outside git; a missing one is reported and skipped):
ResNet-18 with random weights (`.venv-models/bin/python scripts/export_resnet18.py`)
and the pretrained ImageNet MobileNetV2 (`scripts/export_mobilenet_v2.py`,
calibrated on 32 of its 64 photo crops).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from peer_benchmark import CACHE, ort_quantize, split_crops  # noqa: E402
from search_benchmark import cpu_name  # noqa: E402

MODELS = {
    "resnet18": ("ResNet-18 (random weights)", CACHE / "resnet18.onnx", CACHE / "resnet18_calib.npz"),
    "mobilenet_v2": ("ImageNet MobileNetV2 (pretrained)", CACHE / "mobilenet_v2.onnx", None),
}


def blockwise_medians(runners: dict[str, callable], repeats: int, rounds: int = 5) -> dict[str, float]:
    """Median milliseconds per runner over `rounds` rounds of consecutive calls.

    Each runner runs in blocks of its own (warm-up calls, then timed ones),
    not call by call in turn with the others: onnxruntime's and TVM's thread
    pools both spin for a while after a parallel job, and a call that starts
    while the other runtime's threads still spin is slowed by them (measured
    here: onnxruntime int8 on ResNet-18, 4.1 ms alone, 9 ms called in turn
    with TVM); a pause before each block lets the other pool go idle. Slow
    runners (over 50 ms a call) get fewer calls.
    """
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            time.sleep(0.2)
            started = time.perf_counter()
            run()
            first = time.perf_counter() - started
            calls = max(2, min(repeats // rounds, int(2.0 / max(first, 1e-6))))
            for _ in range(3 if first < 0.05 else 0):
                run()
            for _ in range(calls):
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    return {name: 1000.0 * statistics.median(values) for name, values in times.items()}


def kernel_profile(executable, x: np.ndarray, calls: int = 20) -> list[tuple[str, float, int]]:
    """(kernel, ms per inference, calls per inference) of one build, from the Relax VM's instrument hook.

    The hook runs Python around every call, so the times include some of its
    overhead (a few microseconds per kernel): the shares are what it shows.
    """
    import tvm
    from tvm import relax

    vm = relax.VirtualMachine(executable, tvm.cpu())
    tensor = tvm.runtime.tensor(x)
    for _ in range(3):
        vm["main"](tensor)
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    started: dict[str, float] = {}

    def instrument(func, name, before, ret, *args):
        if before:
            started[name] = time.perf_counter()
        else:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - started[name]
            counts[name] = counts.get(name, 0) + 1
        return 0

    vm.set_instrument(instrument)
    for _ in range(calls):
        vm["main"](tensor)
    return sorted(((name, 1000 * t / calls, counts[name] // calls) for name, t in totals.items()),
                  key=lambda row: -row[1])


def profile_lines(title: str, profile: list[tuple[str, float, int]], top: int = 12) -> list[str]:
    kinds: dict[str, float] = {}
    for name, ms, _ in profile:
        kind = ("depthwise conv kernels" if name.startswith("depthwise") else "VNNI conv / dense kernels"
                if name.startswith("conv2d_vnni") else "VM (allocations, ...)" if name.startswith("vm.")
                else "fused default-scheduled kernels")
        kinds[kind] = kinds.get(kind, 0.0) + ms
    total = sum(kinds.values())
    lines = [f"### hago int8, {title}: where the time goes (`--profile`)", "",
             f"Per inference, {total:.2f} ms in all under the VM's instrument hook (which adds its own overhead).", "",
             "| kind | ms | share |", "| --- | --- | --- |"]
    lines += [f"| {kind} | {ms:.3f} | {100 * ms / total:.0f}% |" for kind, ms in sorted(kinds.items(), key=lambda kv: -kv[1])]
    lines += ["", "| kernel | ms | calls |", "| --- | --- | --- |"]
    lines += [f"| {name[:60]} | {ms:.3f} | {calls} |" for name, ms, calls in profile[:top]]
    return lines + [""]


def measure(key: str, args, work: Path, log) -> dict | None:
    import tvm
    from tvm import relax

    from hago_ir.canonicalize import canonicalize
    from hago_ir.integer_interpreter import run_integer_module
    from hago_ir.model_io import find_function, input_names, load_module
    from hago_ir.onnx_export import onnxruntime_session
    from hago_ir.onnx_frontend import import_onnx
    from hago_ir.pipeline import quantize
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build, uses_vnni

    title, model, calib = MODELS[key]
    if not model.is_file():
        log(f"{title}: {model} is missing, skipped (see the script's docstring)")
        return None
    if calib is None:
        calib, _ = split_crops(CACHE / "mobilenet_v2_crops.npz", work)
    samples = np.load(calib)
    x = samples[[k for k in samples.files if k != "label"][0]][:1].astype(np.float32)

    log(f"{title}: onnxruntime int8 (quantize_static)")
    float_session = onnxruntime_session(str(model))
    input_name = float_session.get_inputs()[0].name
    int8_session = onnxruntime_session(str(ort_quantize(model, calib, "MinMax", work / f"{key}-ort-int8.onnx")))

    log(f"{title}: hago quantize (x86-vnni, no search) and build")
    out = work / f"{key}-hago"
    quantize(model, calib, out, None, spec="x86-vnni", search=None, target=None, eval_samples=1,
             log=lambda message: None)
    realized = load_module(str(out / "5-realized.mlir"))
    started = time.perf_counter()
    hago = build(to_relax(realized, vnni=uses_vnni("x86")), "x86")
    hago_build_s = time.perf_counter() - started
    hago_out = hago.run(x)[0]
    reference = next(iter(run_integer_module(realized, {input_names(find_function(realized))[0]: x}).values()))
    bit_exact = bool(np.array_equal(hago_out, reference))
    log(f"{title}: hago int8 build {hago_build_s:.1f} s, bit-exact with the integer interpreter: {bit_exact}")

    tuning_dir = args.tuning_dir / f"{key}-float" if args.tuning_dir else None
    tuned_wanted = bool(args.tune_trials) or (tuning_dir is not None and tuning_dir.is_dir())
    log(f"{title}: TVM float (untuned{', tuned' if tuned_wanted else ''})")
    float_module = import_onnx(str(model))
    canonicalize(float_module)
    tvm_float = build(to_relax(float_module), "x86")
    tuned = None
    tune_s = None
    tuning_info = None
    if tuned_wanted:
        started = time.perf_counter()
        tuned = build(to_relax(float_module), "x86", tune_trials=args.tune_trials,
                      tuning_dir=tuning_dir or work / f"{key}-float-tuning", trials_per_task=args.trials_per_task)
        tune_s = time.perf_counter() - started
        record = (tuning_dir or work / f"{key}-float-tuning") / "hago_tuning.json"
        if args.tune_trials:
            record.write_text(json.dumps({"trials": args.tune_trials, "trials_per_task": args.trials_per_task,
                                          "seconds": round(tune_s)}) + "\n")
        tuning_info = json.loads(record.read_text()) if record.is_file() else None
        log(f"{title}: TVM float {'tuned' if args.tune_trials else 'built from the tuning database'} "
            f"in {tune_s:.0f} s")

    def vm_runner(built):
        vm = relax.VirtualMachine(built.executable, tvm.cpu())
        tensor = tvm.runtime.tensor(x)
        return lambda: vm["main"](tensor)

    runners = {
        "ort_float": lambda: float_session.run(None, {input_name: x}),
        "ort_int8": lambda: int8_session.run(None, {input_name: x}),
        "hago_int8": vm_runner(hago),
    }
    if tuned is not None:
        runners["tvm_float_tuned"] = vm_runner(tuned)
    runners["tvm_float"] = vm_runner(tvm_float)  # last: its long calls keep TVM's threads busy longest
    log(f"{title}: timing, {args.repeats} calls per runner in 5 blocks")
    medians = blockwise_medians(runners, args.repeats)
    row = {"model": title, **{f"{k}_ms": round(v, 3) for k, v in medians.items()},
           "hago_bit_exact": bit_exact, "hago_build_s": round(hago_build_s, 1),
           "tune_trials": args.tune_trials, "tune_s": round(tune_s, 0) if tune_s else None,
           "tuning": tuning_info}
    row["hago_vs_ort_int8"] = round(medians["hago_int8"] / medians["ort_int8"], 2)
    row["tvm_float_vs_hago"] = round(medians["tvm_float"] / medians["hago_int8"], 2)
    if tuned is not None:
        row["tvm_float_tuned_vs_hago"] = round(medians["tvm_float_tuned"] / medians["hago_int8"], 2)
    log(f"{title}: " + ", ".join(f"{k} {v:.3f} ms" for k, v in medians.items()))
    if args.profile:
        row["profile"] = kernel_profile(hago.executable, x)
    return row


def render(rows: list[dict], skipped: list[str], args, seconds: float) -> str:
    tuned = any(row.get("tvm_float_tuned_ms") for row in rows)
    lines = [
        "# Latency: hago int8 against TVM float and onnxruntime",
        "",
        f"Generated by `{' '.join(['.venv/bin/python', 'benchmarks/latency_benchmark.py', *sys.argv[1:]])}` "
        f"in {seconds / 60:.1f} min on {platform.machine()}, {cpu_name()}, {_cores()} cores "
        "(see the script's docstring for what each column is).",
        "Batch 1, milliseconds, medians of 5 alternating blocks of calls; ratios > 1 mean hago is faster, "
        "except hago / ort int8 (< 1 means hago is faster).",
        "",
    ]
    header = "| model | ort float | ort int8 | TVM float | " + ("TVM float tuned | " if tuned else "")
    header += "hago int8 | hago / ort int8 | TVM float / hago | " + ("TVM float tuned / hago | " if tuned else "")
    header += "bit-exact |"
    lines += [header, "|" + " --- |" * (header.count("|") - 1)]
    for row in rows:
        cells = [row["model"], row["ort_float_ms"], row["ort_int8_ms"], row["tvm_float_ms"]]
        if tuned:
            cells.append(row.get("tvm_float_tuned_ms", "-"))
        cells += [row["hago_int8_ms"], f"{row['hago_vs_ort_int8']}x", f"{row['tvm_float_vs_hago']}x"]
        if tuned:
            cells.append(f"{row['tvm_float_tuned_vs_hago']}x" if row.get("tvm_float_tuned_vs_hago") else "-")
        cells.append("yes" if row["hago_bit_exact"] else "NO")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if tuned:
        lines += ["", "TVM float tuned with MetaSchedule" + (" in this run:" if args.tune_trials else
                  f", from the databases in {args.tuning_dir} that an earlier run of this script tuned:")]
        for row in rows:
            info = row.get("tuning")
            if info:
                lines.append(f"- {row['model']}: at most {info['trials_per_task']} trials per task "
                             f"(budget {info['trials']}), {info['seconds'] / 60:.0f} min of tuning.")
        if not args.tune_trials:
            lines.append("Those databases are made by the same command with `--tune-trials N --trials-per-task K` "
                         "added (the tuning happens then, and the run takes that much longer).")
    for row in rows:
        if row.get("profile"):
            lines += [""] + profile_lines(row["model"], row["profile"])
    if skipped:
        lines += ["", "Skipped:"] + [f"- {reason}" for reason in skipped]
    return "\n".join(lines) + "\n"


def _cores() -> int:
    from hago_ir.tvm_build import _cores as cores

    return cores()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--tune-trials", type=int, default=0, help="MetaSchedule trials for TVM float (0: untuned)")
    parser.add_argument("--trials-per-task", type=int, default=None)
    parser.add_argument("--tuning-dir", type=Path, default=None,
                        help="keep MetaSchedule databases here; with --tune-trials 0, apply the ones there")
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--profile", action="store_true", help="also profile hago int8 kernel by kernel")
    parser.add_argument("--work", type=Path, default=None, help="keep intermediate files here")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "LATENCY.md")
    args = parser.parse_args()

    from hago_ir.tvm_build import host_has_vnni

    if not host_has_vnni():
        print("this CPU has no avx512_vnni: hago's x86 int8 kernels cannot run here; nothing measured")
        return 1
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        rows, skipped = [], []
        for key in args.models:
            row = measure(key, args, work, log)
            if row is None:
                skipped.append(f"{MODELS[key][0]}: {MODELS[key][1]} is missing")
            else:
                rows.append(row)
    text = render(rows, skipped, args, time.perf_counter() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    args.output.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
