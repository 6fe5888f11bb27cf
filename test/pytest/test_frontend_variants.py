"""ONNX attribute and opset variants the frontend must get right, checked against onnxruntime.

Each case is a one-node model built here with onnx.helper; the interpreter's
result must match onnxruntime's within the issue-2 tolerance.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnx_models
import pytest
from onnx import TensorProto, helper, numpy_helper

from hago_ir.interpreter import run_module
from hago_ir.onnx_frontend import import_onnx

RNG = np.random.default_rng(7)


def one_node(op_type, x_shape, opset=13, initializers=(), extra_inputs=(), graph_inputs=(), **attrs):
    """A model computing `out = op_type(x, *extra_inputs)`; initializers are (name, array)."""
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in initializers]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)]
    inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in graph_inputs]
    node = helper.make_node(op_type, ["x", *extra_inputs], ["out"], name="node", **attrs)
    graph = helper.make_graph([node], "variant", inputs, [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    return onnx.shape_inference.infer_shapes(model)


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CASES = {
    "avgpool_ceil_include_pad": lambda: one_node(
        "AveragePool", [1, 2, 7, 7], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
        ceil_mode=1, count_include_pad=1),
    "avgpool_ceil_exclude_pad": lambda: one_node(
        "AveragePool", [1, 2, 6, 6], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1],
        ceil_mode=1, count_include_pad=0),
    "maxpool_ceil_dilated": lambda: one_node(
        "MaxPool", [1, 2, 9, 9], kernel_shape=[2, 2], strides=[2, 2], dilations=[2, 2], ceil_mode=1),
    "avgpool_same_upper": lambda: one_node(
        "AveragePool", [1, 2, 7, 7], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
    "conv_same_lower_stride2": lambda: one_node(
        "Conv", [1, 3, 7, 7], initializers=[("w", f32(4, 3, 4, 4))], extra_inputs=["w"],
        strides=[2, 2], auto_pad="SAME_LOWER"),
    "conv_valid_asymmetric": lambda: one_node(
        "Conv", [1, 3, 8, 9], initializers=[("w", f32(6, 1, 3, 2)), ("b", f32(6))],
        extra_inputs=["w", "b"], group=3, strides=[1, 2], auto_pad="VALID"),
    "conv_depthwise_multiplier": lambda: one_node(
        "Conv", [1, 3, 6, 6], initializers=[("w", f32(6, 1, 3, 3))], extra_inputs=["w"],
        group=3, pads=[1, 0, 1, 2]),
    "softmax_opset11_axis1": lambda: one_node("Softmax", [2, 3, 4], opset=11, axis=1),
    "softmax_axis0": lambda: one_node("Softmax", [3, 4], axis=0),
    "reduce_mean_opset18": lambda: one_node(
        "ReduceMean", [2, 3, 4], opset=18, initializers=[("axes", np.array([0, -1]))],
        extra_inputs=["axes"], keepdims=0),
    "reduce_mean_all": lambda: one_node("ReduceMean", [2, 3, 4], keepdims=1),
    "squeeze_opset11": lambda: one_node("Squeeze", [1, 3, 1, 4], opset=11, axes=[0, 2]),
    "squeeze_opset13": lambda: one_node(
        "Squeeze", [1, 3, 1, 4], initializers=[("axes", np.array([2]))], extra_inputs=["axes"]),
    "unsqueeze_opset13": lambda: one_node(
        "Unsqueeze", [3, 4], initializers=[("axes", np.array([0, 3]))], extra_inputs=["axes"]),
    "unsqueeze_opset11": lambda: one_node("Unsqueeze", [3, 4], opset=11, axes=[1]),
    "flatten_axis2": lambda: one_node("Flatten", [2, 3, 4, 5], axis=2),
    "reshape_zero_and_minus_one": lambda: one_node(
        "Reshape", [2, 3, 4], initializers=[("shape", np.array([0, -1, 2]))], extra_inputs=["shape"]),
    "transpose_default_perm": lambda: one_node("Transpose", [2, 3, 4]),
    "concat_negative_axis": lambda: one_node(
        "Concat", [2, 3], initializers=[("c", f32(2, 5))], extra_inputs=["c"], axis=-1),
    "gemm_alpha_beta": lambda: one_node(
        "Gemm", [2, 4], initializers=[("b", f32(4, 3)), ("c", f32(3))], extra_inputs=["b", "c"],
        alpha=0.5, beta=2.0),
    "gemm_full_bias": lambda: one_node(
        "Gemm", [2, 4], initializers=[("b", f32(3, 4)), ("c", f32(2, 3))], extra_inputs=["b", "c"],
        transB=1, beta=0.5),
    "gemm_runtime_b": lambda: one_node(
        "Gemm", [2, 4], extra_inputs=["b"], graph_inputs=[("b", [3, 4])], transB=1, alpha=3.0),
    "matmul_constant_lhs": lambda: _constant_lhs_matmul(),
    "clip_min_only": lambda: one_node(
        "Clip", [2, 3], initializers=[("lo", np.array(-0.5, np.float32))], extra_inputs=["lo"]),
    "clip_opset7_attrs": lambda: one_node("Clip", [2, 3], opset=7, min=-0.25, max=0.5),
    "pad_opset18_axes": lambda: one_node(
        "Pad", [1, 2, 3, 4], opset=18,
        initializers=[("pads", np.array([1, 2, 0, 1])), ("value", np.array(1.5, np.float32)),
                      ("axes", np.array([2, -1]))],
        extra_inputs=["pads", "value", "axes"]),
    "pad_opset7_attrs": lambda: one_node("Pad", [2, 3], opset=7, pads=[0, 1, 2, 0], value=-1.0),
    "pow_cube": lambda: one_node(
        "Pow", [2, 3], initializers=[("e", np.array(3.0, np.float32))], extra_inputs=["e"]),
    "gelu_opset20": lambda: one_node("Gelu", [2, 5], opset=20),
    "layer_norm_axis1": lambda: one_node(
        "LayerNormalization", [2, 3, 4], opset=17,
        initializers=[("s", f32(3, 4)), ("b", f32(4))], extra_inputs=["s", "b"], axis=1, epsilon=1e-3),
}


def _constant_lhs_matmul():
    a = numpy_helper.from_array(f32(2, 4), "a")
    node = helper.make_node("MatMul", ["a", "x"], ["out"], name="node")
    graph = helper.make_graph(
        [node], "lhs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], [a])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


@pytest.mark.parametrize("name", sorted(CASES))
def test_variant_matches_onnxruntime(name: str) -> None:
    model = CASES[name]()
    inputs = onnx_models.random_inputs(model, seed=3)
    if name == "pow_cube":
        inputs["x"] = np.abs(inputs["x"]) + 0.1
    expected = onnx_models.run_onnxruntime(model, inputs)
    ours = run_module(import_onnx(model, name), inputs)
    for key, value in expected.items():
        assert ours[key].shape == value.shape
        np.testing.assert_allclose(ours[key], value, rtol=0, atol=1e-4 * np.max(np.abs(value)))
