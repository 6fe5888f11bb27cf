"""ONNX test fixtures for the hago frontend and interpreter checks.

Every model here is built from scratch with ``onnx.helper`` and seeded numpy
weights (no torch, no network), passes ``onnx.checker.check_model(...,
full_check=True)`` and runs in onnxruntime on CPU.  Node and initializer names
are readable ("block1.conv1", "block1.bn1.running_mean") because diagnostics
and printed IR show them.

Contents:
  * single_op_models()          one tiny model per supported ONNX op
  * resnet_style_cnn()          CNN with residual blocks and unfolded BatchNorm
  * mobilenetv2_style_cnn()     inverted residuals, depthwise convs, ReLU6 Clip
  * transformer_encoder_block() attention + FFN as torch exports it at opset 13
  * torch_pad_chain_model()     Pad/Reshape fed by constant-foldable op chains
  * bad_models()                raw bytes of invalid or unsupported inputs
  * random_inputs(), run_onnxruntime()  helpers for reference runs
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 8
DEFAULT_OPSET = 13
PRODUCER = "hago-test-models"

CONV_INPUT = [1, 4, 8, 8]
DENSE_INPUT = [2, 8]
SEQ_INPUT = [1, 5, 16]


# ---------------------------------------------------------------------------
# Graph building
# ---------------------------------------------------------------------------


class GraphBuilder:
    """Accumulates nodes, initializers and graph inputs/outputs.

    Output tensors are named after the node that produces them unless a name is
    given, so node "block1.conv1" produces the value "block1.conv1".
    """

    def __init__(self, name: str, seed: int = 0):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[str] = []
        self.output_shapes: dict[str, list[int]] = {}

    # -- raw graph pieces ---------------------------------------------------

    def input(
        self, name: str, shape: Sequence[int | str], elem_type: int = TensorProto.FLOAT
    ) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))
        return name

    def initializer(self, name: str, value) -> str:
        array = np.asarray(value)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(
        self,
        op_type: str,
        inputs: Sequence[str],
        name: str,
        outputs: Sequence[str] | None = None,
        **attrs,
    ) -> str:
        """Adds a node; returns the name of its (first) output."""
        outputs = list(outputs) if outputs is not None else [name]
        self.nodes.append(
            helper.make_node(op_type, list(inputs), outputs, name=name, **attrs)
        )
        return outputs[0]

    def constant(self, name: str, value) -> str:
        """A Constant node (as torch emits), output named like the node."""
        tensor = numpy_helper.from_array(np.asarray(value), name + ".value")
        return self.node("Constant", [], name, value=tensor)

    def output(self, name: str, shape: Sequence[int] | None = None) -> None:
        """Marks a graph output; give its shape where shape inference cannot."""
        self.outputs.append(name)
        if shape is not None:
            self.output_shapes[name] = list(shape)

    def build(self, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
        """Makes the model; graph output shapes not given come from shape inference."""
        outputs = [
            helper.make_tensor_value_info(
                o, TensorProto.FLOAT, self.output_shapes.get(o)
            )
            for o in self.outputs
        ]
        graph = helper.make_graph(
            self.nodes, self.name, self.inputs, outputs, self.initializers
        )
        model = helper.make_model(
            graph,
            producer_name=PRODUCER,
            ir_version=IR_VERSION,
            opset_imports=[helper.make_opsetid("", opset)],
        )
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        known = {
            vi.name: vi for vi in [*inferred.graph.value_info, *inferred.graph.output]
        }
        del model.graph.output[:]
        model.graph.output.extend(known[o] for o in self.outputs)
        input_params = {
            d.dim_param for vi in self.inputs for d in vi.type.tensor_type.shape.dim
        }
        for vi in model.graph.output:
            dims = vi.type.tensor_type.shape.dim
            if not all(
                d.HasField("dim_value") or d.dim_param in input_params for d in dims
            ):
                raise ValueError(
                    f"output {vi.name!r}: shape inference gave no shape; pass one"
                )
        onnx.checker.check_model(model, full_check=True)
        return model

    # -- weights ------------------------------------------------------------

    def he_normal(self, shape: Sequence[int], fan_in: int) -> np.ndarray:
        std = math.sqrt(2.0 / fan_in)
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def small_normal(self, shape: Sequence[int], scale: float = 0.1) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def uniform(self, shape: Sequence[int], low: float, high: float) -> np.ndarray:
        return self.rng.uniform(low, high, shape).astype(np.float32)

    # -- layers -------------------------------------------------------------

    def conv(
        self,
        x: str,
        name: str,
        cin: int,
        cout: int,
        kernel: int,
        *,
        stride: int = 1,
        pad: int | None = None,
        dilation: int = 1,
        group: int = 1,
        bias: bool = True,
        output: str | None = None,
    ) -> str:
        if pad is None:
            pad = dilation * (kernel - 1) // 2
        fan_in = cin // group * kernel * kernel
        inputs = [
            x,
            self.initializer(
                name + ".weight",
                self.he_normal([cout, cin // group, kernel, kernel], fan_in),
            ),
        ]
        if bias:
            inputs.append(self.initializer(name + ".bias", self.small_normal([cout])))
        return self.node(
            "Conv",
            inputs,
            name,
            [output] if output else None,
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[pad] * 4,
            dilations=[dilation, dilation],
            group=group,
        )

    def bn(
        self,
        x: str,
        name: str,
        channels: int,
        gamma_range: tuple[float, float] = (0.5, 1.5),
        output: str | None = None,
    ) -> str:
        params = [
            self.initializer(name + ".weight", self.uniform([channels], *gamma_range)),
            self.initializer(name + ".bias", self.small_normal([channels], 0.2)),
            self.initializer(
                name + ".running_mean", self.small_normal([channels], 0.2)
            ),
            self.initializer(name + ".running_var", self.uniform([channels], 0.5, 2.0)),
        ]
        outputs = [output] if output else None
        return self.node(
            "BatchNormalization", [x, *params], name, outputs, epsilon=1e-5
        )

    def relu(self, x: str, name: str) -> str:
        return self.node("Relu", [x], name)

    def relu6(self, x: str, name: str) -> str:
        """Clip(0, 6) with min/max as shared scalar initializers (opset >= 11)."""
        if not any(t.name == "relu6.min" for t in self.initializers):
            self.initializer("relu6.min", np.float32(0.0))
            self.initializer("relu6.max", np.float32(6.0))
        return self.node("Clip", [x, "relu6.min", "relu6.max"], name)

    def conv_bn(
        self,
        x: str,
        prefix: str,
        cin: int,
        cout: int,
        kernel: int,
        conv_name: str = "conv",
        bn_name: str = "bn",
        gamma_range: tuple[float, float] = (0.5, 1.5),
        output: str | None = None,
        **conv_kw,
    ) -> str:
        """Bias-free conv followed by BatchNormalization, as torch models have it."""
        y = self.conv(
            x, f"{prefix}{conv_name}", cin, cout, kernel, bias=False, **conv_kw
        )
        return self.bn(y, f"{prefix}{bn_name}", cout, gamma_range, output)

    def gemm(
        self,
        x: str,
        name: str,
        din: int,
        dout: int,
        trans_b: bool = True,
        output: str | None = None,
    ) -> str:
        w = self.he_normal([dout, din] if trans_b else [din, dout], din)
        inputs = [
            x,
            self.initializer(name + ".weight", w),
            self.initializer(name + ".bias", self.small_normal([dout])),
        ]
        outputs = [output] if output else None
        return self.node("Gemm", inputs, name, outputs, transB=int(trans_b))

    def linear(
        self, x: str, name: str, din: int, dout: int, output: str | None = None
    ) -> str:
        """torch nn.Linear on a 3-D tensor: MatMul by a [din, dout] weight, Add bias."""
        w = self.initializer(
            name + ".weight", self.he_normal([din, dout], din) / math.sqrt(2)
        )
        b = self.initializer(name + ".bias", self.small_normal([dout]))
        y = self.node("MatMul", [x, w], name + ".matmul")
        return self.node("Add", [y, b], name + ".add", [output] if output else None)


def _scalar(value: float) -> np.ndarray:
    return np.array(value, dtype=np.float32)


def _i64(values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# ---------------------------------------------------------------------------
# Single-op models
# ---------------------------------------------------------------------------


def _unary(
    op_type: str, shape=CONV_INPUT, opset: int = DEFAULT_OPSET, **attrs
) -> onnx.ModelProto:
    g = GraphBuilder(op_type.lower())
    g.input("x", shape)
    g.output(g.node(op_type, ["x"], op_type.lower(), ["out"], **attrs))
    return g.build(opset)


def _binary(op_type: str, other_shape=None, seed: int = 0) -> onnx.ModelProto:
    """x <op> y with two graph inputs, or x <op> constant of other_shape."""
    g = GraphBuilder(op_type.lower(), seed)
    g.input("x", CONV_INPUT)
    if other_shape is None:
        other = g.input("y", CONV_INPUT)
    else:
        # Magnitudes in [0.5, 2] with random sign: safe as a Div denominator.
        value = g.uniform(other_shape, 0.5, 2.0) * np.where(
            g.rng.random(other_shape) < 0.5, -1, 1
        )
        other = g.initializer("c", value.astype(np.float32))
    g.output(g.node(op_type, ["x", other], op_type.lower(), ["out"]))
    return g.build()


def _conv_model(
    cin: int = 4, cout: int = 8, kernel: int = 3, seed: int = 0, **conv_kw
) -> onnx.ModelProto:
    g = GraphBuilder("conv", seed)
    g.input("x", [1, cin, 8, 8])
    g.output(g.conv("x", "conv", cin, cout, kernel, output="out", **conv_kw))
    return g.build()


def _conv_bn_model(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("conv_bn", seed)
    g.input("x", CONV_INPUT)
    g.output(g.conv_bn("x", "", 4, 8, 3, output="out"))
    return g.build()


def _gemm_model(trans_b: bool, seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("gemm", seed)
    g.input("x", DENSE_INPUT)
    g.output(g.gemm("x", "gemm", 8, 16, trans_b=trans_b, output="out"))
    return g.build()


def _matmul_model(x_shape, w_shape, seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("matmul", seed)
    g.input("x", x_shape)
    w = g.initializer("weight", g.he_normal(w_shape, w_shape[-2]))
    g.output(g.node("MatMul", ["x", w], "matmul", ["out"]))
    return g.build()


def _matmul_two_inputs() -> onnx.ModelProto:
    g = GraphBuilder("matmul_two_inputs")
    g.input("x", [1, 4, 5, 8])
    g.input("y", [1, 4, 8, 5])
    g.output(g.node("MatMul", ["x", "y"], "matmul", ["out"]))
    return g.build()


def _clip_model(opset: int) -> onnx.ModelProto:
    g = GraphBuilder("clip")
    g.input("x", CONV_INPUT)
    lo = g.initializer("clip.min", _scalar(0.0))
    hi = g.initializer("clip.max", _scalar(6.0))
    g.output(g.node("Clip", ["x", lo, hi], "clip", ["out"]))
    return g.build(opset)


def _concat_model() -> onnx.ModelProto:
    g = GraphBuilder("concat")
    g.input("x", CONV_INPUT)
    g.input("y", [1, 2, 8, 8])
    g.output(g.node("Concat", ["x", "y"], "concat", ["out"], axis=1))
    return g.build()


def _reshape_model() -> onnx.ModelProto:
    g = GraphBuilder("reshape")
    g.input("x", CONV_INPUT)
    shape = g.initializer("shape", _i64([0, -1, 16]))
    g.output(g.node("Reshape", ["x", shape], "reshape", ["out"]))
    return g.build()


def _pad_model(opset: int) -> onnx.ModelProto:
    g = GraphBuilder("pad")
    g.input("x", CONV_INPUT)
    pads = g.initializer("pads", _i64([0, 0, 1, 2, 0, 0, 1, 2]))
    value = g.initializer("pad.value", _scalar(0.0))
    g.output(g.node("Pad", ["x", pads, value], "pad", ["out"], mode="constant"))
    return g.build(opset)


def _sqrt_model() -> onnx.ModelProto:
    # Square first so that standard-normal inputs stay in Sqrt's domain.
    g = GraphBuilder("sqrt")
    g.input("x", CONV_INPUT)
    sq = g.node("Mul", ["x", "x"], "square")
    g.output(g.node("Sqrt", [sq], "sqrt", ["out"]))
    return g.build()


def _pow_model() -> onnx.ModelProto:
    g = GraphBuilder("pow")
    g.input("x", CONV_INPUT)
    exponent = g.initializer("exponent", _scalar(2.0))
    g.output(g.node("Pow", ["x", exponent], "pow", ["out"]))
    return g.build()


def _batchnorm_model(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("batchnorm", seed)
    g.input("x", CONV_INPUT)
    g.output(g.bn("x", "bn", 4, output="out"))
    return g.build()


def _layernorm_model(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("layernorm", seed)
    g.input("x", SEQ_INPUT)
    scale = g.initializer("ln.weight", g.uniform([16], 0.5, 1.5))
    bias = g.initializer("ln.bias", g.small_normal([16]))
    g.output(
        g.node(
            "LayerNormalization",
            ["x", scale, bias],
            "layernorm",
            ["out"],
            axis=-1,
            epsilon=1e-5,
        )
    )
    return g.build(17)


def single_op_models() -> dict[str, onnx.ModelProto]:
    """One tiny model per ONNX op the frontend supports.

    Graph inputs are "x" (and "y" for two-input ops); the output is "out".
    """
    builders: dict[str, Callable[[], onnx.ModelProto]] = {
        "conv": lambda: _conv_model(),
        "conv_nobias": lambda: _conv_model(bias=False),
        "conv_stride2": lambda: _conv_model(stride=2, pad=1),
        "conv_dilation2": lambda: _conv_model(dilation=2),
        "conv_group2": lambda: _conv_model(group=2),
        "conv_depthwise": lambda: _conv_model(cin=4, cout=4, group=4),
        "conv_same_upper": _conv_same_model,
        "conv_bn": _conv_bn_model,
        "gemm": lambda: _gemm_model(trans_b=True),
        "gemm_transb0": lambda: _gemm_model(trans_b=False),
        "matmul_2d": lambda: _matmul_model(DENSE_INPUT, [8, 16]),
        "matmul_3d": lambda: _matmul_model(SEQ_INPUT, [16, 8]),
        "matmul_two_inputs": _matmul_two_inputs,
        "add": lambda: _binary("Add"),
        "add_const": lambda: _binary("Add", [1, 4, 1, 1]),
        "sub": lambda: _binary("Sub"),
        "sub_const": lambda: _binary("Sub", []),
        "mul": lambda: _binary("Mul"),
        "mul_const": lambda: _binary("Mul", [8]),
        "div_const": lambda: _binary("Div", [1, 4, 1, 1]),
        "relu": lambda: _unary("Relu"),
        "sigmoid": lambda: _unary("Sigmoid"),
        "tanh": lambda: _unary("Tanh"),
        "clip": lambda: _clip_model(13),
        "clip_opset11": lambda: _clip_model(11),
        "maxpool": lambda: _unary(
            "MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        "avgpool": lambda: _unary("AveragePool", kernel_shape=[2, 2], strides=[2, 2]),
        "avgpool_pads": lambda: _unary(
            "AveragePool",
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            count_include_pad=0,
        ),
        "global_avgpool": lambda: _unary("GlobalAveragePool"),
        "concat": _concat_model,
        "reshape": _reshape_model,
        "flatten": lambda: _unary("Flatten", axis=1),
        "transpose": lambda: _unary("Transpose", perm=[0, 2, 3, 1]),
        "pad": lambda: _pad_model(13),
        "pad_opset11": lambda: _pad_model(11),
        "softmax": lambda: _unary("Softmax", shape=SEQ_INPUT, axis=-1),
        "sqrt": _sqrt_model,
        "pow": _pow_model,
        "reduce_mean": lambda: _unary(
            "ReduceMean", shape=SEQ_INPUT, axes=[-1], keepdims=1
        ),
        "erf": lambda: _unary("Erf"),
        "batchnorm": _batchnorm_model,
        "identity": lambda: _unary("Identity"),
        "dropout": lambda: _unary("Dropout"),
        "layernorm": _layernorm_model,
    }
    models = {key: build() for key, build in builders.items()}
    for key, model in models.items():
        model.graph.name = key
    return models


# ---------------------------------------------------------------------------
# ResNet-style CNN
# ---------------------------------------------------------------------------


def _basic_block(
    g: GraphBuilder, x: str, prefix: str, cin: int, cout: int, stride: int = 1
) -> str:
    y = g.conv_bn(
        x, prefix, cin, cout, 3, conv_name="conv1", bn_name="bn1", stride=stride
    )
    y = g.relu(y, prefix + "relu1")
    # Small bn2 gammas (as in trained ResNets) keep the residual sum from growing.
    y = g.conv_bn(
        y,
        prefix,
        cout,
        cout,
        3,
        conv_name="conv2",
        bn_name="bn2",
        gamma_range=(0.2, 0.6),
    )
    shortcut = x
    if stride != 1 or cin != cout:
        shortcut = g.conv_bn(
            x, prefix + "downsample.", cin, cout, 1, stride=stride, pad=0
        )
    y = g.node("Add", [y, shortcut], prefix + "add")
    return g.relu(y, prefix + "relu2")


def _pooled_logits(g: GraphBuilder, x: str, channels: int) -> onnx.ModelProto:
    """The ResNets' head: global average pool, flatten, fc to 10 logits; the built model."""
    x = g.node("GlobalAveragePool", [x], "avgpool")
    x = g.node("Flatten", [x], "flatten", axis=1)
    g.output(g.gemm(x, "fc", channels, 10, output="logits"))
    return g.build()


def resnet_style_cnn(seed: int = 0) -> onnx.ModelProto:
    """input [1,3,32,32] -> logits [1,10]; BatchNorm nodes are left unfolded."""
    g = GraphBuilder("resnet_style_cnn", seed)
    x = g.input("input", [1, 3, 32, 32])
    x = g.relu(g.conv_bn(x, "", 3, 16, 3, conv_name="conv1", bn_name="bn1"), "relu1")
    x = _basic_block(g, x, "block1.", 16, 16)
    x = _basic_block(g, x, "block2.", 16, 16)
    x = _basic_block(g, x, "block3.", 16, 32, stride=2)
    return _pooled_logits(g, x, 32)


def resnet_stem_cnn(seed: int = 0) -> onnx.ModelProto:
    """input [1,3,32,32] -> logits [1,10]: ResNet-18's stem (7x7 stride-2 conv, ReLU,
    3x3 stride-2 padded max pool), whose pool feeds both a conv and a skip connection."""
    g = GraphBuilder("resnet_stem_cnn", seed)
    x = g.input("input", [1, 3, 32, 32])
    x = g.relu(g.conv_bn(x, "", 3, 16, 7, conv_name="conv1", bn_name="bn1", stride=2, pad=3), "relu1")
    x = g.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    x = _basic_block(g, x, "block1.", 16, 16)
    x = _basic_block(g, x, "block2.", 16, 32, stride=2)
    return _pooled_logits(g, x, 32)


# ---------------------------------------------------------------------------
# MobileNetV2-style CNN
# ---------------------------------------------------------------------------


def _inverted_residual(
    g: GraphBuilder, x: str, prefix: str, cin: int, cout: int, stride: int, expand: int
) -> str:
    hidden = cin * expand
    y = x
    if expand != 1:
        y = g.conv_bn(
            y, prefix, cin, hidden, 1, conv_name="expand.conv", bn_name="expand.bn"
        )
        y = g.relu6(y, prefix + "expand.relu6")
    y = g.conv_bn(
        y,
        prefix,
        hidden,
        hidden,
        3,
        conv_name="dw.conv",
        bn_name="dw.bn",
        stride=stride,
        group=hidden,
    )
    y = g.relu6(y, prefix + "dw.relu6")
    y = g.conv_bn(
        y, prefix, hidden, cout, 1, conv_name="project.conv", bn_name="project.bn"
    )
    if stride == 1 and cin == cout:
        y = g.node("Add", [x, y], prefix + "add")
    return y


def mobilenetv2_style_cnn(seed: int = 0) -> onnx.ModelProto:
    """input [1,3,32,32] -> logits [1,10]; ReLU6 is Clip with initializer bounds."""
    g = GraphBuilder("mobilenetv2_style_cnn", seed)
    x = g.input("input", [1, 3, 32, 32])
    x = g.relu6(g.conv_bn(x, "stem.", 3, 16, 3, stride=2), "stem.relu6")  # 16x16
    blocks = [  # (cin, cout, stride, expand)
        (16, 8, 1, 1),  # no expansion, like MobileNetV2's first block
        (8, 16, 2, 6),  # 8x8
        (16, 16, 1, 6),  # residual add
        (16, 24, 2, 4),  # 4x4
    ]
    for i, (cin, cout, stride, expand) in enumerate(blocks, start=1):
        x = _inverted_residual(g, x, f"block{i}.", cin, cout, stride, expand)
    x = g.relu6(g.conv_bn(x, "head.", 24, 64, 1), "head.relu6")
    x = g.node("GlobalAveragePool", [x], "avgpool")
    x = g.node("Reshape", [x, g.initializer("flatten.shape", _i64([0, -1]))], "flatten")
    x = g.node("Dropout", [x], "classifier.dropout")
    g.output(g.gemm(x, "classifier.fc", 64, 10, output="logits"))
    return g.build()


# ---------------------------------------------------------------------------
# Transformer encoder block (torch opset-13 export style)
# ---------------------------------------------------------------------------

SEQ, D_MODEL, HEADS, D_FF = 16, 32, 4, 64
HEAD_DIM = D_MODEL // HEADS


def _decomposed_layernorm(
    g: GraphBuilder, x: str, prefix: str, output: str | None = None
) -> str:
    """LayerNorm as torch decomposes it: mean, centered, variance, normalize, affine."""
    if not any(t.name == "ln.pow_exponent" for t in g.initializers):
        g.initializer("ln.pow_exponent", _scalar(2.0))
        g.initializer("ln.eps", _scalar(1e-5))
    mean = g.node("ReduceMean", [x], prefix + "mean", axes=[-1], keepdims=1)
    centered = g.node("Sub", [x, mean], prefix + "sub")
    sq = g.node("Pow", [centered, "ln.pow_exponent"], prefix + "pow")
    var = g.node("ReduceMean", [sq], prefix + "var", axes=[-1], keepdims=1)
    var_eps = g.node("Add", [var, "ln.eps"], prefix + "add_eps")
    std = g.node("Sqrt", [var_eps], prefix + "sqrt")
    normed = g.node("Div", [centered, std], prefix + "div")
    gamma = g.initializer(prefix + "weight", g.uniform([D_MODEL], 0.5, 1.5))
    beta = g.initializer(prefix + "bias", g.small_normal([D_MODEL]))
    scaled = g.node("Mul", [normed, gamma], prefix + "mul")
    return g.node("Add", [scaled, beta], prefix + "add", [output] if output else None)


def _split_heads(g: GraphBuilder, x: str, prefix: str, perm: list[int]) -> str:
    y = g.node("Reshape", [x, "attn.heads_shape"], prefix + "reshape")
    return g.node("Transpose", [y], prefix + "transpose", perm=perm)


def _self_attention(g: GraphBuilder, x: str) -> str:
    g.initializer("attn.heads_shape", _i64([1, SEQ, HEADS, HEAD_DIM]))
    g.initializer("attn.merged_shape", _i64([1, SEQ, D_MODEL]))
    g.initializer("attn.scale", _scalar(math.sqrt(HEAD_DIM)))
    q = _split_heads(
        g, g.linear(x, "attn.q_proj", D_MODEL, D_MODEL), "attn.q.", [0, 2, 1, 3]
    )
    k = _split_heads(
        g, g.linear(x, "attn.k_proj", D_MODEL, D_MODEL), "attn.k.", [0, 2, 3, 1]
    )
    v = _split_heads(
        g, g.linear(x, "attn.v_proj", D_MODEL, D_MODEL), "attn.v.", [0, 2, 1, 3]
    )
    scores = g.node("MatMul", [q, k], "attn.scores")  # [1,4,16,16]
    scores = g.node("Div", [scores, "attn.scale"], "attn.scale_div")
    probs = g.node("Softmax", [scores], "attn.softmax", axis=-1)
    ctx = g.node("MatMul", [probs, v], "attn.context")  # [1,4,16,8]
    ctx = g.node("Transpose", [ctx], "attn.context.transpose", perm=[0, 2, 1, 3])
    ctx = g.node("Reshape", [ctx, "attn.merged_shape"], "attn.context.reshape")
    return g.linear(ctx, "attn.out_proj", D_MODEL, D_MODEL)


def _gelu_erf(g: GraphBuilder, x: str, prefix: str) -> str:
    """x * 0.5 * (1 + erf(x / sqrt(2))), in torch's export order."""
    g.initializer(prefix + "sqrt2", _scalar(math.sqrt(2.0)))
    g.initializer(prefix + "one", _scalar(1.0))
    g.initializer(prefix + "half", _scalar(0.5))
    y = g.node("Div", [x, prefix + "sqrt2"], prefix + "div")
    y = g.node("Erf", [y], prefix + "erf")
    y = g.node("Add", [y, prefix + "one"], prefix + "add")
    y = g.node("Mul", [x, y], prefix + "mul")
    return g.node("Mul", [y, prefix + "half"], prefix + "mul_half")


def transformer_encoder_block(seed: int = 0) -> onnx.ModelProto:
    """tokens [1,16,32] -> hidden [1,16,32]; post-LN block, 4 heads, FFN 32->64->32."""
    g = GraphBuilder("transformer_encoder_block", seed)
    x = g.input("tokens", [1, SEQ, D_MODEL])
    attn = _self_attention(g, x)
    x = _decomposed_layernorm(g, g.node("Add", [x, attn], "attn.residual"), "ln1.")
    h = g.linear(x, "ffn.fc1", D_MODEL, D_FF)
    h = _gelu_erf(g, h, "ffn.gelu.")
    h = g.linear(h, "ffn.fc2", D_FF, D_MODEL)
    x = g.node("Add", [x, h], "ffn.residual")
    g.output(_decomposed_layernorm(g, x, "ln2.", output="hidden"))
    return g.build()


# ---------------------------------------------------------------------------
# torch-exporter-style constant chains
# ---------------------------------------------------------------------------


def _torch_pad_amounts(g: GraphBuilder, torch_pad: list[int], rank: int) -> str:
    """The pads computation torch's legacy exporter emits for F.pad (opset 11+).

    torch order (last dim first, begin/end pairs) is extended with zeros,
    reshaped to [-1, 2], flipped, transposed and flattened into ONNX order.
    """
    pad = g.constant("pad.torch_pads", _i64(torch_pad))
    pad_len = g.node(
        "Gather",
        [g.node("Shape", [pad], "pad.shape"), g.constant("pad.dim0", _i64([0]))],
        "pad.len",
        axis=0,
    )
    full_len = g.node(
        "Mul",
        [g.constant("pad.rank", _i64(rank)), g.constant("pad.two", _i64(2))],
        "pad.full_len",
    )
    extension = g.node("Sub", [full_len, pad_len], "pad.ext_len")
    zeros = g.node(
        "ConstantOfShape",
        [extension],
        "pad.zeros",
        value=numpy_helper.from_array(_i64([0]), "value"),
    )
    pads = g.node(
        "Concat",
        [g.node("Cast", [pad], "pad.cast_in", to=TensorProto.INT64), zeros],
        "pad.concat",
        axis=0,
    )
    pads = g.node(
        "Reshape", [pads, g.constant("pad.pairs_shape", _i64([-1, 2]))], "pad.pairs"
    )
    pads = g.node(
        "Slice",
        [
            pads,
            g.constant("pad.flip_starts", _i64([-1])),
            g.constant("pad.flip_ends", _i64([-(2**63) + 1])),
            g.constant("pad.flip_axes", _i64([0])),
            g.constant("pad.flip_steps", _i64([-1])),
        ],
        "pad.flip",
    )
    pads = g.node("Transpose", [pads], "pad.transpose", perm=[1, 0])
    pads = g.node(
        "Reshape", [pads, g.constant("pad.flat_shape", _i64([-1]))], "pad.flat"
    )
    return g.node("Cast", [pads], "pad.cast", to=TensorProto.INT64)


def _torch_view_batch_flatten(g: GraphBuilder, x: str) -> str:
    """x.view(x.size(0), -1) as torch exports it.

    Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
    """
    batch = g.node(
        "Gather",
        [g.node("Shape", [x], "view.shape"), g.constant("view.dim0", _i64(0))],
        "view.batch",
        axis=0,
    )
    batch = g.node(
        "Unsqueeze",
        [batch, g.constant("view.unsqueeze_axes", _i64([0]))],
        "view.unsqueeze",
    )
    target = g.node(
        "Concat",
        [batch, g.constant("view.minus_one", _i64([-1]))],
        "view.target",
        axis=0,
    )
    return g.node("Reshape", [x, target], "view.reshape")


def torch_pad_chain_model(seed: int = 0) -> onnx.ModelProto:
    """input [1,3,8,8] -> logits [1,10].

    F.pad(x, (1, 1, 2, 2)) -> conv3x3 -> relu -> x.view(x.size(0), -1) -> fc.
    """
    g = GraphBuilder("torch_pad_chain", seed)
    x = g.input("input", [1, 3, 8, 8])
    pads = _torch_pad_amounts(g, [1, 1, 2, 2], rank=4)
    x = g.node(
        "Pad", [x, pads, g.constant("pad.value", _scalar(0.0))], "pad", mode="constant"
    )
    x = g.conv(x, "conv", 3, 8, 3, pad=0)  # [1,8,10,8]
    x = g.relu(x, "relu")
    x = _torch_view_batch_flatten(g, x)  # [1,640]
    # The Pad/Reshape targets are only known after constant folding, so onnx
    # shape inference cannot derive the output shape: state it.
    g.output(g.gemm(x, "fc", 8 * 10 * 8, 10, output="logits"), shape=[1, 10])
    return g.build()


# ---------------------------------------------------------------------------
# Invalid / unsupported inputs
# ---------------------------------------------------------------------------


def _lstm_model(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("lstm", seed)
    g.input("x", [5, 1, 8])  # [seq, batch, input]
    hidden = 16
    w = g.initializer("lstm.W", g.small_normal([1, 4 * hidden, 8], 0.3))
    r = g.initializer("lstm.R", g.small_normal([1, 4 * hidden, hidden], 0.3))
    g.output(g.node("LSTM", ["x", w, r], "my_lstm", ["out"], hidden_size=hidden))
    return g.build()


def _conv_same_model(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("conv_same", seed)
    g.input("x", CONV_INPUT)
    w = g.initializer("conv_same.weight", g.he_normal([8, 4, 3, 3], 36))
    g.output(
        g.node(
            "Conv",
            ["x", w],
            "conv_same",
            ["out"],
            kernel_shape=[3, 3],
            auto_pad="SAME_UPPER",
        )
    )
    return g.build()


def _pad_reflect_model() -> onnx.ModelProto:
    g = GraphBuilder("pad_reflect")
    g.input("x", CONV_INPUT)
    pads = g.initializer("pads", _i64([0, 0, 1, 1, 0, 0, 1, 1]))
    g.output(g.node("Pad", ["x", pads], "pad_reflect", ["out"], mode="reflect"))
    return g.build()


def _dynamic_batch_model(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("dynamic_shape", seed)
    g.input("x", ["N", 4, 8, 8])
    y = g.conv("x", "conv", 4, 8, 3)
    g.output(g.node("Relu", [y], "relu", ["out"]))
    return g.build()


def _gemm_trans_a_model(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("gemm_transa", seed)
    g.input("x", [8, 2])
    w = g.initializer("gemm.weight", g.he_normal([16, 8], 8))
    g.output(g.node("Gemm", ["x", w], "gemm_transa", ["out"], transA=1, transB=1))
    return g.build()


def _runtime_exponent_model() -> onnx.ModelProto:
    g = GraphBuilder("pow_runtime")
    g.input("x", CONV_INPUT)
    g.input("y", [1])
    g.output(g.node("Pow", ["x", "y"], "pow_runtime", ["out"]))
    return g.build()


def _conv1d_model(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("conv1d", seed)
    g.input("x", [1, 4, 16])
    w = g.initializer("conv1d.weight", g.he_normal([8, 4, 3], 12))
    g.output(g.node("Conv", ["x", w], "conv1d", ["out"]))
    return g.build()


def _int_input_model() -> onnx.ModelProto:
    g = GraphBuilder("int_input")
    g.input("ids", [1, 8], TensorProto.INT64)
    g.output(g.node("Cast", ["ids"], "cast", ["out"], to=TensorProto.FLOAT))
    return g.build()


def _custom_domain_model() -> onnx.ModelProto:
    """Not checkable by onnx (unknown domain), so built by hand."""
    node = helper.make_node("FusedConv", ["x"], ["out"], name="fused", domain="com.microsoft")
    graph = helper.make_graph(
        [node], "custom_domain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, CONV_INPUT)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
    )
    return helper.make_model(
        graph, producer_name=PRODUCER, ir_version=IR_VERSION,
        opset_imports=[helper.make_opsetid("", DEFAULT_OPSET), helper.make_opsetid("com.microsoft", 1)],
    )


def _old_opset_model() -> onnx.ModelProto:
    g = GraphBuilder("old_opset")
    g.input("x", CONV_INPUT)
    g.output(g.node("Relu", ["x"], "relu", ["out"]))
    return g.build(opset=6)


def bad_models() -> dict[str, bytes]:
    """Raw bytes of inputs the frontend must reject with a clear diagnostic.

    "truncated" and "not_onnx" do not parse; the others are valid ONNX (they
    pass the checker and run in onnxruntime) that hago does not support.
    """
    valid = resnet_style_cnn().SerializeToString()
    return {
        "truncated": valid[: len(valid) // 2],
        "not_onnx": b"hello this is not onnx",
        # LSTM node "my_lstm"
        "unsupported_op": _lstm_model().SerializeToString(),
        # Pad "pad_reflect" with mode=reflect
        "unsupported_attr": _pad_reflect_model().SerializeToString(),
        # Gemm "gemm_transa" with transA=1
        "unsupported_attr_gemm": _gemm_trans_a_model().SerializeToString(),
        # Pow "pow_runtime" whose exponent is a graph input
        "runtime_exponent": _runtime_exponent_model().SerializeToString(),
        # 1-D Conv "conv1d"
        "conv1d": _conv1d_model().SerializeToString(),
        # int64 graph input "ids"
        "int_input": _int_input_model().SerializeToString(),
        # a node "fused" of domain com.microsoft
        "custom_domain": _custom_domain_model().SerializeToString(),
        # opset 6
        "old_opset": _old_opset_model().SerializeToString(),
        # input "x" of shape ["N", 4, 8, 8]
        "dynamic_shape": _dynamic_batch_model().SerializeToString(),
    }


# ---------------------------------------------------------------------------
# Registry and reference execution
# ---------------------------------------------------------------------------

NETWORKS: dict[str, Callable[[], onnx.ModelProto]] = {
    "resnet": resnet_style_cnn,
    "mobilenetv2": mobilenetv2_style_cnn,
    "transformer": transformer_encoder_block,
    "pad_chain": torch_pad_chain_model,
}


def all_models() -> dict[str, onnx.ModelProto]:
    """Every valid model: the single-op models plus the networks."""
    return {**single_op_models(), **{name: build() for name, build in NETWORKS.items()}}


def random_inputs(model: onnx.ModelProto, seed: int = 0) -> dict[str, np.ndarray]:
    """Standard-normal inputs keyed by graph input name; symbolic dims become 1."""
    rng = np.random.default_rng(seed)
    initializer_names = {t.name for t in model.graph.initializer}
    inputs = {}
    for vi in model.graph.input:
        if vi.name in initializer_names:
            continue
        tensor_type = vi.type.tensor_type
        shape = [
            d.dim_value if d.HasField("dim_value") else 1 for d in tensor_type.shape.dim
        ]
        dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        inputs[vi.name] = rng.standard_normal(shape).astype(dtype)
    return inputs


def run_onnxruntime(
    model: onnx.ModelProto, inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Runs the model on onnxruntime's CPU provider; returns outputs by name."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))


def ceil_mode_pools_cnn(seed: int = 0, average_ceil: bool = True) -> onnx.ModelProto:
    """input [1,2,9,9] -> conv3x3 -> ReLU -> MaxPool(ceil) [5x5] -> AveragePool(
    count_include_pad, padded; ceil with `average_ceil`) [3x3] -> ReduceMean(keepdims)
    over H, W: [1,4,1,1].

    Boolean attributes set to 1: a writer that spells them -1 (how an i1
    attribute holds true) gets floor rounding and dropped dims from onnxruntime.
    (An integer average pool needs every window to count the same elements:
    no ceil there for models that are realized.)
    """
    g = GraphBuilder("ceil_mode_pools_cnn", seed)
    x = g.input("input", [1, 2, 9, 9])
    x = g.relu(g.conv(x, "conv.", 2, 4, 3, pad=1), "relu")
    x = g.node("MaxPool", [x], "maxpool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    x = g.node("AveragePool", [x], "avgpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               ceil_mode=int(average_ceil), count_include_pad=1)
    x = g.node("ReduceMean", [x], "mean", axes=[2, 3], keepdims=1)
    g.output(x)
    return g.build()
