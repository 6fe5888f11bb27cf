"""Real models: the bundled Fashion-MNIST CNN, and the ImageNet MobileNetV2.

The Fashion CNN (examples/fashion_cnn, trained by scripts/train_fashion_cnn.py)
is in the repository, so its test always runs. MobileNetV2 needs
scripts/export_mobilenet_v2.py to have written ~/.cache/hago/models (torch and
the weights package are not test dependencies); without it the test skips and
says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from hago_ir.canonicalize import canonicalize
from hago_ir.interpreter import make_interpreter, run_module
from hago_ir.onnx_frontend import import_onnx

ROOT = Path(__file__).resolve().parents[2]
FASHION = ROOT / "examples" / "fashion_cnn"
MODEL_CACHE = Path(os.environ.get("HAGO_MODEL_CACHE", Path.home() / ".cache" / "hago" / "models"))


def _compare(model_path: Path, batches: np.ndarray) -> tuple[float, int]:
    module = import_onnx(str(model_path))
    canonicalize(module)
    module.verify()
    interpreter = make_interpreter(module)
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    worst, agree = 0.0, 0
    for sample in batches:
        x = sample[None]
        expected = session.run(None, {"input": x})[0]
        ours = run_module(module, {"input": x}, interpreter=interpreter)["logits"]
        worst = max(worst, float(np.max(np.abs(ours - expected)) / np.max(np.abs(expected))))
        agree += int(ours.argmax() == expected.argmax())
    return worst, agree


def test_fashion_cnn_matches_onnxruntime() -> None:
    data = np.load(FASHION / "test.npz")
    worst, agree = _compare(FASHION / "model.onnx", data["input"][:32])
    assert worst <= 1e-4
    assert agree == 32


@pytest.mark.skipif(
    not (MODEL_CACHE / "mobilenet_v2.onnx").is_file(),
    reason="run scripts/export_mobilenet_v2.py first (needs torch and the weights package)",
)
def test_imagenet_mobilenet_v2_matches_onnxruntime() -> None:
    crops = np.load(MODEL_CACHE / "mobilenet_v2_crops.npz")["input"][:4]
    worst, agree = _compare(MODEL_CACHE / "mobilenet_v2.onnx", crops)
    assert worst <= 1e-4
    assert agree == 4
