"""Evaluation of any form of a model on labelled (or unlabelled) data: `hago eval`.

Runs a float or QDQ ONNX model (onnxruntime), a qsim module (the simulation),
a realized qnn module (the integer reference interpreter) or a TVM build
(`.so`, through the Relax VM) on the arrays of an .npz, and measures top-1
accuracy (when the .npz has `label`), top-1 agreement with a reference model,
and batch-1 latency (median of repeated single-sample runs; the interpreters
are not timed: they are oracles, not runtimes). `hago quantize` uses
`evaluate_all` for its report.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hago_ir.errors import HagoError

Runner = Callable[[np.ndarray], np.ndarray]  # one batch in, the first output out


def _onnx_runner(path: Path) -> tuple[Runner, Runner]:
    import onnx
    import onnxruntime as ort

    from hago_ir.onnx_export import onnxruntime_session

    try:
        producer = onnx.load(str(path), load_external_data=False).producer_name
    except Exception as error:  # noqa: BLE001 - onnx raises several types for a bad file
        raise HagoError(f"{path}: not a readable ONNX model ({str(error).splitlines()[0]})") from None
    if producer == "hago":  # hago's QDQ exports need two onnxruntime optimizations off
        session = onnxruntime_session(str(path))
    else:  # anything else runs as onnxruntime runs it by default
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    declared = session.get_inputs()[0].shape
    fixed_batch = isinstance(declared[0], int)

    def single(x: np.ndarray) -> np.ndarray:
        return session.run(None, {name: x.astype(np.float32)})[0]

    def batch(x: np.ndarray) -> np.ndarray:
        if not fixed_batch:
            return single(x)
        return np.concatenate([single(x[i : i + 1]) for i in range(len(x))])

    return batch, single


def _mlir_runner(path: Path) -> tuple[Runner, None]:
    from hago_ir.integer_interpreter import run_integer_batches
    from hago_ir.model_io import load_module
    from hago_ir.simulator import Simulator

    module = load_module(str(path))
    if any(op.dialect_name() == "qnn" for op in module.walk()):
        return (lambda x: next(iter(run_integer_batches(module, {"input": x}).values()))), None
    return (lambda x: Simulator(module, {"input": x}).run()[0].astype(np.float32)), None


def _tvm_runner(path: Path) -> tuple[Runner, Runner]:
    import tvm
    from tvm import relax

    try:
        library = tvm.runtime.load_module(str(path))
    except Exception as error:  # noqa: BLE001 - TVM raises its own error types
        raise HagoError(f"{path}: not a TVM library this machine can load ({str(error).splitlines()[0]})") from None
    vm = relax.VirtualMachine(library, tvm.cpu())
    main = vm["main"]

    def single(x: np.ndarray) -> np.ndarray:
        return main(tvm.runtime.tensor(np.ascontiguousarray(x.astype(np.float32)))).numpy()

    def batch(x: np.ndarray) -> np.ndarray:
        return np.concatenate([single(x[i : i + 1]) for i in range(len(x))])

    return batch, single


def runner_for(path: str | Path) -> tuple[Runner, Runner | None]:
    """(batch runner, single-sample runner for timing or None) for a model file."""
    path = Path(path)
    if not path.is_file():
        raise HagoError(f"{path}: no such file")
    suffix = path.suffix
    if suffix == ".onnx":
        return _onnx_runner(path)
    if suffix == ".mlir":
        return _mlir_runner(path)
    if suffix == ".so":
        return _tvm_runner(path)
    raise HagoError(f"{path}: cannot evaluate a '{suffix}' file (an .onnx, .mlir or TVM .so is needed)")


def top1_percent(outputs: np.ndarray, targets: np.ndarray) -> float:
    """Top-1 match in percent: against labels, or against a reference model's outputs."""
    if targets.ndim == outputs.ndim:
        targets = targets.argmax(-1)
    return round(100.0 * float((outputs.argmax(-1) == targets).mean()), 2)


def batch1_latency_ms(single: Runner, sample: np.ndarray, repeats: int = 50) -> float:
    for _ in range(5):
        single(sample)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        single(sample)
        times.append(time.perf_counter() - started)
    return round(1000.0 * statistics.median(times), 4)


def split(data: dict[str, np.ndarray], samples: int) -> tuple[np.ndarray, np.ndarray | None]:
    inputs = [k for k in data if k != "label"]
    if len(inputs) != 1:
        raise HagoError(f"evaluation data must hold one input array (and 'label'); it holds {sorted(data)}")
    x = data[inputs[0]][:samples]
    if not np.all(np.isfinite(x)):
        raise HagoError(f"evaluation input '{inputs[0]}' contains NaN or infinite values")
    labels = data["label"][:samples] if "label" in data else None
    if labels is not None and len(labels) != len(x):
        raise HagoError(f"{len(labels)} labels for {len(x)} samples")
    return x.astype(np.float32), labels


def evaluate(
    path: str | Path, data: dict[str, np.ndarray], samples: int = 1000,
    reference: str | Path | None = None, time_it: bool = True,
) -> dict:
    """accuracy / agreement / latency_ms of one model file (see the module docstring)."""
    x, labels = split(data, samples)
    batch, single = runner_for(path)
    outputs = batch(x)
    result: dict = {"model": str(path), "samples": int(len(x))}
    if labels is not None:
        result["accuracy"] = top1_percent(outputs, labels)
    if reference is not None:
        result["agreement"] = top1_percent(outputs, runner_for(reference)[0](x))
    result["latency_ms"] = batch1_latency_ms(single, x[:1]) if (single is not None and time_it) else None
    return result


def evaluate_all(model: Path, out_dir: Path, data: dict[str, np.ndarray], samples: int,
                 library: str | None) -> dict:
    """Every form `hago quantize` made, side by side, for its report."""
    x, labels = split(data, samples)
    rows = []
    outputs: dict[str, np.ndarray] = {}
    searched = out_dir / "4-searched.mlir"
    forms = [
        ("float (onnxruntime)", model),
        ("simulated (search)" if searched.is_file() else "simulated (calibrated, no search)",
         searched if searched.is_file() else out_dir / "3-calibrated.mlir"),
        ("integer reference (realized)", out_dir / "5-realized.mlir"),
        ("ONNX QDQ (onnxruntime)", out_dir / "model.qdq.onnx"),
    ]
    if library is not None and (out_dir / library).is_file():
        forms.append((f"TVM build ({library})", out_dir / library))
    for name, path in forms:
        batch, single = runner_for(path)
        outputs[name] = batch(x)
        rows.append({
            "name": name, "file": path.name,
            "accuracy": None if labels is None else top1_percent(outputs[name], labels),
            "agreement": top1_percent(outputs[name], outputs[forms[0][0]]),
            "latency_ms": batch1_latency_ms(single, x[:1]) if single is not None else None,
        })
    bit_exact = None
    if len(forms) == 5:
        bit_exact = bool(np.array_equal(outputs[forms[4][0]], outputs[forms[2][0]]))
    return {"samples": int(len(x)), "labelled": labels is not None, "rows": rows, "bit_exact": bit_exact}
