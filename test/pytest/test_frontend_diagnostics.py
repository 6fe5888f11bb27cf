"""Every diagnostic of the ONNX frontend: one HagoError naming the node and the problem.

The models are built here without onnx's checker (several are invalid ONNX on
purpose). The command-line side (exit code, no traceback) is tested in lit:
test/filecheck/frontend/onnx_diagnostics.test.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from hago_ir.errors import HagoError
from hago_ir.onnx_frontend import import_onnx

X = [1, 2, 4, 4]


def model(nodes, inputs=(("x", X),), outputs=("out",), initializers=(), opset=13, opsets=None):
    graph = helper.make_graph(
        nodes, "bad",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in initializers],
    )
    imports = opsets if opsets is not None else [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=imports, ir_version=8)


def node(op_type, inputs, outputs=("out",), name="n", **attrs):
    return helper.make_node(op_type, list(inputs), list(outputs), name=name, **attrs)


W = ("w", np.ones((3, 2, 3, 3), np.float32))
F32 = np.float32

CASES = {
    "no_default_opset": (
        model([node("Relu", ["x"])], opsets=[helper.make_opsetid("com.example", 1)]),
        "the model imports no version of the default ONNX opset"),
    "empty_graph": (model([], outputs=()), "the ONNX model has an empty graph"),
    "output_never_computed": (
        model([node("Relu", ["x"], ["y"])], outputs=("y", "nothing")),
        "graph output 'nothing' is never computed"),
    "input_not_a_tensor": (
        helper.make_model(helper.make_graph(
            [node("Identity", ["s"])], "g",
            [helper.make_value_info("s", helper.make_sequence_type_proto(
                helper.make_tensor_type_proto(TensorProto.FLOAT, [2])))],
            [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)]),
            opset_imports=[helper.make_opsetid("", 13)], ir_version=8),
        "model input 's' is not a tensor"),
    "dangling_input": (model([node("Add", ["x", "ghost"])]),
                       "node 'n' (Add): input 'ghost' is not produced by any earlier node"),
    "unknown_attribute": (model([node("Relu", ["x"], foo=1)]), "node 'n' (Relu): unsupported attribute 'foo'"),
    "constant_two_values": (
        model([node("Constant", [], ["c"], value_float=1.0, value_int=2), node("Add", ["x", "c"], name="add")]),
        "node 'n' (Constant): expects exactly one value attribute"),
    "unfoldable_constant_op": (
        model([node("Constant", [], ["c"], name="c", value_float=1.0), node("NoSuchOp", ["c"], ["d"]),
               node("Add", ["x", "d"], name="add")]),
        "node 'n' (NoSuchOp): cannot evaluate it on its constant inputs"),
    "integer_constant_as_tensor": (
        model([node("Add", ["x", "c"])], initializers=[("c", np.array([1], np.int64))]),
        "node 'n' (Add): constant 'c' of type int64 is used as a float tensor"),
    "conv_kernel_shape_mismatch": (
        model([node("Conv", ["x", "w"], kernel_shape=[5, 5])], initializers=[W]),
        "node 'n' (Conv): kernel_shape [5, 5] does not match the weight [3, 3]"),
    "conv_pads_not_2d": (
        model([node("Conv", ["x", "w"], pads=[1, 1])], initializers=[W]), "node 'n' (Conv): pads [1, 1] is not 2-D"),
    "conv_bad_auto_pad": (
        model([node("Conv", ["x", "w"], auto_pad="SIDEWAYS")], initializers=[W]),
        "node 'n' (Conv): unsupported attribute auto_pad='SIDEWAYS'"),
    "conv_verifier": (
        model([node("Conv", ["x", "w"])], initializers=[("w", np.ones((3, 5, 3, 3), F32))]),
        "node 'n' (Conv): weight has 5 input channels per group, expected 2"),
    "gelu_tanh": (model([node("Gelu", ["x"], approximate="tanh")], opset=20),
                  "node 'n' (Gelu): unsupported attribute approximate='tanh'"),
    "pool_1d": (model([node("MaxPool", ["x"], kernel_shape=[2])], inputs=(("x", [1, 2, 8]),)),
                "node 'n' (MaxPool): only 2-D pooling is supported"),
    "pool_kernel_1d": (model([node("MaxPool", ["x"], kernel_shape=[2])]),
                       "node 'n' (MaxPool): kernel_shape [2] is not 2-D"),
    "global_pool_1d": (model([node("GlobalAveragePool", ["x"])], inputs=(("x", [1, 2, 8]),)),
                       "node 'n' (GlobalAveragePool): only 2-D pooling is supported"),
    "maxpool_storage_order": (model([node("MaxPool", ["x"], kernel_shape=[2, 2], storage_order=1)]),
                              "node 'n' (MaxPool): unsupported attribute storage_order=1"),
    "maxpool_indices_used": (
        model([node("MaxPool", ["x"], ["y", "idx"], kernel_shape=[2, 2])], outputs=("y", "idx")),
        "node 'n' (MaxPool): only the first 1 output(s) can be used, but 'idx' is"),
    "avgpool_dilations": (model([node("AveragePool", ["x"], kernel_shape=[2, 2], dilations=[2, 2])], opset=19),
                          "node 'n' (AveragePool): unsupported attribute dilations=[2, 2]"),
    "reshape_runtime_shape": (
        model([node("Reshape", ["x", "s"])], inputs=(("x", X), ("s", [2]))),
        "node 'n' (Reshape): its shape (input 1) must be a constant, not computed at run time"),
    "reshape_no_shape": (model([node("Reshape", ["x", ""])]), "node 'n' (Reshape): has no shape input"),
    "reshape_two_minus_one": (
        model([node("Reshape", ["x", "s"])], initializers=[("s", np.array([-1, -1]))]),
        "node 'n' (Reshape): shape [-1, -1] has more than one -1"),
    "reshape_wrong_size": (
        model([node("Reshape", ["x", "s"])], initializers=[("s", np.array([3, 3]))]),
        "node 'n' (Reshape): cannot reshape [1, 2, 4, 4] to [3, 3]"),
    "squeeze_non_unit": (model([node("Squeeze", ["x"], axes=[1])], opset=11),
                         "node 'n' (Squeeze): cannot squeeze axes [1] of shape [1, 2, 4, 4]"),
    "unsqueeze_no_axes": (model([node("Unsqueeze", ["x"])]), "node 'n' (Unsqueeze): has no axes"),
    "transpose_bad_perm": (model([node("Transpose", ["x"], perm=[0, 1, 1, 2])]),
                           "node 'n' (Transpose): perm [0, 1, 1, 2] is not a permutation of 4 dimensions"),
    "pad_no_pads": (model([node("Pad", ["x"])]), "node 'n' (Pad): has no pads input"),
    "pad_wrong_length": (model([node("Pad", ["x", "p"])], initializers=[("p", np.array([1, 1]))]),
                         "node 'n' (Pad): pads [1, 1] must have 8 entries"),
    "pad_negative": (model([node("Pad", ["x", "p"])], initializers=[("p", np.array([0, 0, -1, 0, 0, 0, 0, 0]))]),
                     "node 'n' (Pad): negative pads [0, 0, -1, 0, 0, 0, 0, 0] are not supported"),
    "clip_runtime_bound": (model([node("Clip", ["x", "lo"])], inputs=(("x", X), ("lo", []))),
                           "node 'n' (Clip): its min (input 1) must be a constant"),
    "pow_tensor_exponent": (
        model([node("Pow", ["x", "e"])], initializers=[("e", np.array([2.0, 3.0], F32))]),
        "node 'n' (Pow): only a scalar constant exponent is supported"),
    "batchnorm_training": (
        model([node("BatchNormalization", ["x", "s", "s", "s", "s"], training_mode=1)], opset=15,
              initializers=[("s", np.ones(2, F32))]),
        "node 'n' (BatchNormalization): unsupported attribute training_mode=1 (inference only)"),
    "cast_to_int": (model([node("Cast", ["x"], to=TensorProto.INT64)]),
                    "node 'n' (Cast): casting a run-time tensor to INT64 is not supported"),
    "concat_verifier": (
        model([node("Concat", ["x", "y"], axis=1)], inputs=(("x", X), ("y", [1, 2, 5, 4]))),
        "node 'n' (Concat): operand shapes [[1, 2, 4, 4], [1, 2, 5, 4]] differ outside axis 1"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_diagnostic(name: str) -> None:
    proto, message = CASES[name]
    with pytest.raises(HagoError) as caught:
        import_onnx(proto, "model.onnx")
    assert str(caught.value).startswith(f"model.onnx: {message}"), str(caught.value)


def test_missing_file() -> None:
    with pytest.raises(HagoError, match="nope.onnx: cannot read"):
        import_onnx("nope.onnx")
