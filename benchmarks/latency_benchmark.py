"""Batch-1 latency of hago's int8 builds against TVM float and onnxruntime; writes docs/LATENCY.md.

    .venv/bin/python benchmarks/latency_benchmark.py [--models resnet18 mobilenet_v2]
        [--tune-trials N --trials-per-task K] [--tuning-dir DIR] [--repeats 60] [--profile]
        [--output docs/LATENCY.md]

Per model, side by side in one process, on this machine's cores:
- onnxruntime float32 and int8 (its `quantize_static`: QDQ, per-channel s8
  weights, u8 activations, MinMax calibration on the same samples as hago);
- TVM float32: the float model through hago's own Relax emission and build
  path (hago_ir.tvm_build: operator fusion and default CPU schedules),
  untuned, and MetaSchedule-tuned when `--tune-trials` is given;
- hago int8: `hago quantize --spec x86-vnni --search none` realized and built
  for `x86` (hand-scheduled VNNI / depthwise kernels with the requantize
  fused; default schedules for the rest), untuned, and with `--tune-trials`
  also tuned: MetaSchedule then schedules the kernels the hand schedules
  leave (quantize, leftover requantizes, pools); the hand kernels are marked
  scheduled and kept, and a tuned schedule is used only where it beats the
  default one (hago_ir.tvm_build.faster_than_default). Its outputs are checked bit for bit against hago's
  integer reference interpreter on the timed input.
Tuning databases are kept in `--tuning-dir`, one per model and build
(`resnet18-float`, `resnet18-hago`, ...); one found there is applied without
tuning again, so a later run with the same directory reuses them.

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
                if name.startswith("conv2d_vnni") else "max pool + requantize kernels"
                if name.startswith("max_pool2d_requantized") else "VM (allocations, ...)" if name.startswith("vm.")
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


def tuned_build(args, work: Path, name: str, relax_module, title: str, log):
    """(build, tuning record) from the MetaSchedule database `args.tuning_dir / name`, or (None, None).

    A database already there is applied without tuning again (the cache);
    otherwise one is tuned when `--tune-trials` is given.
    """
    from hago_ir.tvm_build import build

    if args.tuning_dir is None and not args.tune_trials:
        return None, None
    directory = (args.tuning_dir or work) / name
    record = directory / "hago_tuning.json"
    cached = (directory / "database_workload.json").is_file()
    if not cached and not args.tune_trials:
        return None, None
    started = time.perf_counter()
    built = build(relax_module(), "x86", tune_trials=0 if cached else args.tune_trials, tuning_dir=directory,
                  trials_per_task=args.trials_per_task)
    seconds = time.perf_counter() - started
    if not cached:
        record.write_text(json.dumps({"trials": args.tune_trials, "trials_per_task": args.trials_per_task,
                                      "seconds": round(seconds)}) + "\n")
    log(f"{title} {'built from the tuning database' if cached else 'tuned'} in {seconds:.0f} s")
    info = json.loads(record.read_text()) if record.is_file() else None
    if info is not None:
        info["kernels"] = len(built.schedule_choices)
        info["tuned_kept"] = sum(choice["schedule"] == "tuned" for choice in built.schedule_choices)
    return built, info


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

    log(f"{title}: TVM float (untuned)")
    float_module = import_onnx(str(model))
    canonicalize(float_module)
    tvm_float = build(to_relax(float_module), "x86")
    tuned, tuning_info = tuned_build(args, work, f"{key}-float", lambda: to_relax(float_module), f"{title}: TVM float", log)
    hago_tuned, hago_tuning_info = tuned_build(args, work, f"{key}-hago", lambda: to_relax(realized, vnni=True),
                                               f"{title}: hago int8", log)
    if hago_tuned is not None:
        hago_tuned_exact = bool(np.array_equal(hago_tuned.run(x)[0], reference))
        log(f"{title}: hago int8 tuned, bit-exact with the integer interpreter: {hago_tuned_exact}")
        bit_exact = bit_exact and hago_tuned_exact

    def vm_runner(built):
        vm = relax.VirtualMachine(built.executable, tvm.cpu())
        tensor = tvm.runtime.tensor(x)
        return lambda: vm["main"](tensor)

    runners = {
        "ort_float": lambda: float_session.run(None, {input_name: x}),
        "ort_int8": lambda: int8_session.run(None, {input_name: x}),
        "hago_int8": vm_runner(hago),
    }
    if hago_tuned is not None:
        runners["hago_int8_tuned"] = vm_runner(hago_tuned)
    if tuned is not None:
        runners["tvm_float_tuned"] = vm_runner(tuned)
    runners["tvm_float"] = vm_runner(tvm_float)  # last: its long calls keep TVM's threads busy longest
    log(f"{title}: timing, {args.repeats} calls per runner in 5 blocks")
    medians = blockwise_medians(runners, args.repeats)
    row = {"model": title, **{f"{k}_ms": round(v, 3) for k, v in medians.items()},
           "hago_bit_exact": bit_exact, "hago_build_s": round(hago_build_s, 1),
           "tuning": tuning_info, "hago_tuning": hago_tuning_info}
    row["hago_vs_ort_int8"] = round(medians["hago_int8"] / medians["ort_int8"], 2)
    row["tvm_float_vs_hago"] = round(medians["tvm_float"] / medians["hago_int8"], 2)
    if tuned is not None:
        row["tvm_float_tuned_vs_hago"] = round(medians["tvm_float_tuned"] / medians["hago_int8"], 2)
    if hago_tuned is not None:
        row["hago_tuned_vs_ort_int8"] = round(medians["hago_int8_tuned"] / medians["ort_int8"], 2)
    log(f"{title}: " + ", ".join(f"{k} {v:.3f} ms" for k, v in medians.items()))
    if args.profile:
        row["profile"] = kernel_profile(hago.executable, x)
    return row


def render(rows: list[dict], skipped: list[str], args, seconds: float) -> str:
    tuned = any(row.get("tvm_float_tuned_ms") for row in rows)
    hago_tuned = any(row.get("hago_int8_tuned_ms") for row in rows)
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
    columns = [("model", lambda r: r["model"]), ("ort float", lambda r: r["ort_float_ms"]),
               ("ort int8", lambda r: r["ort_int8_ms"]), ("TVM float", lambda r: r["tvm_float_ms"])]
    if tuned:
        columns.append(("TVM float tuned", lambda r: r.get("tvm_float_tuned_ms", "-")))
    columns.append(("hago int8", lambda r: r["hago_int8_ms"]))
    if hago_tuned:
        columns.append(("hago int8 tuned", lambda r: r.get("hago_int8_tuned_ms", "-")))
    columns.append(("hago / ort int8", lambda r: f"{r['hago_vs_ort_int8']}x"))
    if hago_tuned:
        columns.append(("hago tuned / ort int8",
                        lambda r: f"{r['hago_tuned_vs_ort_int8']}x" if r.get("hago_tuned_vs_ort_int8") else "-"))
    columns.append(("TVM float / hago", lambda r: f"{r['tvm_float_vs_hago']}x"))
    if tuned:
        columns.append(("TVM float tuned / hago",
                        lambda r: f"{r['tvm_float_tuned_vs_hago']}x" if r.get("tvm_float_tuned_vs_hago") else "-"))
    columns.append(("bit-exact", lambda r: "yes" if r["hago_bit_exact"] else "NO"))
    lines += ["| " + " | ".join(name for name, _ in columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(str(cell(row)) for _, cell in columns) + " |" for row in rows]
    if tuned or hago_tuned:
        lines += ["", "MetaSchedule tuning (databases in " + str(args.tuning_dir or "a temporary directory")
                  + "; one found there is applied without tuning again):"]
        for row in rows:
            for what, key in (("TVM float", "tuning"), ("hago int8 (the kernels the hand schedules leave)", "hago_tuning")):
                info = row.get(key)
                if info:
                    kept = (f" The tuned schedule beat the default one, and is used, for {info['tuned_kept']} of "
                            f"the {info['kernels']} kernels with a tuning record." if "kernels" in info else "")
                    lines.append(f"- {row['model']}, {what}: at most {info['trials_per_task']} trials per task "
                                 f"(budget {info['trials']}), {info['seconds'] / 60:.0f} min of tuning.{kept}")
        lines.append("A database is made by the same command with `--tune-trials N --trials-per-task K` "
                     "(the tuning happens then, and the run takes that much longer). "
                     "bit-exact covers the tuned hago build too.")
    for row in rows:
        if row.get("profile"):
            lines += [""] + profile_lines(row["model"], row["profile"])
    if skipped:
        lines += ["", "Skipped:"] + [f"- {reason}" for reason in skipped]
    return "\n".join(lines) + "\n"


def _cores() -> int:
    from hago_ir.tvm_build import usable_cores as cores

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
