"""The onnxruntime simulation engine agrees with the reference interpreter's simulation.

onnxruntime computes in float32, the interpreter in float64 (see
hago_ir/onnx_simulation.py): integer sums are exact in both while they stay
below 2^24, and a rounding that lands within float32 error of a half step may
differ by one step. So: exact on a small conv's wrapped int16 sums; on the real
CNN, top-1 agreement of at least 97% and accuracy within 1.5 points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx_models
import pytest

from hago_ir.calibrate import calibrate
from hago_ir.canonicalize import canonicalize
from hago_ir.dialects import qsim
from hago_ir.hardware_spec import load_spec
from hago_ir.insert_simq import insert_simulated_quantize
from hago_ir.onnx_frontend import import_onnx
from hago_ir.onnx_simulation import OnnxRuntimeSimulator
from hago_ir.search import search, search_edges
from hago_ir.simulator import Simulator
from hago_ir.topology import assign_topology

FASHION = Path(__file__).resolve().parents[2] / "examples" / "fashion_cnn"
CALIB = np.load(FASHION / "calib.npz")
TEST = np.load(FASHION / "test.npz")


def calibrated(model, spec: str, data: np.ndarray):
    module = import_onnx(model) if isinstance(model, str) else import_onnx(model, "model")
    canonicalize(module)
    assign_topology(module, load_spec(spec))
    insert_simulated_quantize(module)
    input_name = "input" if isinstance(model, str) else model.graph.input[0].name
    calibrate(module, {input_name: data})
    return module


def test_wrapped_int16_sums_are_exact() -> None:
    model = onnx_models.single_op_models()["conv_nobias"]
    data = (np.random.default_rng(0).standard_normal((8, 4, 8, 8)) * 3).astype(np.float32)
    module = calibrated(model, "arm-a72-i16", data)
    output_q = next(op for op in module.walk() if isinstance(op, qsim.SimulatedQuantizeOp) and op.accumulator)
    output_q.threshold = None  # read the accumulator's content itself
    reference = Simulator(module, {"x": data}, reuse=False).run()[0]
    fast = OnnxRuntimeSimulator(module, {"x": data}).run()[0]
    np.testing.assert_allclose(fast, reference, rtol=1e-6, atol=1e-6 * np.abs(reference).max())


@pytest.mark.parametrize("spec", ["x86-vnni", "arm-a72-i16", "x86-avx2"])
def test_agrees_with_the_interpreter_on_the_real_cnn(spec: str) -> None:
    module = calibrated(str(FASHION / "model.onnx"), spec, CALIB["input"][:64])
    images, labels = TEST["input"][:256], TEST["label"][:256]
    for edge in search_edges(module)[::4]:
        edge.op.effective_bits = qsim.int_attr(6)
    reference = Simulator(module, {"input": images}, reuse=False).run()[0]
    fast = OnnxRuntimeSimulator(module, {"input": images}).run()[0]
    assert np.mean(fast.argmax(1) == reference.argmax(1)) >= 0.97
    accuracy = [100 * np.mean(out.argmax(1) == labels) for out in (reference, fast)]
    assert abs(accuracy[0] - accuracy[1]) <= 1.5


def test_search_with_the_onnxruntime_engine() -> None:
    module = calibrated(str(FASHION / "model.onnx"), "arm-a72-i16", CALIB["input"][:64])
    data = {"input": CALIB["input"][:96], "label": CALIB["label"][:96]}
    result = search(module, data, "greedy", "accuracy", budget=25, engine="onnxruntime")
    naive = 100 * np.mean(
        Simulator(calibrated(str(FASHION / "model.onnx"), "arm-a72-i16", CALIB["input"][:64]),
                  {"input": data["input"]}, reuse=False).run()[0].argmax(1) == data["label"]
    )
    exact = 100 * np.mean(Simulator(module, {"input": data["input"]}, reuse=False).run()[0].argmax(1) == data["label"])
    assert abs(exact - result.score) <= 2.0  # the fast engine's score, checked by the exact one
    assert exact > naive + 10


def test_accumulators_that_cannot_overflow_are_not_simulated() -> None:
    """x86-vnni's int32 sums cannot leave the accumulator even at the largest
    bits: no wrap (no If, no narrowing cast) in the model; arm-a72-i16's int16
    sums can, and wrap by casts."""
    from onnx import TensorProto

    from hago_ir.onnx_simulation import build_simulation_model

    def wraps(model) -> int:
        return sum(node.op_type == "If" or (node.op_type == "Cast" and node.attribute[0].i == TensorProto.INT16)
                   for node in model.graph.node)

    counts = {}
    for spec in ("x86-vnni", "arm-a72-i16"):
        module = calibrated(str(FASHION / "model.onnx"), spec, CALIB["input"][:16])
        bits_before = [op.effective_bits for op in module.walk() if isinstance(op, qsim.SimulatedQuantizeOp)]
        model, _ = build_simulation_model(module)
        # The worst-case check sets the largest bits for a moment; the module keeps its own.
        assert bits_before == [op.effective_bits for op in module.walk() if isinstance(op, qsim.SimulatedQuantizeOp)]
        counts[spec] = wraps(model)
    assert counts["x86-vnni"] == 0
    assert counts["arm-a72-i16"] > 0  # 16-bit sums of 8-bit products can wrap


@pytest.mark.parametrize("spec", ["x86-vnni", "arm-a72-i16"])
def test_baked_weights_follow_their_bits(spec: str) -> None:
    """Weights are constants of the model, one session per setting of their
    bits: lowering a weight's bits builds a new session that agrees with the
    interpreter; going back reuses the first one."""
    from hago_ir.onnx_simulation import build_simulation_model

    module = calibrated(str(FASHION / "model.onnx"), spec, CALIB["input"][:64])
    images = TEST["input"][:64]
    model, simqs = build_simulation_model(module)
    weights = [op for op in simqs if op.kind.data == "weight"]
    inputs = {i.name for i in model.graph.input}
    assert weights and not any(f"sq{simqs.index(op)}.scale" in inputs for op in weights)
    assert all(node.input[1] in {t.name for t in model.graph.initializer}
               for node in model.graph.node if node.op_type == "Conv")

    engine = OnnxRuntimeSimulator(module, {"input": images})
    before = engine.run()[0]
    weight = next(e for e in search_edges(module) if e.op.kind.data == "weight")
    weight.op.effective_bits = qsim.int_attr(3)
    lowered = engine.run()[0]
    reference = Simulator(module, {"input": images}, reuse=False).run()[0]
    assert engine.sessions_built == 2
    assert not np.allclose(lowered, before)
    assert np.mean(lowered.argmax(1) == reference.argmax(1)) >= 0.97
    np.testing.assert_allclose(lowered, reference, atol=0.05 * np.abs(reference).max())
    weight.op.effective_bits = qsim.int_attr(weight.max_bits)
    np.testing.assert_array_equal(engine.run()[0], before)
    assert engine.sessions_built == 2


def test_integer_sums_agree_with_float_sums() -> None:
    """The integer-summing convs (simulated int16 accumulators) give what the
    model with every weight computed at run time gives."""
    import onnxruntime as ort

    from hago_ir.onnx_simulation import build_simulation_model, simulation_feeds

    module = calibrated(str(FASHION / "model.onnx"), "arm-a72-i16", CALIB["input"][:64])
    for edge in search_edges(module)[::3]:
        edge.op.effective_bits = qsim.int_attr(6)
    outputs = []
    for constant_weights in (True, False):
        model, simqs = build_simulation_model(module, constant_weights=constant_weights)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        feeds = {k: v for k, v in simulation_feeds(simqs).items() if k in names}
        outputs.append(session.run(None, {**feeds, "input": TEST["input"][:128]})[0])
    assert np.mean(outputs[0].argmax(1) == outputs[1].argmax(1)) >= 0.99
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-2 * np.abs(outputs[1]).max())


@pytest.mark.parametrize("spec", ["x86-vnni", "arm-a72-i16"])
@pytest.mark.parametrize("model_name", ["mobilenetv2_style_cnn", "transformer_encoder_block"])
def test_agrees_with_the_interpreter_on_depthwise_and_dense_models(model_name: str, spec: str) -> None:
    """Depthwise convs and ReLU6 (MobileNetV2-style), dense layers and
    matmuls (transformer block), on both accumulator paths: the engine's
    outputs stay within a few output steps of the exact simulation."""
    model = getattr(onnx_models, model_name)()
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    data = np.random.default_rng(3).standard_normal((48, *shape[1:])).astype(np.float32)
    module = calibrated(model, spec, data[:16])
    for edge in search_edges(module)[::3]:
        edge.op.effective_bits = qsim.int_attr(6)
    name = model.graph.input[0].name
    reference = Simulator(module, {name: data}, reuse=False).run()[0]
    fast = OnnxRuntimeSimulator(module, {name: data}).run()[0]
    difference = np.abs(fast - reference)
    assert np.mean(difference) <= 0.02 * np.mean(np.abs(reference)), (np.mean(difference), np.mean(np.abs(reference)))


def test_ceil_mode_pools_and_kept_dims() -> None:
    """ceil_mode / count_include_pad / keepdims reach onnxruntime as 1, not as
    the -1 an i1 attribute holds for true (onnxruntime then rounded the pooled
    sizes down and dropped the reduced dims)."""
    model = onnx_models.ceil_mode_pools_cnn()
    data = np.random.default_rng(5).standard_normal((8, 2, 9, 9)).astype(np.float32)
    module = calibrated(model, "x86-vnni", data)
    reference = Simulator(module, {"input": data}, reuse=False).run()[0]
    fast = OnnxRuntimeSimulator(module, {"input": data}).run()[0]
    assert fast.shape == reference.shape == (8, 4, 1, 1)
    np.testing.assert_allclose(fast, reference, atol=0.02 * np.abs(reference).max())
