"""The reference interpreter agrees with onnxruntime on every test model.

Tolerance (issue 2): max |ours - onnxruntime| <= 1e-4 * max |onnxruntime|, both
for the imported module and after hago-canonicalize (BN folding, constant
folding, GELU fusion must not change the numbers).
"""

from __future__ import annotations

import numpy as np
import onnx_models
import pytest

from hago_ir.canonicalize import canonicalize
from hago_ir.interpreter import make_interpreter, run_module
from hago_ir.onnx_frontend import import_onnx

TOLERANCE = 1e-4
MODELS = onnx_models.all_models()


def relative_error(ours: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> float:
    assert ours.keys() == reference.keys()
    worst = 0.0
    for name, expected in reference.items():
        assert ours[name].shape == expected.shape, name
        assert ours[name].dtype == expected.dtype, name
        scale = max(float(np.max(np.abs(expected))), 1e-30)
        worst = max(worst, float(np.max(np.abs(ours[name] - expected))) / scale)
    return worst


@pytest.mark.parametrize("canonicalized", [False, True], ids=["imported", "canonicalized"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_matches_onnxruntime(name: str, canonicalized: bool) -> None:
    model = MODELS[name]
    module = import_onnx(model, name)
    if canonicalized:
        canonicalize(module)
        module.verify()
    for seed in (0, 1):
        inputs = onnx_models.random_inputs(model, seed=seed)
        reference = onnx_models.run_onnxruntime(model, inputs)
        assert relative_error(run_module(module, inputs), reference) <= TOLERANCE


def test_canonicalize_folds_every_batch_norm_of_the_cnns() -> None:
    for name in ("resnet", "mobilenetv2", "conv_bn"):
        module = import_onnx(MODELS[name], name)
        canonicalize(module)
        names = {op.name for op in module.walk()}
        assert "qsim.batch_norm" not in names, name


def test_canonicalize_fuses_the_transformer_gelu() -> None:
    module = import_onnx(MODELS["transformer"], "transformer")
    canonicalize(module)
    names = [op.name for op in module.walk()]
    assert names.count("qsim.gelu") == 1
    assert "qsim.erf" not in names
    # torch's Linear (MatMul + Add) became dense with bias: six of them.
    dense = [op for op in module.walk() if op.name == "qsim.dense"]
    assert len(dense) == 6 and all(len(op.operands) == 3 for op in dense)


def test_interpreter_reuse_gives_identical_results() -> None:
    module = import_onnx(MODELS["resnet"], "resnet")
    interpreter = make_interpreter(module)
    inputs = onnx_models.random_inputs(MODELS["resnet"])
    first = run_module(module, inputs, interpreter=interpreter)
    second = run_module(module, inputs, interpreter=interpreter)
    np.testing.assert_array_equal(first["logits"], second["logits"])
