"""Run a hago module in the reference interpreter next to onnxruntime on the same samples.

    python examples/compare_with_onnxruntime.py MODULE.mlir MODEL.onnx DATA.npz [--samples N]

MODULE.mlir is what `hago-opt MODEL.onnx -p hago-canonicalize` printed; DATA.npz
holds `input` (a batch of samples for a batch-1 model) and optionally `label`.
Prints, per sample, both top-1 classes and the largest logit difference, then
the accuracy of both and the worst relative difference (the interpreter's
acceptance bound is 1e-4 of the largest reference value).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import onnxruntime as ort
from hago_ir.tools.diagnostics import run_cli
from hago_ir.tools.hago_run import load_module

from hago_ir.errors import HagoError
from hago_ir.interpreter import make_interpreter, run_module
from hago_ir.model_io import load_npz


def compare(module_path: str, onnx_path: str, data_path: str, samples: int, shown: int) -> int:
    module = load_module(module_path)
    data = load_npz(data_path)
    if "input" not in data:
        raise HagoError(f"{data_path}: no array named 'input'")
    inputs, labels = data["input"][:samples], data.get("label")
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    interpreter = make_interpreter(module)
    print(f"{'sample':>6} {'label':>5} {'hago':>5} {'onnxruntime':>11} {'max |diff|':>11}")
    worst, correct_hago, correct_ort, agree = 0.0, 0, 0, 0
    for index, sample in enumerate(inputs):
        x = sample[None].astype(np.float32)
        expected = session.run(None, {input_name: x})[0]
        ours = next(iter(run_module(module, {input_name: x}, interpreter=interpreter).values()))
        diff = float(np.max(np.abs(ours - expected)))
        worst = max(worst, diff / float(np.max(np.abs(expected))))
        label = int(labels[index]) if labels is not None else -1
        hago_class, ort_class = int(ours.argmax()), int(expected.argmax())
        correct_hago += hago_class == label
        correct_ort += ort_class == label
        agree += hago_class == ort_class
        if index < shown:
            print(f"{index:>6} {label:>5} {hago_class:>5} {ort_class:>11} {diff:>11.2e}")
    count = len(inputs)
    print(f"... {count} samples")
    if labels is not None:
        print(f"accuracy: hago interpreter {100 * correct_hago / count:.2f}%, "
              f"onnxruntime {100 * correct_ort / count:.2f}%")
    print(f"top-1 agreement: {agree}/{count}; worst relative difference {worst:.2e} (bound 1e-4)")
    return 0 if worst <= 1e-4 and agree == count else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("module")
    parser.add_argument("onnx_model")
    parser.add_argument("data")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--show", type=int, default=10, help="rows of the per-sample table")
    args = parser.parse_args(argv)
    return run_cli("compare", lambda: compare(args.module, args.onnx_model, args.data, args.samples, args.show))


if __name__ == "__main__":
    sys.exit(main())
