"""hago-calibrate on the bundled Fashion-MNIST CNN: thresholds everywhere, every method, bad data.

Real model, real data: examples/fashion_cnn (model.onnx, calib.npz with 256
training images, test.npz with 1000 test images).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hago_ir.dialects import qsim

from hago_ir.calibrate import calibrate
from hago_ir.calibration_stats import METHODS
from hago_ir.canonicalize import canonicalize
from hago_ir.errors import HagoError
from hago_ir.hardware_spec import load_spec
from hago_ir.insert_simq import insert_simulated_quantize
from hago_ir.interpreter import make_interpreter, run_module
from hago_ir.onnx_frontend import import_onnx
from hago_ir.topology import assign_topology

FASHION = Path(__file__).resolve().parents[2] / "examples" / "fashion_cnn"
CALIB = dict(np.load(FASHION / "calib.npz"))
SMALL_CALIB = {"input": CALIB["input"][:32]}


def prepared(spec: str = "x86-vnni"):
    module = import_onnx(str(FASHION / "model.onnx"))
    canonicalize(module)
    assign_topology(module, load_spec(spec))
    insert_simulated_quantize(module)
    return module


def simqs(module) -> list[qsim.SimulatedQuantizeOp]:
    return [op for op in module.walk() if isinstance(op, qsim.SimulatedQuantizeOp)]


def thresholds(op: qsim.SimulatedQuantizeOp) -> list[float]:
    return [t.value.data for t in op.threshold.data] if op.threshold is not None else []


def test_every_edge_gets_thresholds_per_channel_for_weights() -> None:
    module = prepared()
    summary = calibrate(module, SMALL_CALIB, method="max")
    assert summary["batches"] == 32
    for op in simqs(module):
        values = thresholds(op)
        if op.kind.data in ("bias", "accumulator"):
            assert values == []  # biases follow the input and weight scales; accumulators are not re-quantized
            continue
        assert values and all(math.isfinite(v) and v > 0 for v in values)
        if op.kind.data == "weight":
            assert len(values) == qsim.shape_of(op.input)[0]
        else:
            assert len(values) == 1


@pytest.mark.parametrize("method", METHODS)
def test_each_method_calibrates_and_clips_no_more_than_max(method: str) -> None:
    by_max, module = prepared(), prepared()
    calibrate(by_max, SMALL_CALIB, method="max")
    calibrate(module, SMALL_CALIB, method=method)
    for reference, op in zip(simqs(by_max), simqs(module)):
        if op.kind.data in ("input", "activation"):
            assert 0 < thresholds(op)[0] <= thresholds(reference)[0] * (1 + 1e-9)


def test_pow2_rounds_up_to_powers_of_two() -> None:
    module = prepared("accel-int24-pow2")  # the spec asks for power-of-two scales
    calibrate(module, SMALL_CALIB, method="max")
    for op in simqs(module):
        for value in thresholds(op):
            assert math.log2(value) == round(math.log2(value))


def test_calibrated_8bit_simulation_keeps_accuracy_on_real_data() -> None:
    """Max calibration at 8 bits on x86-vnni: within 2 points of float on 200 test images."""
    module = prepared()
    calibrate(module, {"input": CALIB["input"]}, method="max")
    test = np.load(FASHION / "test.npz")
    images, labels = test["input"][:200], test["label"][:200]
    float_module = import_onnx(str(FASHION / "model.onnx"))
    quantized_interp, float_interp = make_interpreter(module), make_interpreter(float_module)
    correct_q = correct_f = 0
    for image, label in zip(images, labels):
        x = {"input": image[None]}
        correct_q += int(run_module(module, x, interpreter=quantized_interp)["logits"].argmax() == label)
        correct_f += int(run_module(float_module, x, interpreter=float_interp)["logits"].argmax() == label)
    assert correct_f - correct_q <= 4, (correct_f, correct_q)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"image": CALIB["input"][:4]}, "no array for model input(s) 'input'; given: 'image'"),
        ({"input": CALIB["input"][:4, :, :14]}, "input 'input' has shape [4, 1, 14, 28]; expected [N, 1, 28, 28]"),
        ({"input": CALIB["input"][:4].astype(str)}, "input 'input' has dtype <U"),
        ({"input": np.where(np.arange(4)[:, None, None, None] == 2, np.nan, CALIB["input"][:4])},
         "input 'input' contains NaN or infinite values (first in sample 2)"),
        ({"input": CALIB["input"][:0]}, "input 'input' has 0 samples"),
    ],
    ids=["missing-name", "wrong-shape", "wrong-dtype", "nan", "empty"],
)
def test_bad_calibration_data_names_the_input_and_writes_nothing(data, message) -> None:
    module = prepared()
    with pytest.raises(HagoError) as caught:
        calibrate(module, data, source="calib.npz")
    assert str(caught.value).startswith(f"calib.npz: {message}"), str(caught.value)
    assert all(op.threshold is None for op in simqs(module))


def test_unknown_method_and_missing_simq() -> None:
    with pytest.raises(HagoError, match="unknown calibration method 'median'"):
        calibrate(prepared(), SMALL_CALIB, method="median")
    plain = import_onnx(str(FASHION / "model.onnx"))
    with pytest.raises(HagoError, match="run hago-insert-simq first"):
        calibrate(plain, SMALL_CALIB)


def test_hago_opt_pipeline_and_atomic_output(tmp_path: Path) -> None:
    calib = tmp_path / "calib.npz"
    np.savez(calib, input=CALIB["input"][:16])
    out = tmp_path / "calibrated.mlir"
    pipeline = (
        "hago-canonicalize,hago-topology{spec=x86-vnni},hago-insert-simq,"
        f'hago-calibrate{{data="{calib}" method=percentile percentile=99.9}}'
    )
    command = [sys.executable, "-m", "hago_ir.tools.hago_opt", str(FASHION / "model.onnx"), "-p"]
    done = subprocess.run([*command, pipeline, "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    non_bias = text.count("qsim.simulated_quantize") - text.count('kind = "bias"') - text.count('kind = "accumulator"')
    assert non_bias > 20 and text.count("threshold = [") == non_bias
    bad = tmp_path / "bad.npz"
    np.savez(bad, input=np.full((2, 1, 28, 28), np.inf, np.float32))
    out2 = tmp_path / "not-written.mlir"
    failed = subprocess.run(
        [*command, pipeline.replace(str(calib), str(bad)), "-o", str(out2)], capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert "contains NaN or infinite values" in failed.stderr and "Traceback" not in failed.stderr
    assert not out2.exists()
