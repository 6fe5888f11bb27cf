"""ONNX frontend: an `onnx.ModelProto` becomes a qsim module.

The first stage of the pipeline. The module has one function, @main, whose
arguments and results are the graph's inputs and outputs (with their ONNX names
as `qsim.name` attributes); initializers become named `qsim.constant` ops.

Anything computable at import time is computed at import time: a node whose
inputs are all constants is evaluated with onnx's reference evaluator, and
`Shape` of a (static) tensor is a constant. That folds away the shape-op chains
that torch's exporter puts in front of Pad and Reshape. What remains must map to
a qsim op, otherwise the import fails with one diagnostic naming the node.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, ClassVar

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DictionaryAttr,
    FunctionType,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.frontend import Frontend

from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import IO_NAME_ATTR, float_attr, int_array, int_attr
from hago_ir.errors import HagoError

SUPPORTED_OPSETS = range(7, 23)

# A value during import: a tensor of the graph (an SSA value) or a constant.
Value = SSAValue | np.ndarray

_FLOAT_TYPES = {onnx.TensorProto.FLOAT}


class UnsupportedNode(HagoError):
    """A node that cannot be imported; the importer adds the node's name and op."""


def _unsupported(message: str) -> UnsupportedNode:
    return UnsupportedNode(message)


@dataclass
class _Node:
    """An ONNX node with its attributes decoded and the importer's values bound."""

    proto: onnx.NodeProto
    inputs: list[Value | None]
    attributes: dict[str, Any]
    opset: int

    @property
    def label(self) -> str:
        name = self.proto.name or (self.proto.output[0] if self.proto.output else "?")
        return f"node '{name}' ({self.proto.op_type})"

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attributes.get(name, default)

    def tensor(self, index: int) -> SSAValue:
        value = self.inputs[index] if index < len(self.inputs) else None
        if not isinstance(value, SSAValue):
            raise AssertionError("materialize constants before asking for a tensor")
        return value

    def constant(self, index: int, what: str) -> np.ndarray | None:
        """Input `index` as a constant array; None if the optional input is absent."""
        if index >= len(self.inputs) or self.inputs[index] is None:
            return None
        value = self.inputs[index]
        if not isinstance(value, np.ndarray):
            raise _unsupported(f"its {what} (input {index}) must be a constant, not computed at run time")
        return value


def _shape_of(value: Value) -> tuple[int, ...]:
    if isinstance(value, np.ndarray):
        return tuple(value.shape)
    return qsim.shape_of(value)


class OnnxImporter:
    """Builds the qsim module for one ONNX model; see the module docstring."""

    # Attributes each converter understands; any other attribute is an error,
    # so that nothing the model asks for is silently ignored.
    KNOWN_ATTRIBUTES: ClassVar[dict[str, set[str]]] = {
        "Conv": {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"},
        "Gemm": {"alpha", "beta", "transA", "transB"},
        "MaxPool": {"kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad", "storage_order"},
        "AveragePool": {"kernel_shape", "strides", "pads", "ceil_mode", "auto_pad", "count_include_pad", "dilations"},
        "Clip": {"min", "max"},
        "Concat": {"axis"},
        "Reshape": {"allowzero"},
        "Flatten": {"axis"},
        "Squeeze": {"axes"},
        "Unsqueeze": {"axes"},
        "Transpose": {"perm"},
        "Pad": {"mode", "pads", "value"},
        "Softmax": {"axis"},
        "ReduceMean": {"axes", "keepdims", "noop_with_empty_axes"},
        "BatchNormalization": {"epsilon", "momentum", "training_mode", "spatial"},
        "LayerNormalization": {"axis", "epsilon", "stash_type"},
        "Gelu": {"approximate"},
        "Dropout": {"ratio", "seed"},
        "Cast": {"to", "saturate", "round_mode"},
    }

    def __init__(self, model: onnx.ModelProto, source: str = "<model>"):
        self.model = model
        self.source = source
        self.opset = self._default_opset()
        self.values: dict[str, Value] = {}
        self.block: Block | None = None
        self._materialized: dict[str, SSAValue] = {}

    # ---------------------------------------------------------------- driver

    def import_model(self) -> ModuleOp:
        graph = self.model.graph
        if not graph.node and not graph.output:
            raise HagoError(f"{self.source}: the ONNX model has an empty graph")
        for initializer in graph.initializer:
            self.values[initializer.name] = numpy_helper.to_array(initializer)
        arg_types, arg_names = self._graph_inputs()
        self.block = Block(arg_types=arg_types)
        for arg, name in zip(self.block.args, arg_names):
            arg.name_hint = qsim.ssa_name_hint(name)
            self.values[name] = arg
        for node in graph.node:
            self._import_node(node)
        results, result_names = [], []
        for output in graph.output:
            if output.name not in self.values:
                raise HagoError(f"{self.source}: graph output '{output.name}' is never computed")
            results.append(self._as_tensor(self.values[output.name], output.name))
            result_names.append(output.name)
        self.block.add_op(func.ReturnOp(*results))
        function = func.FuncOp(
            "main",
            FunctionType.from_lists(arg_types, [r.type for r in results]),
            Region(self.block),
            arg_attrs=ArrayAttr([DictionaryAttr({IO_NAME_ATTR: StringAttr(n)}) for n in arg_names]),
            res_attrs=ArrayAttr([DictionaryAttr({IO_NAME_ATTR: StringAttr(n)}) for n in result_names]),
        )
        return ModuleOp([function])

    def _default_opset(self) -> int:
        versions = {entry.domain: entry.version for entry in self.model.opset_import}
        version = versions.get("", versions.get("ai.onnx"))
        if version is None:
            raise HagoError(f"{self.source}: the model imports no version of the default ONNX opset")
        if version not in SUPPORTED_OPSETS:
            raise HagoError(
                f"{self.source}: ONNX opset {version} is not supported "
                f"(supported: {SUPPORTED_OPSETS.start}..{SUPPORTED_OPSETS.stop - 1})"
            )
        return version

    def _graph_inputs(self) -> tuple[list[Any], list[str]]:
        types, names = [], []
        initializers = {init.name for init in self.model.graph.initializer}
        for graph_input in self.model.graph.input:
            if graph_input.name in initializers:  # IR < 4 lists weights as inputs too
                continue
            tensor = graph_input.type.tensor_type
            if not graph_input.type.HasField("tensor_type"):
                raise HagoError(f"{self.source}: model input '{graph_input.name}' is not a tensor")
            if tensor.elem_type not in _FLOAT_TYPES:
                element = onnx.TensorProto.DataType.Name(tensor.elem_type)
                raise HagoError(
                    f"{self.source}: model input '{graph_input.name}' has element type {element}; "
                    "only float32 model inputs are supported"
                )
            shape = []
            for index, dim in enumerate(tensor.shape.dim):
                if not dim.HasField("dim_value") or dim.dim_value <= 0:
                    symbol = dim.dim_param or "?"
                    raise HagoError(
                        f"{self.source}: model input '{graph_input.name}' has a dynamic dimension "
                        f"'{symbol}' (dim {index}); hago needs static shapes: export the model "
                        "with a fixed input shape (e.g. batch 1)"
                    )
                shape.append(dim.dim_value)
            types.append(qsim.tensor_type(shape))
            names.append(graph_input.name)
        return types, names

    def _import_node(self, proto: onnx.NodeProto) -> None:
        node = _Node(proto, [], {}, self.opset)
        try:
            if proto.domain not in ("", "ai.onnx"):
                raise _unsupported(f"operators of domain '{proto.domain}' are not supported")
            node.inputs = [self._lookup(name, node) if name else None for name in proto.input]
            node.attributes = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
            outputs = self._convert(node)
        except UnsupportedNode as error:
            raise HagoError(f"{self.source}: {node.label}: {error}") from None
        except VerifyException as error:
            raise HagoError(f"{self.source}: {node.label}: {error}") from None
        for name, value in zip(proto.output, outputs):
            if not name:
                continue
            if isinstance(value, SSAValue) and value.name_hint is None:
                value.name_hint = qsim.ssa_name_hint(name)
            self.values[name] = value

    def _lookup(self, name: str, node: _Node) -> Value:
        if name not in self.values:
            raise _unsupported(f"input '{name}' is not produced by any earlier node")
        return self.values[name]

    def _convert(self, node: _Node) -> Sequence[Value | None]:
        op_type = node.proto.op_type
        if op_type == "Constant":
            return [self._constant_node(node)]
        if op_type == "Shape":
            return [self._shape_node(node)]
        if op_type in ("Identity", "Dropout"):
            return [node.inputs[0], None]
        present = [v for v in node.inputs if v is not None]
        if present and all(isinstance(v, np.ndarray) for v in present):
            return self._evaluate_constant(node)
        converter = self._CONVERTERS.get(op_type)
        if converter is None:
            raise _unsupported("unsupported operator")
        known = self.KNOWN_ATTRIBUTES.get(op_type, set())
        for name in node.attributes:
            if name not in known:
                raise _unsupported(f"unsupported attribute '{name}'")
        self._check_used_outputs(node, 1)
        return [converter(self, node)]

    def _check_used_outputs(self, node: _Node, supported: int) -> None:
        extra = [name for name in node.proto.output[supported:] if name]
        if extra and any(self._is_consumed(name) for name in extra):
            raise _unsupported(f"only the first {supported} output(s) can be used, but '{extra[0]}' is")

    def _is_consumed(self, name: str) -> bool:
        graph = self.model.graph
        return any(name in n.input for n in graph.node) or any(o.name == name for o in graph.output)

    # ------------------------------------------------------------ constants

    def _constant_node(self, node: _Node) -> np.ndarray:
        if len(node.attributes) != 1:
            raise _unsupported("expects exactly one value attribute")
        (name, value), = node.attributes.items()
        if name == "value":
            return numpy_helper.to_array(value)
        if name in ("value_float", "value_int"):
            return np.array(value, dtype=np.float32 if name == "value_float" else np.int64)
        if name in ("value_floats", "value_ints"):
            return np.array(value, dtype=np.float32 if name == "value_floats" else np.int64)
        raise _unsupported(f"unsupported attribute '{name}'")

    def _shape_node(self, node: _Node) -> np.ndarray:
        shape = np.array(_shape_of(node.inputs[0]), dtype=np.int64)
        start, end = node.attr("start", 0), node.attr("end", None)
        return shape[start:end]

    def _evaluate_constant(self, node: _Node) -> list[np.ndarray]:
        """Run one node on constant inputs with onnx's reference implementation."""
        from onnx.reference import ReferenceEvaluator

        proto = node.proto
        feeds, graph_inputs = {}, []
        for name, value in zip(proto.input, node.inputs):
            if name and value is not None:
                feeds[name] = value
                graph_inputs.append(
                    helper.make_tensor_value_info(
                        name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape
                    )
                )
        outputs = [helper.make_empty_tensor_value_info(name) for name in proto.output if name]
        graph = helper.make_graph([proto], "fold", graph_inputs, outputs)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", self.opset)], ir_version=self.model.ir_version
        )
        try:
            results = ReferenceEvaluator(model).run(None, feeds)
        except Exception as error:  # the reference evaluator raises many kinds
            raise _unsupported(f"cannot evaluate it on its constant inputs ({error})") from None
        by_name = dict(zip([n for n in proto.output if n], results))
        return [np.asarray(by_name[n]) if n else None for n in proto.output]

    def _as_tensor(self, value: Value | None, name: str) -> SSAValue:
        """An SSA value for `value`: constants become (memoized) qsim.constant ops."""
        assert value is not None
        if isinstance(value, SSAValue):
            return value
        if name in self._materialized:
            return self._materialized[name]
        array = value.astype(np.float32) if value.dtype.kind == "f" else value
        if array.dtype.kind != "f":
            raise _unsupported(f"constant '{name}' of type {value.dtype} is used as a float tensor")
        op = qsim.ConstantOp.from_array(array, name)
        op.output.name_hint = qsim.ssa_name_hint(name)
        self._add(op)
        self._materialized[name] = op.output
        return op.output

    def _input_tensor(self, node: _Node, index: int) -> SSAValue:
        return self._as_tensor(node.inputs[index], node.proto.input[index])

    def _add(self, op: Operation) -> SSAValue:
        assert self.block is not None
        self.block.add_op(op)
        return op.results[0]

    # ------------------------------------------------------------ converters

    def _window_pads(self, node: _Node, input_shape: Sequence[int], kernel: Sequence[int],
                     strides: Sequence[int], dilations: Sequence[int]) -> list[int]:
        """[top, left, bottom, right] from ONNX pads or auto_pad."""
        auto_pad = node.attr("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad in ("NOTSET", ""):
            pads = list(node.attr("pads", [0] * 2 * len(kernel)))
            if len(pads) != 4:
                raise _unsupported(f"pads {pads} is not 2-D")
            return [pads[0], pads[1], pads[2], pads[3]]
        if auto_pad == "VALID":
            return [0, 0, 0, 0]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            begins, ends = [], []
            for size, k, s, d in zip(input_shape[2:], kernel, strides, dilations):
                out = -(-size // s)
                total = max(0, (out - 1) * s + d * (k - 1) + 1 - size)
                small, large = total // 2, total - total // 2
                begins.append(small if auto_pad == "SAME_UPPER" else large)
                ends.append(large if auto_pad == "SAME_UPPER" else small)
            return [begins[0], begins[1], ends[0], ends[1]]
        raise _unsupported(f"unsupported attribute auto_pad='{auto_pad}'")

    def _conv(self, node: _Node) -> SSAValue:
        x = self._input_tensor(node, 0)
        weight = self._input_tensor(node, 1)
        if len(qsim.shape_of(x)) != 4:
            raise _unsupported(f"only 2-D convolution is supported (input rank {len(qsim.shape_of(x))})")
        kernel = list(qsim.shape_of(weight)[2:])
        if node.attr("kernel_shape") is not None and list(node.attr("kernel_shape")) != kernel:
            raise _unsupported(f"kernel_shape {node.attr('kernel_shape')} does not match the weight {kernel}")
        strides = list(node.attr("strides", [1, 1]))
        dilations = list(node.attr("dilations", [1, 1]))
        pads = self._window_pads(node, qsim.shape_of(x), kernel, strides, dilations)
        bias = self._input_tensor(node, 2) if len(node.inputs) > 2 and node.inputs[2] is not None else None
        return self._add(qsim.Conv2dOp(x, weight, bias, strides, pads, dilations, node.attr("group", 1)))

    def _gemm(self, node: _Node) -> SSAValue:
        if node.attr("transA", 0):
            raise _unsupported("unsupported attribute transA=1")
        alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
        trans_b = bool(node.attr("transB", 0))
        x = self._input_tensor(node, 0)
        c = node.inputs[2] if len(node.inputs) > 2 else None
        b = node.inputs[1]
        if isinstance(b, np.ndarray):
            weight = (b if trans_b else b.T) * np.float32(alpha)
            weight_name = node.proto.input[1] + (".scaled" if alpha != 1.0 else "")
            out_features = weight.shape[0]
            bias = None
            if isinstance(c, np.ndarray) and c.size in (1, out_features) and c.ndim <= 2 and (
                c.ndim < 2 or c.shape[0] == 1
            ):
                bias_array = np.broadcast_to(c.reshape(-1), (out_features,)) * np.float32(beta)
                bias = self._as_tensor(np.ascontiguousarray(bias_array, dtype=np.float32), node.proto.input[2])
                c = None
            out = self._add(qsim.DenseOp(x, self._as_tensor(np.ascontiguousarray(weight), weight_name), bias))
        else:
            rhs = self._input_tensor(node, 1)
            if trans_b:
                rhs = self._add(qsim.TransposeOp(operands=[rhs], result_types=[
                    qsim.tensor_type(qsim.shape_of(rhs)[::-1])], properties={"perm": int_array([1, 0])}))
            out = self._add(qsim.MatmulOp(x, rhs))
            if alpha != 1.0:
                out = self._add(qsim.MulOp(out, self._as_tensor(np.array(alpha, np.float32), f"{node.proto.output[0]}.alpha")))
        if c is not None:
            c_tensor = self._input_tensor(node, 2)
            if beta != 1.0:
                c_tensor = self._add(qsim.MulOp(c_tensor, self._as_tensor(np.array(beta, np.float32), f"{node.proto.output[0]}.beta")))
            out = self._add(qsim.AddOp(out, c_tensor))
        return out

    def _matmul(self, node: _Node) -> SSAValue:
        rhs = node.inputs[1]
        if isinstance(rhs, np.ndarray) and rhs.ndim == 2 and len(_shape_of(node.inputs[0])) >= 2:
            # x @ W with a constant W is a dense layer: the unit that gets quantized.
            weight = np.ascontiguousarray(rhs.T.astype(np.float32))
            return self._add(qsim.DenseOp(self._input_tensor(node, 0),
                                          self._as_tensor(weight, node.proto.input[1] + ".T")))
        return self._add(qsim.MatmulOp(self._input_tensor(node, 0), self._input_tensor(node, 1)))

    def _clip(self, node: _Node) -> SSAValue:
        if self.opset < 11:
            low, high = node.attr("min", -math.inf), node.attr("max", math.inf)
        else:
            low_array, high_array = node.constant(1, "min"), node.constant(2, "max")
            low = -math.inf if low_array is None else float(low_array.reshape(-1)[0])
            high = math.inf if high_array is None else float(high_array.reshape(-1)[0])
        return self._add(qsim.ClipOp(self._input_tensor(node, 0),
                                     {"min": float_attr(low), "max": float_attr(high)}))

    def _pow(self, node: _Node) -> SSAValue:
        exponent = node.constant(1, "exponent")
        if exponent is None or exponent.size != 1:
            raise _unsupported("only a scalar constant exponent is supported")
        return self._add(qsim.PowOp(self._input_tensor(node, 0),
                                    {"exponent": float_attr(float(exponent.reshape(-1)[0]))}))

    def _gelu(self, node: _Node) -> SSAValue:
        approximate = node.attr("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
        if approximate != "none":
            raise _unsupported(f"unsupported attribute approximate='{approximate}'")
        return self._add(qsim.GeluOp(self._input_tensor(node, 0)))

    def _pool(self, node: _Node) -> SSAValue:
        x = self._input_tensor(node, 0)
        if len(qsim.shape_of(x)) != 4:
            raise _unsupported("only 2-D pooling is supported")
        kernel = list(node.attr("kernel_shape", []))
        if len(kernel) != 2:
            raise _unsupported(f"kernel_shape {kernel} is not 2-D")
        strides = list(node.attr("strides", [1, 1]))
        dilations = list(node.attr("dilations", [1, 1]))
        pads = self._window_pads(node, qsim.shape_of(x), kernel, strides, dilations)
        ceil_mode = bool(node.attr("ceil_mode", 0))
        properties = {
            "kernel": int_array(kernel), "strides": int_array(strides), "pads": int_array(pads),
            "ceil_mode": BoolAttr.from_bool(ceil_mode),
        }
        shape = qsim.infer_pool2d(qsim.shape_of(x), tuple(kernel), tuple(strides), tuple(pads),
                                  tuple(dilations), ceil_mode)
        if node.proto.op_type == "MaxPool":
            if node.attr("storage_order", 0):
                raise _unsupported("unsupported attribute storage_order=1")
            self._check_used_outputs(node, 1)
            properties["dilations"] = int_array(dilations)
            return self._add(qsim.MaxPool2dOp(operands=[x], result_types=[qsim.tensor_type(shape)],
                                              properties=properties))
        if dilations != [1, 1]:
            raise _unsupported(f"unsupported attribute dilations={dilations}")
        properties["count_include_pad"] = BoolAttr.from_bool(bool(node.attr("count_include_pad", 0)))
        return self._add(qsim.AvgPool2dOp(operands=[x], result_types=[qsim.tensor_type(shape)],
                                          properties=properties))

    def _global_avg_pool(self, node: _Node) -> SSAValue:
        x = self._input_tensor(node, 0)
        shape = qsim.shape_of(x)
        if len(shape) != 4:
            raise _unsupported("only 2-D pooling is supported")
        return self._add(qsim.GlobalAvgPool2dOp(operands=[x], result_types=[
            qsim.tensor_type((shape[0], shape[1], 1, 1))]))

    def _concat(self, node: _Node) -> SSAValue:
        tensors = [self._input_tensor(node, i) for i in range(len(node.inputs))]
        rank = len(qsim.shape_of(tensors[0]))
        axis = qsim.normalize_axis(node.attr("axis", 0), rank)
        shape = qsim.ConcatOp.infer([qsim.shape_of(t) for t in tensors], axis)
        return self._add(qsim.ConcatOp(operands=[tensors], result_types=[qsim.tensor_type(shape)],
                                       properties={"axis": int_attr(axis)}))

    def _reshape_to(self, node: _Node, shape: Sequence[int]) -> SSAValue:
        x = self._input_tensor(node, 0)
        if math.prod(shape) != math.prod(qsim.shape_of(x)):
            raise _unsupported(f"cannot reshape {list(qsim.shape_of(x))} to {list(shape)}")
        return self._add(qsim.ReshapeOp(operands=[x], result_types=[qsim.tensor_type(shape)]))

    def _reshape(self, node: _Node) -> SSAValue:
        target = node.constant(1, "shape")
        if target is None:
            raise _unsupported("has no shape input")
        input_shape = _shape_of(node.inputs[0])
        shape = [int(d) for d in target.reshape(-1)]
        if not node.attr("allowzero", 0):
            shape = [input_shape[i] if d == 0 else d for i, d in enumerate(shape)]
        if shape.count(-1) > 1:
            raise _unsupported(f"shape {shape} has more than one -1")
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            shape[shape.index(-1)] = math.prod(input_shape) // known if known else 0
        return self._reshape_to(node, shape)

    def _flatten(self, node: _Node) -> SSAValue:
        shape = _shape_of(node.inputs[0])
        axis = node.attr("axis", 1)
        axis = axis + len(shape) if axis < 0 else axis
        return self._reshape_to(node, [math.prod(shape[:axis]), math.prod(shape[axis:])])

    def _axes_operand(self, node: _Node) -> np.ndarray | None:
        """Squeeze/Unsqueeze axes: an attribute before opset 13, an input since."""
        axes = node.attr("axes") if self.opset < 13 else node.constant(1, "axes")
        return None if axes is None else np.asarray(axes, dtype=np.int64).reshape(-1)

    def _squeeze(self, node: _Node) -> SSAValue:
        shape = _shape_of(node.inputs[0])
        raw = self._axes_operand(node)
        if raw is None:
            axes = [i for i, d in enumerate(shape) if d == 1]
        else:
            axes = sorted(int(a) % len(shape) for a in raw)
        if any(shape[a] != 1 for a in axes):
            raise _unsupported(f"cannot squeeze axes {axes} of shape {list(shape)}")
        return self._reshape_to(node, [d for i, d in enumerate(shape) if i not in axes])

    def _unsqueeze(self, node: _Node) -> SSAValue:
        shape = list(_shape_of(node.inputs[0]))
        raw = self._axes_operand(node)
        if raw is None:
            raise _unsupported("has no axes")
        rank = len(shape) + len(raw)
        for axis in sorted(int(a) % rank for a in raw):
            shape.insert(axis, 1)
        return self._reshape_to(node, shape)

    def _transpose(self, node: _Node) -> SSAValue:
        x = self._input_tensor(node, 0)
        shape = qsim.shape_of(x)
        perm = list(node.attr("perm", list(range(len(shape)))[::-1]))
        if sorted(perm) != list(range(len(shape))):
            raise _unsupported(f"perm {perm} is not a permutation of {len(shape)} dimensions")
        return self._add(qsim.TransposeOp(operands=[x], result_types=[
            qsim.tensor_type([shape[p] for p in perm])], properties={"perm": int_array(perm)}))

    def _pad(self, node: _Node) -> SSAValue:
        mode = node.attr("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode != "constant":
            raise _unsupported(f"unsupported attribute mode='{mode}' (only constant padding)")
        x = self._input_tensor(node, 0)
        shape = qsim.shape_of(x)
        rank = len(shape)
        if self.opset < 11:
            pads, value = list(node.attr("pads")), float(node.attr("value", 0.0))
        else:
            pads_array = node.constant(1, "pads")
            if pads_array is None:
                raise _unsupported("has no pads input")
            pads = [int(p) for p in pads_array.reshape(-1)]
            value_array = node.constant(2, "constant_value")
            value = 0.0 if value_array is None or value_array.size == 0 else float(value_array.reshape(-1)[0])
            axes_array = node.constant(3, "axes")
            if axes_array is not None:
                axes = [int(a) % rank for a in axes_array.reshape(-1)]
                full = [0] * (2 * rank)
                for i, axis in enumerate(axes):
                    full[axis], full[axis + rank] = pads[i], pads[i + len(axes)]
                pads = full
        if len(pads) != 2 * rank:
            raise _unsupported(f"pads {pads} must have {2 * rank} entries")
        if min(pads) < 0:
            raise _unsupported(f"negative pads {pads} are not supported")
        out_shape = [d + pads[i] + pads[i + rank] for i, d in enumerate(shape)]
        return self._add(qsim.PadOp(operands=[x], result_types=[qsim.tensor_type(out_shape)],
                                    properties={"pads": int_array(pads), "value": float_attr(value)}))

    def _softmax(self, node: _Node) -> SSAValue:
        x = self._input_tensor(node, 0)
        shape = qsim.shape_of(x)
        rank = len(shape)
        axis = qsim.normalize_axis(node.attr("axis", -1 if self.opset >= 13 else 1), rank)
        if self.opset < 13 and axis != rank - 1:
            # Before opset 13, Softmax flattens to 2-D at `axis` and normalizes the
            # whole trailing block.
            flat = self._add(qsim.ReshapeOp(operands=[x], result_types=[
                qsim.tensor_type([math.prod(shape[:axis]), math.prod(shape[axis:])])]))
            soft = self._add(qsim.SoftmaxOp(flat, {"axis": int_attr(1)}))
            return self._add(qsim.ReshapeOp(operands=[soft], result_types=[qsim.tensor_type(shape)]))
        return self._add(qsim.SoftmaxOp(x, {"axis": int_attr(axis)}))

    def _reduce_mean(self, node: _Node) -> SSAValue:
        x = self._input_tensor(node, 0)
        shape = qsim.shape_of(x)
        if self.opset < 18:
            axes = node.attr("axes")
        else:
            axes = node.constant(1, "axes")
            if node.attr("noop_with_empty_axes", 0) and (axes is None or np.asarray(axes).size == 0):
                return x
        if axes is None or np.asarray(axes).size == 0:
            axes = list(range(len(shape)))
        axes = sorted(int(a) % len(shape) for a in np.asarray(axes).reshape(-1))
        keepdims = bool(node.attr("keepdims", 1))
        out_shape = qsim.ReduceMeanOp.infer(shape, tuple(axes), keepdims)
        return self._add(qsim.ReduceMeanOp(operands=[x], result_types=[qsim.tensor_type(out_shape)],
                                           properties={"axes": int_array(axes),
                                                       "keepdims": BoolAttr.from_bool(keepdims)}))

    def _batch_norm(self, node: _Node) -> SSAValue:
        if node.attr("training_mode", 0):
            raise _unsupported("unsupported attribute training_mode=1 (inference only)")
        self._check_used_outputs(node, 1)
        operands = [self._input_tensor(node, i) for i in range(5)]
        return self._add(qsim.BatchNormOp(operands=operands, result_types=[operands[0].type],
                                          properties={"epsilon": float_attr(node.attr("epsilon", 1e-5))}))

    def _layer_norm(self, node: _Node) -> SSAValue:
        self._check_used_outputs(node, 1)
        x = self._input_tensor(node, 0)
        axis = qsim.normalize_axis(node.attr("axis", -1), len(qsim.shape_of(x)))
        operands = [x, self._input_tensor(node, 1)]
        if len(node.inputs) > 2 and node.inputs[2] is not None:
            operands.append(self._input_tensor(node, 2))
        return self._add(qsim.LayerNormOp(operands=operands, result_types=[x.type], properties={
            "axis": int_attr(axis), "epsilon": float_attr(node.attr("epsilon", 1e-5))}))

    def _cast(self, node: _Node) -> SSAValue:
        if node.attr("to") != onnx.TensorProto.FLOAT:
            target = onnx.TensorProto.DataType.Name(node.attr("to"))
            raise _unsupported(f"casting a run-time tensor to {target} is not supported")
        return self._input_tensor(node, 0)

    _CONVERTERS: ClassVar[dict[str, Callable[[OnnxImporter, _Node], SSAValue]]] = {}


def _binary(op_class: type[qsim._BinaryElementwise]) -> Callable[[OnnxImporter, _Node], SSAValue]:
    """A converter for an elementwise ONNX op with two (broadcast) inputs."""

    def convert(importer: OnnxImporter, node: _Node) -> SSAValue:
        return importer._add(op_class(importer._input_tensor(node, 0), importer._input_tensor(node, 1)))

    return convert


def _unary(op_class: type[qsim._UnaryElementwise]) -> Callable[[OnnxImporter, _Node], SSAValue]:
    """A converter for an elementwise ONNX op with one input and no attributes."""

    def convert(importer: OnnxImporter, node: _Node) -> SSAValue:
        return importer._add(op_class(importer._input_tensor(node, 0)))

    return convert


OnnxImporter._CONVERTERS.update({
    "Conv": OnnxImporter._conv,
    "Gemm": OnnxImporter._gemm,
    "MatMul": OnnxImporter._matmul,
    "Add": _binary(qsim.AddOp),
    "Sub": _binary(qsim.SubOp),
    "Mul": _binary(qsim.MulOp),
    "Div": _binary(qsim.DivOp),
    "Relu": _unary(qsim.ReluOp),
    "Sigmoid": _unary(qsim.SigmoidOp),
    "Tanh": _unary(qsim.TanhOp),
    "Sqrt": _unary(qsim.SqrtOp),
    "Erf": _unary(qsim.ErfOp),
    "Gelu": OnnxImporter._gelu,
    "Clip": OnnxImporter._clip,
    "Pow": OnnxImporter._pow,
    "MaxPool": OnnxImporter._pool,
    "AveragePool": OnnxImporter._pool,
    "GlobalAveragePool": OnnxImporter._global_avg_pool,
    "Concat": OnnxImporter._concat,
    "Reshape": OnnxImporter._reshape,
    "Flatten": OnnxImporter._flatten,
    "Squeeze": OnnxImporter._squeeze,
    "Unsqueeze": OnnxImporter._unsqueeze,
    "Transpose": OnnxImporter._transpose,
    "Pad": OnnxImporter._pad,
    "Softmax": OnnxImporter._softmax,
    "ReduceMean": OnnxImporter._reduce_mean,
    "BatchNormalization": OnnxImporter._batch_norm,
    "LayerNormalization": OnnxImporter._layer_norm,
    "Cast": OnnxImporter._cast,
})


def load_onnx_bytes(data: bytes, source: str) -> onnx.ModelProto:
    """Parse serialized ONNX, with one clean error for anything that is not ONNX."""
    if not data:
        raise HagoError(f"{source}: the file is empty, not an ONNX model")
    try:
        model = onnx.load_from_string(data)
    except Exception as error:  # protobuf's DecodeError and friends
        raise HagoError(f"{source}: not a valid ONNX model ({type(error).__name__}: {error})") from None
    if not model.HasField("graph"):
        raise HagoError(f"{source}: not a valid ONNX model (no graph)")
    return model


def import_onnx(model: onnx.ModelProto | str, source: str | None = None) -> ModuleOp:
    """Import an ONNX model (a ModelProto or a path) as a verified qsim module."""
    if isinstance(model, str):
        source = source or model
        try:
            with open(model, "rb") as handle:
                model = load_onnx_bytes(handle.read(), source)
        except OSError as error:
            raise HagoError(f"{source}: cannot read ({error.strerror})") from None
    module = OnnxImporter(model, source or "<model>").import_model()
    module.verify()
    return module


@dataclass(frozen=True)
class OnnxFrontend(Frontend):
    """`hago-opt model.onnx`: the `.onnx` file extension's frontend."""

    name = "onnx"

    def parse(self, ctx: Context, input: IO[bytes], input_name: str) -> ModuleOp:
        model = load_onnx_bytes(input.read(), input_name)
        return import_onnx(model, input_name)
