"""`hago-run`: runs a module on an .npz, writes the outputs atomically, and rejects bad input cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx_models
import pytest

MODEL = onnx_models.all_models()["resnet"]


def hago_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hago_ir.tools.hago_run", *args], capture_output=True, text=True
    )


@pytest.fixture
def model_files(tmp_path: Path) -> tuple[Path, Path]:
    model_path = tmp_path / "resnet.onnx"
    model_path.write_bytes(MODEL.SerializeToString())
    inputs_path = tmp_path / "inputs.npz"
    np.savez(inputs_path, **onnx_models.random_inputs(MODEL))
    return model_path, inputs_path


def test_outputs_match_onnxruntime_and_are_keyed_by_name(model_files, tmp_path: Path) -> None:
    model_path, inputs_path = model_files
    out = tmp_path / "out.npz"
    result = hago_run(str(model_path), "--inputs", str(inputs_path), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("logits: float32[1, 10]")
    with np.load(out) as outputs:
        assert list(outputs.files) == ["logits"]
        expected = onnx_models.run_onnxruntime(MODEL, onnx_models.random_inputs(MODEL))["logits"]
        np.testing.assert_allclose(outputs["logits"], expected, atol=1e-4 * np.abs(expected).max())


def test_runs_a_printed_mlir_module(model_files, tmp_path: Path) -> None:
    model_path, inputs_path = model_files
    mlir = tmp_path / "resnet.mlir"
    opt = subprocess.run(
        [sys.executable, "-m", "hago_ir.tools.hago_opt", str(model_path), "-p", "hago-canonicalize",
         "-o", str(mlir)], capture_output=True, text=True,
    )
    assert opt.returncode == 0, opt.stderr
    from_mlir = hago_run(str(mlir), "--inputs", str(inputs_path))
    from_onnx = hago_run(str(model_path), "--inputs", str(inputs_path))
    assert from_mlir.returncode == 0 and from_mlir.stdout == from_onnx.stdout


def test_single_input_model_accepts_the_key_input(model_files, tmp_path: Path) -> None:
    model_path, _ = model_files
    inputs_path = tmp_path / "generic.npz"
    np.savez(inputs_path, input=np.zeros((1, 3, 32, 32), np.float32))
    assert hago_run(str(model_path), "--inputs", str(inputs_path)).returncode == 0


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"image": np.zeros((1, 3, 32, 32), np.float32)}, "no array for model input(s) 'input'; given: 'image'"),
        ({"input": np.zeros((1, 3, 16, 16), np.float32)}, "input 'input' has shape [1, 3, 16, 16]; the model expects [1, 3, 32, 32]"),
        ({"input": np.full((1, 3, 32, 32), np.nan, np.float32)}, "input 'input' contains NaN or infinite values"),
        ({"input": np.full((1, 3, 32, 32), "a")}, "input 'input' has dtype <U1; expected a float tensor"),
    ],
    ids=["missing-name", "wrong-shape", "nan", "strings"],
)
def test_bad_inputs_give_one_message_and_no_output(model_files, tmp_path: Path, arrays, message) -> None:
    model_path, _ = model_files
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    out = tmp_path / "out.npz"
    result = hago_run(str(model_path), "--inputs", str(bad), "--output", str(out))
    assert result.returncode == 1
    assert result.stderr.strip() == f"hago-run: error: {message}"
    assert not out.exists()


def test_unreadable_files(model_files, tmp_path: Path) -> None:
    model_path, inputs_path = model_files
    missing = hago_run(str(tmp_path / "nope.mlir"), "--inputs", str(inputs_path))
    assert missing.returncode == 1 and "nope.mlir: no such file" in missing.stderr
    not_npz = tmp_path / "inputs.txt"
    not_npz.write_text("hello")
    result = hago_run(str(model_path), "--inputs", str(not_npz))
    assert result.returncode == 1 and "not a readable .npz file" in result.stderr
    assert "Traceback" not in result.stderr + missing.stderr
