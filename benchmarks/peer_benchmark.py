"""Accuracy and search time of hago against its peers; writes docs/BENCHMARKS.md.

    .venv/bin/python benchmarks/peer_benchmark.py [--budget 80] [--holdout 0.25]

Accuracy, per model and spec, on the same calibration samples for everyone and
the held-out test split (top-1 agreement with float for the ImageNet model,
which has no labels offline):
- float (onnxruntime);
- hago with search and hago with every edge at its container's full bits (no
  search), both as realized integer models run by hago's integer reference
  interpreter (bit-exact with the TVM build). The search is greedy on x86-vnni
  (it starts from 8 bits everywhere and never accepts a worse calibration
  score) and random on arm-a72-i16 (where the 8-bit start overflows the int16
  accumulators and greedy lags: docs/SEARCH_BENCHMARK.md); `--budget` trials
  (`--imagenet-budget` for the ImageNet model, whose trials are slow), the
  accuracy objective (agreement for the ImageNet model), a quarter of the
  calibration samples held out to check the result on (`--holdout`,
  docs/search.md);
- onnxruntime's `quantize_static` (QDQ, per-channel weights, u8 activations /
  s8 weights, MinMax, Entropy and Percentile calibration);
- NNCF's default post-training quantization of the ONNX model
  (benchmarks/nncf_peer.py, run in `.venv-nncf` from scripts/setup_nncf.sh;
  skipped, and said so, where that environment is missing).
onnxruntime's int8 kernels accumulate in int32, so the peers' rows are for x86
(the arm-a72-i16 rows are hago's alone: no peer models int16 accumulation).

Latency is benchmarks/latency_benchmark.py's job (docs/LATENCY.md).

Models (built by scripts, cached outside git; missing ones are skipped and
reported): the bundled Fashion-MNIST ResNet-style CNN; the MobileNetV2-style
Fashion-MNIST CNN (`scripts/train_fashion_cnn.py --arch mobilenetv2 --out
~/.cache/hago/models/fashion_mobilenet`); a ResNet-style CNN on MNIST-5k
(`scripts/train_fashion_cnn.py --dataset mnist5k --epochs 10 --out
~/.cache/hago/models/mnist5k_cnn`); the pretrained ImageNet MobileNetV2
(`scripts/export_mobilenet_v2.py`).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "hago" / "models"
FASHION = REPO / "examples" / "fashion_cnn"
SEARCH_METHOD = {"x86-vnni": "greedy", "arm-a72-i16": "random"}


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def accuracy_models() -> dict[str, dict]:
    models = {
        "Fashion-MNIST ResNet-style": {
            "onnx": FASHION / "model.onnx", "calib": FASHION / "calib.npz", "test": FASHION / "test.npz",
            "objective": "accuracy", "labelled": True,
        },
        "Fashion-MNIST MobileNetV2-style": {
            "onnx": CACHE / "fashion_mobilenet" / "model.onnx", "calib": CACHE / "fashion_mobilenet" / "calib.npz",
            "test": CACHE / "fashion_mobilenet" / "test.npz", "objective": "accuracy", "labelled": True,
        },
        "MNIST-5k ResNet-style": {
            "onnx": CACHE / "mnist5k_cnn" / "model.onnx", "calib": CACHE / "mnist5k_cnn" / "calib.npz",
            "test": CACHE / "mnist5k_cnn" / "test.npz", "objective": "accuracy", "labelled": True,
        },
        "ImageNet MobileNetV2 (pretrained)": {
            "onnx": CACHE / "mobilenet_v2.onnx", "crops": CACHE / "mobilenet_v2_crops.npz",
            "objective": "agreement", "labelled": False,
        },
    }
    return models


def split_crops(path: Path, work: Path) -> tuple[Path, Path]:
    """The 64 photo crops: the first half calibrates, the second half evaluates (agreement)."""
    crops = np.load(path)
    key = [k for k in crops.files if k != "label"][0]
    x = crops[key]
    calib, test = work / "imagenet_calib.npz", work / "imagenet_test.npz"
    np.savez(calib, input=x[: len(x) // 2])
    np.savez(test, input=x[len(x) // 2 :])
    return calib, test


class CalibrationReader:
    """onnxruntime's CalibrationDataReader over the same samples hago calibrates on."""

    def __init__(self, name: str, samples: np.ndarray) -> None:
        self.items = iter([{name: samples[i : i + 1].astype(np.float32)} for i in range(len(samples))])

    def get_next(self):
        return next(self.items, None)


def ort_quantize(model: Path, calib: Path, method: str, out: Path) -> Path:
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
    name = onnx.load(str(prepared)).graph.input[0].name
    data = np.load(calib)
    samples = data[[k for k in data.files if k != "label"][0]]
    quantize_static(
        str(prepared), str(out), CalibrationReader(name, samples), quant_format=QuantFormat.QDQ,
        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        calibrate_method=getattr(CalibrationMethod, method),
    )
    return out


def run_accuracy(args, work: Path, log) -> tuple[list[dict], list[str]]:
    from hago_ir.evaluate import evaluate
    from hago_ir.model_io import load_npz
    from hago_ir.pipeline import quantize

    rows, skipped = [], []
    for name, spec in accuracy_models().items():
        if not spec["onnx"].is_file():
            skipped.append(f"{name}: {spec['onnx']} is missing (see the script's docstring)")
            continue
        if "crops" in spec:
            if not spec["crops"].is_file():
                skipped.append(f"{name}: {spec['crops']} is missing")
                continue
            spec["calib"], spec["test"] = split_crops(spec["crops"], work)
        test = load_npz(spec["test"])
        samples = args.samples if spec["labelled"] else len(next(iter(test.values())))
        float_result = evaluate(spec["onnx"], test, samples, time_it=False)
        base = {"model": name, "samples": samples, "labelled": spec["labelled"]}

        def score(result: dict) -> float:
            return result["accuracy"] if spec["labelled"] else result["agreement"]

        float_score = float_result["accuracy"] if spec["labelled"] else 100.0
        rows.append({**base, "spec": "-", "method": "float (onnxruntime)", "score": float_score, "seconds": None})
        for method in ("MinMax", "Entropy", "Percentile"):
            log(f"{name}: onnxruntime quantize_static {method}")
            started = time.perf_counter()
            try:
                peer = ort_quantize(spec["onnx"], spec["calib"], method, work / f"{slug(name)}-{method}.onnx")
            except Exception as error:  # noqa: BLE001 - a peer failing is a result, not a crash
                rows.append({**base, "spec": "x86 (int32 acc.)", "method": f"onnxruntime {method}",
                             "score": None, "note": str(error).splitlines()[0][:120], "seconds": None})
                continue
            seconds = time.perf_counter() - started
            result = evaluate(peer, test, samples, reference=spec["onnx"], time_it=False)
            rows.append({**base, "spec": "x86 (int32 acc.)", "method": f"onnxruntime quantize_static {method}",
                         "score": score(result), "seconds": round(seconds, 1)})
        budget = args.budget if spec["labelled"] else args.imagenet_budget
        nncf_python = REPO / ".venv-nncf" / "bin" / "python"
        if nncf_python.is_file():
            log(f"{name}: NNCF (default post-training quantization)")
            out = work / f"{slug(name)}-nncf.onnx"
            started = time.perf_counter()
            done = subprocess.run([str(nncf_python), str(REPO / "benchmarks" / "nncf_peer.py"), str(spec["onnx"]),
                                   str(spec["calib"]), str(out)], capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if done.returncode == 0:
                result = evaluate(out, test, samples, reference=spec["onnx"], time_it=False)
                rows.append({**base, "spec": "x86 (int32 acc.)", "method": "NNCF 3.4.0 (default PTQ)",
                             "score": score(result), "seconds": round(seconds, 1)})
            else:
                rows.append({**base, "spec": "x86 (int32 acc.)", "method": "NNCF 3.4.0 (default PTQ)",
                             "score": None, "note": (done.stderr.strip().splitlines() or ["failed"])[-1][:120],
                             "seconds": None})
        elif name == next(iter(accuracy_models())):
            skipped.append("NNCF: .venv-nncf is missing (scripts/setup_nncf.sh makes it)")
        for hw in args.specs:
            for search in (SEARCH_METHOD.get(hw, "greedy"), None):
                label = "hago, all edges 8 bits (no search)"
                if search:
                    label = f"hago, {search} search ({budget} trials" + (
                        f", checked on {args.holdout:.0%} held out)" if args.holdout else ")")
                log(f"{name}: {label} on {hw}")
                out = work / f"{slug(name)}-{hw}-{search or 'none'}"
                started = time.perf_counter()
                result = quantize(
                    spec["onnx"], spec["calib"], out, spec["test"], spec=hw, search=search,
                    objective=spec["objective"], budget=budget, target=None, eval_samples=samples,
                    holdout=args.holdout if search else 0.0, log=lambda message: None,
                )
                seconds = time.perf_counter() - started
                realized = {row["name"]: row for row in result.metrics["rows"]}["integer reference (realized)"]
                value = realized["accuracy"] if spec["labelled"] else realized["agreement"]
                search_info = result.metrics.get("search") or {}
                rows.append({**base, "spec": hw, "method": label, "score": value,
                             "seconds": search_info.get("seconds"), "pipeline_seconds": round(seconds, 1),
                             "mean_bits": search_info.get("mean_bits"), "trials": search_info.get("trials")})
        for row in rows:
            if row["model"] == name and row["score"] is not None:
                row["drop"] = round(float_score - row["score"], 2)
    return rows, skipped


def render(accuracy: list[dict], skipped: list[str], args, seconds: float) -> str:
    import onnxruntime
    import tvm
    import xdsl

    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    vnni = "avx512_vnni" in Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else False
    lines = [
        "# Benchmarks: hago against its peers",
        "",
        f"Generated by `{' '.join(['.venv/bin/python', 'benchmarks/peer_benchmark.py', *sys.argv[1:]])}` "
        f"in {seconds / 60:.1f} min.",
        "",
        f"Machine: {cpu}, {len(__import__('os').sched_getaffinity(0))} cores, AVX-512 VNNI: {'yes' if vnni else 'no'}; "
        f"Python {platform.python_version()}, onnxruntime {onnxruntime.__version__}, TVM {tvm.__version__}, "
        f"xDSL {getattr(xdsl, '__version__', '0.75.0')}.",
        "",
        "## Accuracy",
        "",
        "Score: top-1 test accuracy for the Fashion-MNIST and MNIST-5k models (held-out test split), top-1 agreement "
        "with float for the ImageNet model (photo crops: half calibrate, half evaluate). Drop: float minus score, "
        "in points. NNCF's and onnxruntime's models run in onnxruntime. hago rows are the realized integer models (integer reference interpreter, bit-exact with "
        "the TVM build). onnxruntime sums int8 products in int32, like x86-vnni; no peer models arm-a72-i16's "
        "int16 accumulators.",
        "",
        "| model | spec | method | score | drop | mean bits | search time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in accuracy:
        score = "failed: " + row.get("note", "") if row["score"] is None else f"{row['score']:.2f}%"
        drop = "-" if row.get("drop") is None else f"{row['drop']:+.2f}"
        bits = "-" if row.get("mean_bits") is None else f"{row['mean_bits']:.2f}"
        search = "-" if row.get("seconds") is None or "search" not in row["method"] else (
            f"{row['seconds']} s ({row['trials']} trials)")
        lines.append(f"| {row['model']} | {row['spec']} | {row['method']} | {score} | {drop} | {bits} | {search} |")
    lines += ["", "Latency: docs/LATENCY.md (benchmarks/latency_benchmark.py)."]
    if skipped:
        lines += ["", "## Skipped", ""] + [f"- {line}" for line in skipped]
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=80, help="hago's search trials per model and spec")
    parser.add_argument("--imagenet-budget", type=int, default=24, help="search trials for the ImageNet model")
    parser.add_argument("--holdout", type=float, default=0.25,
                        help="fraction of the calibration samples hago's searches hold out to check their result on")
    parser.add_argument("--samples", type=int, default=1000, help="test samples (labelled models)")
    parser.add_argument("--specs", nargs="+", default=["x86-vnni", "arm-a72-i16"])
    parser.add_argument("--output", default=str(REPO / "docs" / "BENCHMARKS.md"))
    parser.add_argument("--work", help="keep intermediate files here (default: a temporary directory)")
    args = parser.parse_args()

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(args.work or temporary)
        work.mkdir(parents=True, exist_ok=True)
        accuracy, skipped = run_accuracy(args, work, log)
    text = render(accuracy, skipped, args, time.perf_counter() - started)
    from hago_ir.model_io import write_atomically

    write_atomically(args.output, lambda handle: handle.write(text))
    (Path(args.output).with_suffix(".json")).write_text(json.dumps({"accuracy": accuracy}, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
