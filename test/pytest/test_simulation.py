"""Simulated quantization: accumulator overflow is exact, wide bits reproduce the float model.

These exercise the whole front half of the pipeline from Python: topology
under a spec (built-in, or built with the Python builder API), simulated
quantize insertion, thresholds, and the interpreter's simulation.
"""

from __future__ import annotations

import numpy as np
import onnx_models
from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import float_attr
from xdsl.dialects.builtin import ArrayAttr

from hago_ir.canonicalize import canonicalize
from hago_ir.hardware_spec import HardwareSpec, load_spec
from hago_ir.insert_simq import insert_simulated_quantize
from hago_ir.interpreter import run_module
from hago_ir.numerics import quantize, scale_of
from hago_ir.onnx_frontend import import_onnx
from hago_ir.topology import assign_topology


def _simqs(module) -> list[qsim.SimulatedQuantizeOp]:
    return [op for op in module.walk() if isinstance(op, qsim.SimulatedQuantizeOp)]


def _set_threshold(op: qsim.SimulatedQuantizeOp, values) -> None:
    op.threshold = ArrayAttr([float_attr(float(v)) for v in np.atleast_1d(values)])


def test_int16_wraparound_matches_integer_numpy_bit_for_bit() -> None:
    """A conv2d whose i8 x i8 sums overflow the Cortex-A72's wrapping i16 accumulator."""
    model = onnx_models.single_op_models()["conv_nobias"]  # 4 -> 8 channels, 3x3
    module = import_onnx(model, "conv")
    assign_topology(module, load_spec("arm-a72-i16"))
    insert_simulated_quantize(module)
    by_kind = {op.kind.data: op for op in _simqs(module)}
    input_q, weight_q, output_q = by_kind["input"], by_kind["weight"], by_kind["activation"]
    assert output_q.accumulator is not None and output_q.overflow.data == "wrap"

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((1, 4, 8, 8)) * 3).astype(np.float32)
    weight = next(op for op in module.walk() if isinstance(op, qsim.ConstantOp)).to_array().astype(np.float64)
    input_threshold = 1.0  # small: most inputs saturate to +-127, so the sums are large
    weight_thresholds = np.abs(weight).reshape(8, -1).max(axis=1)
    _set_threshold(input_q, input_threshold)
    _set_threshold(weight_q, weight_thresholds)
    # output_q keeps no threshold: its value is exactly the accumulator's content.

    simulated = run_module(module, {"x": x}, keep_float64=True)["out"]

    input_scale = scale_of(input_threshold, 8, True)
    weight_scale = scale_of(weight_thresholds, 8, True)
    q_input = quantize(x.astype(np.float64), input_scale, 8, True).astype(np.int64)
    q_weight = quantize(weight, weight_scale[:, None, None, None], 8, True).astype(np.int64)
    padded = np.pad(q_input, ((0, 0), (0, 0), (1, 1), (1, 1)))
    sums = np.zeros((1, 8, 8, 8), np.int64)
    for kh in range(3):
        for kw in range(3):
            sums += np.einsum("nchw,oc->nohw", padded[:, :, kh:kh + 8, kw:kw + 8], q_weight[:, :, kh, kw])
    assert np.abs(sums).max() > 2**15, "the test must overflow int16"
    wrapped = sums.astype(np.int16)  # numpy's int16 cast is two's complement wrap-around
    held = simulated / (input_scale * weight_scale[None, :, None, None])
    np.testing.assert_array_equal(np.rint(held).astype(np.int64), wrapped.astype(np.int64))
    np.testing.assert_allclose(held, np.rint(held), atol=1e-6)


def test_wide_bits_reproduce_the_float_model() -> None:
    """With 12-bit data and 32-bit accumulators (no overflow: 2^22 x 288 terms < 2^31)
    the simulation is the float model to 1e-3; at 8 bits it is visibly coarser."""
    spec = HardwareSpec("wide")
    spec.add("conv2d", inputs=("i12", "i12"), accumulator="i32", output="i32", overflow="wrap")
    spec.add("dense", inputs=("i12", "i12"), accumulator="i32", output="i32", overflow="wrap")
    spec.add("relu", inputs=("i12",), output="i12").add_float("relu")
    spec.add("add", inputs=("i12",), accumulator="i32", output="i12").add_float("add")
    spec.add("global_avg_pool2d", inputs=("i12",), accumulator="i32", output="i12")
    spec.add_float("global_avg_pool2d").add("reshape", inputs=("i12",), output="i12").add_float("reshape")
    model = onnx_models.resnet_style_cnn()
    module = import_onnx(model, "resnet")
    canonicalize(module)
    float_module = import_onnx(model, "resnet")
    assert assign_topology(module, spec) > 10
    insert_simulated_quantize(module)
    inputs = onnx_models.random_inputs(model)
    # Thresholds from the float values of this very input (max |x|): no clipping.
    from hago_ir.calibrate import calibrate

    calibrate(module, {"input": inputs["input"]}, method="max")
    quantized = run_module(module, inputs)["logits"]
    reference = run_module(float_module, inputs)["logits"]
    assert np.max(np.abs(quantized - reference)) <= 1e-3 * np.max(np.abs(reference))
    # and 8 bits are visibly coarser
    for op in _simqs(module):
        if op.kind.data != "bias" and op.max_bits.value.data == 12:
            op.effective_bits = qsim.int_attr(8)
    coarse = run_module(module, inputs)["logits"]
    assert np.max(np.abs(coarse - reference)) > 10 * np.max(np.abs(quantized - reference))


def test_spec_builder_round_trips_through_ir() -> None:
    spec = HardwareSpec("npu", pow2_scales=True, symmetric=True, integer_only=True)
    spec.add("conv2d", inputs=("i8", "i8"), accumulator="i24", output="i24", overflow="saturate")
    again = HardwareSpec.from_op(spec.to_op())
    assert again == spec
    assert str(spec.to_op()).startswith('hwspec.spec "npu" attributes {pow2_scales, symmetric, integer_only}')
