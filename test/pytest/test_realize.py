"""Realization, the integer interpreter, TVM builds and the ONNX QDQ export, on seeded models.

The chain under test: calibrated qsim module -> hago-realize -> qnn module.
- The integer interpreter agrees with the simulation: equal outputs except
  where a requantize's 31-bit fixed-point multiplier or qnn.add's rescale
  rounds a near-tie the other way (documented in docs/realization.md);
- the TVM x86 build is bit-exact with the integer interpreter;
- the ONNX QDQ export, run by onnxruntime, gives the same classes, within 1%;
- the aarch64 build of an int16-accumulating model multiplies-accumulates
  with `smlal` on .8h lanes (read from the generated assembly).
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import numpy as np
import onnx_models
import pytest
from hago_ir.dialects import qnn, qsim
from hago_ir.dialects.qsim import int_attr
from xdsl.utils.exceptions import DiagnosticException

from hago_ir.calibrate import calibrate
from hago_ir.canonicalize import canonicalize
from hago_ir.hardware_spec import load_spec
from hago_ir.insert_simq import insert_simulated_quantize
from hago_ir.integer_interpreter import run_integer_batches
from hago_ir.legality import check_legal
from hago_ir.onnx_frontend import import_onnx
from hago_ir.realize import realize
from hago_ir.simulator import Simulator
from hago_ir.topology import assign_topology

FASHION = Path(__file__).resolve().parents[2] / "examples" / "fashion_cnn"
RNG = np.random.default_rng(7)
IMAGES = RNG.normal(0.0, 1.0, size=(48, 3, 32, 32)).astype(np.float32)

CASES = {
    # model, spec, effective bits for activations (None: the container's)
    "resnet-vnni": (onnx_models.resnet_style_cnn, "x86-vnni", None),
    "mobilenet-relu6-depthwise-vnni": (onnx_models.mobilenetv2_style_cnn, "x86-vnni", 7),
    "mobilenet-int16-accumulation-arm": (onnx_models.mobilenetv2_style_cnn, "arm-a72-i16", 5),
    "resnet-int24-pow2": (onnx_models.resnet_style_cnn, "accel-int24-pow2", 6),
    "resnet-stem-maxpool-vnni": (onnx_models.resnet_stem_cnn, "x86-vnni", None),
    "resnet-stem-dp4a": (onnx_models.resnet_stem_cnn, "cuda-dp4a", None),
    "resnet-stem-arm": (onnx_models.resnet_stem_cnn, "arm-a72-i16", 5),
}


def calibrated_module(case: str):
    build_model, spec, bits = CASES[case]
    model = build_model(seed=3)
    module = import_onnx(model, "model")
    canonicalize(module)
    assign_topology(module, load_spec(spec))
    insert_simulated_quantize(module)
    calibrate(module, {model.graph.input[0].name: IMAGES}, method="percentile", percentile=99.99)
    if bits is not None:
        for op in module.walk():
            if isinstance(op, qsim.SimulatedQuantizeOp) and op.kind.data != "bias" and op.max_bits.value.data <= 8:
                op.effective_bits = int_attr(min(bits, op.max_bits.value.data))
    return module


def realized_pair(case: str):
    simulated = calibrated_module(case)
    realized = copy.deepcopy(simulated)
    realize(realized)
    realized.verify()
    return simulated, realized


@pytest.mark.parametrize("case", sorted(CASES))
def test_integer_interpreter_agrees_with_the_simulation(case: str) -> None:
    simulated, realized = realized_pair(case)
    check_legal(realized, load_spec(CASES[case][1]))
    expected = Simulator(simulated, {"x": IMAGES}).run()[0].astype(np.float32)
    got = next(iter(run_integer_batches(realized, {"x": IMAGES}).values()))
    assert got.shape == expected.shape
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.97
    equal = np.isclose(got, expected, rtol=0, atol=1e-6 * max(1.0, np.abs(expected).max())).mean()
    assert equal >= 0.95, f"only {equal:.1%} of the outputs equal the simulation's"


def test_realized_ops_carry_the_integer_types() -> None:
    _, realized = realized_pair("mobilenet-int16-accumulation-arm")
    convs = [op for op in realized.walk() if isinstance(op, qnn.Conv2dOp)]
    assert convs
    assert all(str(qnn.element_type(op.output)) == "si16" for op in convs if op.overflow.data == "wrap")
    depthwise = [op for op in convs if op.groups.value.data > 1]
    assert depthwise, "the MobileNetV2-style model has depthwise convs"
    # ReLU6 folded into the requantize's bounds, in the output scale: no float clip left.
    assert not any(isinstance(op, qsim.ClipOp) for op in realized.walk())
    requantizes = [op for op in realized.walk() if isinstance(op, qnn.RequantizeOp)]
    relu6 = [op for op in requantizes if "relu6" in (op.output.name_hint or "")]
    assert relu6
    for op in relu6:  # [0, 6] in the output scale
        scale = qnn.scale_values(op.output_scale)[0]
        assert op.qmin.value.data == 0
        assert op.qmax.value.data * scale <= 6 + scale / 2
    # 5 effective bits in an int8 container.
    assert any(op.qmin.value.data == -16 and op.qmax.value.data == 15 for op in requantizes)


def test_pow2_spec_realizes_to_shifts() -> None:
    _, realized = realized_pair("resnet-int24-pow2")
    for op in realized.walk():
        if isinstance(op, qnn.RequantizeOp) and not isinstance(op.input.owner, qnn.GlobalSumPool2dOp):
            assert all(m & (m - 1) == 0 for m in op.multiplier.get_values())


def test_float32_requantize_spec_realizes_float_multipliers() -> None:
    """x86-vnni declares float32_requantize: each requantize carries the float32 scale ratio."""
    from hago_ir.hardware_spec import HardwareSpec

    _, realized = realized_pair("resnet-vnni")
    requantizes = [op for op in realized.walk() if isinstance(op, qnn.RequantizeOp)]
    narrow = [op for op in requantizes if qnn.element_type(op.output).width.data <= 16]
    assert narrow
    # Wider outputs (int32) keep fixed point: float32 bounds would not be exact.
    assert all(op.float_multiplier is None for op in requantizes if op not in narrow)
    for op in narrow:
        ratios = np.array(qnn.scale_values(op.input_scale)) / qnn.scale_values(op.output_scale)[0]
        np.testing.assert_array_equal(np.array(op.float_multipliers(), np.float32), ratios.astype(np.float32))
    # The same module on a copy of the spec without the flag: illegal, at the requantize.
    spec = load_spec("x86-vnni")
    fixed_point = HardwareSpec(spec.name, integer=spec.integer, floats=spec.floats)
    with pytest.raises(DiagnosticException, match="this quantize divides in float32, but spec 'x86-vnni'"):
        check_legal(realized, fixed_point)  # the input's quantize comes first
    quantizes = [op for op in realized.walk() if isinstance(op, qnn.QuantizeOp)]
    assert quantizes and all(op.float_scales() == (float(np.float32(qnn.scale_values(op.scale)[0])),)
                             for op in quantizes)
    for op in quantizes:
        del op.properties["float_scale"]
    with pytest.raises(DiagnosticException, match="this requantize multiplies in float32, but spec 'x86-vnni'"):
        check_legal(realized, fixed_point)
    # Specs without the flag keep fixed point.
    _, arm = realized_pair("mobilenet-int16-accumulation-arm")
    assert all(op.float_multiplier is None for op in arm.walk() if isinstance(op, qnn.RequantizeOp))


def test_an_integer_only_spec_cannot_requantize_in_float32() -> None:
    from hago_ir.errors import HagoError
    from hago_ir.hardware_spec import parse_spec_text

    text = 'hwspec.spec "npu" attributes {integer_only, float32_requantize} {\n  hwspec.integer "relu" {inputs = [si8], output = si8}\n}'
    with pytest.raises(HagoError, match="float32_requantize needs a float unit"):
        parse_spec_text(text, "npu.mlir")


def test_realize_needs_calibration() -> None:
    module = import_onnx(onnx_models.resnet_style_cnn(seed=3), "model")
    canonicalize(module)
    assign_topology(module, load_spec("x86-vnni"))
    insert_simulated_quantize(module)
    with pytest.raises(DiagnosticException, match="run hago-calibrate before hago-realize"):
        realize(module)


def test_check_legal_names_the_rule_an_op_misses() -> None:
    _, realized = realized_pair("mobilenet-int16-accumulation-arm")
    with pytest.raises(DiagnosticException, match=r"conv2d \(i8, i8\) -> i16 wrap is not legal under spec 'x86-vnni'"):
        check_legal(realized, load_spec("x86-vnni"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_tvm_x86_build_is_bit_exact_with_the_integer_interpreter(case: str) -> None:
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build

    _, realized = realized_pair(case)
    reference = next(iter(run_integer_batches(realized, {"x": IMAGES[:16]}).values()))
    built = build(to_relax(realized, batch=16), "x86")
    (got,) = built.run(IMAGES[:16])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, reference)


def test_onnx_qdq_export_agrees_with_the_integer_interpreter() -> None:
    from hago_ir.onnx_export import export_qdq, onnxruntime_session

    for case in ("resnet-vnni", "mobilenet-int16-accumulation-arm", "resnet-int24-pow2"):
        _, realized = realized_pair(case)
        session = onnxruntime_session(export_qdq(realized))  # onnxruntime's fusions on, but one
        reference = next(iter(run_integer_batches(realized, {"x": IMAGES[:8]}).values()))
        got = np.concatenate([session.run(None, {session.get_inputs()[0].name: IMAGES[i : i + 1]})[0] for i in range(8)])
        # A one-step difference on some 8-bit edge moves the float logits by far
        # less than 1% of their range; the classes must not change.
        assert np.abs(got - reference).max() <= 0.01 * np.abs(reference).max(), case
        assert (got.argmax(1) == reference.argmax(1)).all(), case


def test_onnx_qdq_export_keeps_ceil_mode_pools() -> None:
    """ceil_mode and count_include_pad reach onnxruntime as 1 (an i1 attribute
    holds true as -1, which onnxruntime read as false: smaller pooled maps)."""
    from hago_ir.onnx_export import export_qdq, onnxruntime_session

    module = import_onnx(onnx_models.ceil_mode_pools_cnn(average_ceil=False), "model")
    canonicalize(module)
    assign_topology(module, load_spec("x86-vnni"))
    insert_simulated_quantize(module)
    data = RNG.normal(0.0, 1.0, size=(4, 2, 9, 9)).astype(np.float32)
    calibrate(module, {"input": data})
    realize(module)
    session = onnxruntime_session(export_qdq(module))
    reference = next(iter(run_integer_batches(module, {"input": data}).values()))
    got = np.concatenate([session.run(None, {"input": data[i : i + 1]})[0] for i in range(4)])
    assert got.shape == reference.shape == (4, 4, 1, 1)
    assert np.abs(got - reference).max() <= 0.02 * np.abs(reference).max()


def test_onnx_qdq_export_of_a_transformer_block() -> None:
    """The float ops a transformer keeps (decomposed LayerNorm's ReduceMean and
    Pow, Erf, Softmax) export too; onnxruntime's float32 against the
    interpreter's float64 moves some 8-bit edge by a step."""
    from hago_ir.onnx_export import export_qdq, onnxruntime_session

    module = import_onnx(onnx_models.transformer_encoder_block(), "model")
    canonicalize(module)
    assign_topology(module, load_spec("x86-vnni"))
    insert_simulated_quantize(module)
    data = RNG.normal(0.0, 1.0, size=(8, 16, 32)).astype(np.float32)
    calibrate(module, {"tokens": data})
    realize(module)
    session = onnxruntime_session(export_qdq(module))
    reference = next(iter(run_integer_batches(module, {"tokens": data}).values()))
    got = np.concatenate([session.run(None, {"tokens": data[i : i + 1]})[0] for i in range(8)])
    assert got.shape == reference.shape
    assert np.mean(np.abs(got - reference)) <= 0.01 * np.abs(reference).max()


def test_aarch64_build_uses_int16_multiply_accumulate(tmp_path: Path) -> None:
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build, kernels_for

    _, realized = realized_pair("mobilenet-int16-accumulation-arm")
    built = build(to_relax(realized, **kernels_for("aarch64")), "aarch64")  # as `hago build` emits it
    assembly = built.assembly()
    assert re.search(r"\bsmlal2?\s+v\d+\.8h", assembly), "no smlal on .8h lanes in the aarch64 build"
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed (scripts/install_cross_toolchain.sh): not linked")
    library = tmp_path / "model.so"
    built.export(library)
    header = library.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    assert header[18] == 183  # e_machine EM_AARCH64


def test_real_cnn_realized_accuracy_equals_the_simulated_accuracy() -> None:
    """The bundled Fashion-MNIST CNN on x86-vnni, 6-bit activations: simulated, integer and TVM agree."""
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build

    calib = np.load(FASHION / "calib.npz")
    test = np.load(FASHION / "test.npz")
    images, labels = test["input"][:200], test["label"][:200]
    simulated = import_onnx(str(FASHION / "model.onnx"))
    canonicalize(simulated)
    assign_topology(simulated, load_spec("x86-vnni"))
    insert_simulated_quantize(simulated)
    calibrate(simulated, {"input": calib["input"][:128]}, method="percentile", percentile=99.99)
    for op in simulated.walk():
        if isinstance(op, qsim.SimulatedQuantizeOp) and op.kind.data == "activation" and op.max_bits.value.data == 8:
            op.effective_bits = int_attr(6)
    realized = copy.deepcopy(simulated)
    realize(realized)
    check_legal(realized, load_spec("x86-vnni"))
    expected = Simulator(simulated, {"input": images}).run()[0]
    integer = run_integer_batches(realized, {"input": images})["logits"]
    (tvm_out,) = build(to_relax(realized, batch=200), "x86").run(images)
    np.testing.assert_array_equal(tvm_out, integer)
    simulated_accuracy = (expected.argmax(1) == labels).mean()
    assert (integer.argmax(1) == labels).mean() == simulated_accuracy
    assert simulated_accuracy > 0.85


@pytest.mark.parametrize("case", ["resnet-vnni", "mobilenet-relu6-depthwise-vnni", "resnet-stem-maxpool-vnni"])
def test_vnni_kernels_are_tensorized_and_bit_exact(case: str) -> None:
    """u8 / s8 x s8 -> i32 convs call the hand-scheduled VNNI kernel: `vpdpbusd`, same integers."""
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build, host_has_vnni

    _, realized = realized_pair(case)
    built = build(to_relax(realized, batch=8, vnni=True), "x86-vnni")
    assert "vpdpbusd" in built.assembly()
    if not host_has_vnni():
        pytest.skip("this CPU has no avx512_vnni (/proc/cpuinfo): the VNNI build was compiled, not run")
    reference = next(iter(run_integer_batches(realized, {"x": IMAGES[:8]}).values()))
    (got,) = build(to_relax(realized, batch=8, vnni=True), "x86").run(IMAGES[:8])
    np.testing.assert_array_equal(got, reference)


def test_integer_max_pool_with_padding() -> None:
    """ResNet's stem: conv -> ReLU -> padded max pool, all integer (padding never wins the max)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1),
    ]
    initializers = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b"),
        numpy_helper.from_array(rng.normal(0, 0.3, (4, 8)).astype(np.float32), "fw"),
        numpy_helper.from_array(np.zeros(4, np.float32), "fb"),
    ]
    graph = helper.make_graph(nodes, "stem", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 9, 9])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    simulated = import_onnx(model, "stem")
    canonicalize(simulated)
    assign_topology(simulated, load_spec("x86-vnni"))
    insert_simulated_quantize(simulated)
    images = RNG.normal(0, 1, (16, 3, 9, 9)).astype(np.float32)
    calibrate(simulated, {"x": images})
    realized = copy.deepcopy(simulated)
    realize(realized)
    pools = [op for op in realized.walk() if isinstance(op, qsim.MaxPool2dOp)]
    assert pools
    assert str(qnn.element_type(pools[0].output)) == "si8"  # the spec's max_pool2d rule
    expected = Simulator(simulated, {"x": images}).run()[0].astype(np.float32)
    got = run_integer_batches(realized, {"x": images})["y"]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
