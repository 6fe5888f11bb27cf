"""`hago quantize` / `hago eval` and the Python API behind them, on the bundled Fashion-MNIST CNN."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hago_ir.tools.hago import main as hago_main

from hago_ir.errors import HagoError
from hago_ir.evaluate import evaluate
from hago_ir.pipeline import STAGES, quantize

FASHION = Path(__file__).resolve().parents[2] / "examples" / "fashion_cnn"
MODEL, CALIB, TEST = FASHION / "model.onnx", FASHION / "calib.npz", FASHION / "test.npz"


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    out = tmp_path_factory.mktemp("quantized")
    result = quantize(MODEL, CALIB, out, TEST, spec="x86-vnni", search="random", budget=4,
                      eval_samples=100, log=lambda message: None)
    return out, result


def test_quantize_writes_every_stage_and_a_report(quantized) -> None:
    out, result = quantized
    for name in ("1-imported.mlir", "2-simq.mlir", "3-calibrated.mlir", "4-searched.mlir", "5-realized.mlir",
                 "strategy.json", "bits.svg", "search.jsonl", "model.qdq.onnx", "model.x86.so", "report.md",
                 "report.json"):
        assert (out / name).is_file(), name
    assert "qnn.conv2d" in (out / "5-realized.mlir").read_text()
    rows = {row["name"]: row for row in result.metrics["rows"]}
    float_accuracy = rows["float (onnxruntime)"]["accuracy"]
    assert float_accuracy > 85
    simulated = rows["simulated (search)"]["accuracy"]
    assert rows["integer reference (realized)"]["accuracy"] == simulated
    assert rows["TVM build (model.x86.so)"]["accuracy"] == simulated
    assert result.metrics["bit_exact"] is True
    assert abs(simulated - float_accuracy) < 5
    assert "## Reproduce" in result.report
    assert "hago quantize" in result.report


def test_rerun_reuses_finished_stages_and_redoes_changed_ones(quantized) -> None:
    out, _ = quantized
    again = quantize(MODEL, CALIB, out, TEST, spec="x86-vnni", search="random", budget=4,
                     eval_samples=100, log=lambda message: None)
    assert again.reused == list(STAGES)
    changed = quantize(MODEL, CALIB, out, TEST, spec="x86-vnni", search="random", budget=5,
                       eval_samples=100, target=None, log=lambda message: None)
    assert changed.reused == ["import", "simq", "calibrate"]
    assert json.loads((out / "strategy.json").read_text())["trials"] == 5


def test_a_changed_compiler_redoes_every_stage(tmp_path: Path, monkeypatch) -> None:
    """hago's own source is part of every fingerprint: outputs of an older hago are not reused."""
    import hago_ir.pipeline as pipeline

    options = {"spec": "x86-vnni", "search": None, "target": None, "eval_samples": 20, "log": lambda message: None}
    quantize(MODEL, CALIB, tmp_path, TEST, **options)
    assert quantize(MODEL, CALIB, tmp_path, TEST, **options).reused == [s for s in STAGES if s not in ("search", "build")]
    monkeypatch.setattr(pipeline, "compiler_digest", lambda: "another-hago")
    assert quantize(MODEL, CALIB, tmp_path, TEST, **options).reused == []


def test_eval_measures_each_kind_of_model(quantized, capsys) -> None:
    out, _ = quantized
    data = dict(np.load(TEST))
    float_result = evaluate(MODEL, data, samples=50)
    assert set(float_result) >= {"accuracy", "latency_ms", "samples"}
    assert float_result["latency_ms"] > 0
    realized = evaluate(out / "5-realized.mlir", data, samples=50, reference=MODEL, time_it=False)
    built = evaluate(out / "model.x86.so", data, samples=50, reference=MODEL)
    assert built["accuracy"] == realized["accuracy"]
    assert built["agreement"] == realized["agreement"]
    assert hago_main(["eval", str(out / "model.qdq.onnx"), "--data", str(TEST), "--samples", "20", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["samples"] == 20
    assert "accuracy" in printed
    assert "latency_ms" in printed


def test_bad_inputs_give_one_message(tmp_path: Path, capsys) -> None:
    assert hago_main(["quantize", str(tmp_path / "missing.onnx"), "--spec", "x86-vnni", "--calib", str(CALIB),
                      "--out", str(tmp_path / "out")]) == 1
    assert "missing.onnx: no such file" in capsys.readouterr().err
    assert hago_main(["quantize", str(MODEL), "--spec", "tpu", "--calib", str(CALIB),
                      "--out", str(tmp_path / "out")]) == 1
    assert "unknown spec 'tpu'" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert hago_main(["eval", str(text), "--data", str(TEST)]) == 1
    assert "cannot evaluate a '.txt' file" in capsys.readouterr().err
    with pytest.raises(HagoError, match="one input array"):
        evaluate(MODEL, {"a": np.zeros((2, 1, 28, 28)), "b": np.zeros(2)})


def test_a_build_the_report_cannot_run_is_said_so(tmp_path: Path) -> None:
    """`--target cuda`: the library is built (nvcc, no GPU needed), and the report says it was not run."""
    import shutil

    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed: nothing compiles for CUDA")
    quantize(MODEL, CALIB, tmp_path, TEST, spec="cuda-dp4a", search=None, target="cuda", eval_samples=20,
             log=lambda message: None)
    assert (tmp_path / "model.cuda.so").read_bytes()[:4] == b"\x7fELF"
    assert "__dp4a(" in (tmp_path / "model.cuda.s").read_text()
    report = json.loads((tmp_path / "report.json").read_text())
    assert not any(row["name"].startswith("TVM build") for row in report["rows"])
    assert "was built for cuda and not run" in (tmp_path / "report.md").read_text()
