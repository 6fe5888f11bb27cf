"""Export of a realized (qnn) module as an ONNX QDQ model, for other runtimes.

After hago-realize; `hago-opt realized.mlir -t onnx -o model.qdq.onnx` writes it.
The QDQ form is a float graph in which every integer edge is spelled
QuantizeLinear -> (int tensor) -> DequantizeLinear, and integer weights and
biases are integer initializers behind a DequantizeLinear; onnxruntime
recognizes the pattern (Q/DQ around Conv, Gemm, Add, ...) and runs the
integer kernels. Scales are hago's, zero points are always 0, so for a
symmetric spec (cuda-dp4a: int8 only) the model is in the explicit-quantization
form TensorRT takes.

What QDQ cannot say, and how it is approximated:
- effective bits below the container (6 bits in int8): a Clip to
  [qmin x scale, qmax x scale] after the DequantizeLinear;
- 32- and 24-bit edges (no such QuantizeLinear): Div, Round, Clip, Mul in float;
- accumulator overflow (int16 wrap): not modelled; the runtime sums in int32,
  so the export matches the integer reference only where the searched bits
  keep the sums in range (which is what the search looks for);
- requantize's fixed-point multiplier: the runtime uses the float scale ratio.
- onnxruntime's `DoubleQDQPairsRemover` optimization merges back-to-back
  requantizations (Q -> DQ -> Q -> DQ, e.g. an edge re-quantized to fewer bits
  for a ReLU's consumer) into one pair, which drops the second rounding; run
  the model with it disabled (`onnxruntime_session` does, and also disables
  QDQPropagationTransformer, which can make onnxruntime 1.32 reject a model).
Run that way, the export matches the integer reference interpreter within one
quantization step per edge (test/pytest/test_realize.py measures it).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness
from xdsl.ir import Operation, SSAValue

from hago_ir.dialects import qnn, qsim
from hago_ir.dialects.qsim import ints, shape_of
from hago_ir.errors import HagoError
from hago_ir.integer_interpreter import constant_integers
from hago_ir.model_io import find_function, input_names, output_names

OPSET = 21  # int16 QuantizeLinear / DequantizeLinear
_QDQ_TYPES = {
    (8, True): (TensorProto.INT8, np.int8), (8, False): (TensorProto.UINT8, np.uint8),
    (16, True): (TensorProto.INT16, np.int16), (16, False): (TensorProto.UINT16, np.uint16),
}


class _Exporter:
    def __init__(self, function: func.FuncOp) -> None:
        self.function = function
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.real: dict[SSAValue, str] = {}  # value -> name of the float tensor of its real value
        self.scales: dict[SSAValue, np.ndarray] = {}
        self.counter = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def initializer(self, array: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def node(self, op_type: str, inputs: list[str], hint: str, **attributes) -> str:
        output = self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def name_of(self, value: SSAValue) -> str:
        return (value.name_hint or "v").replace(".", "_")

    # ------------------------------------------------------------ integer edges
    def quantize_real(self, real: str, scale: np.ndarray, axis: int | None, type_: IntegerType,
                      qmin: int, qmax: int, hint: str) -> str:
        """QuantizeLinear(+Clip) -> DequantizeLinear of a float tensor; returns the DQ output."""
        width = type_.width.data
        signed = type_.signedness.data != Signedness.UNSIGNED
        scale = np.asarray(scale, dtype=np.float32).reshape(-1)
        scale_name = self.initializer(scale if scale.size > 1 else scale.reshape(()), f"{hint}_scale")
        low, high = qnn.type_range(type_)
        if (width, signed) in _QDQ_TYPES:
            numpy_type = _QDQ_TYPES[(width, signed)][1]
            zero = self.initializer(np.zeros(scale.shape if scale.size > 1 else (), dtype=numpy_type), f"{hint}_zero")
            attrs = {"axis": axis} if scale.size > 1 and axis is not None else {}
            quantized = self.node("QuantizeLinear", [real, scale_name, zero], f"{hint}_q", **attrs)
            result = self.node("DequantizeLinear", [quantized, scale_name, zero], f"{hint}_dq", **attrs)
        else:
            scaled = self.node("Div", [real, scale_name], f"{hint}_div")
            rounded = self.node("Round", [scaled], f"{hint}_round")
            result = self.node("Mul", [rounded, scale_name], f"{hint}_dq")
        if (qmin, qmax) != (low, high) or (width, signed) not in _QDQ_TYPES:
            # Fewer effective bits than the container: clip the dequantized values
            # (after the DQ, where onnxruntime's QDQ fusions leave it alone).
            if scale.size > 1:
                raise HagoError(f"{hint}: a per-channel clipped edge cannot be exported to QDQ")
            bounds = [self.initializer(np.array(v * float(scale[0]), dtype=np.float32), f"{hint}_bound")
                      for v in (qmin, qmax)]
            result = self.node("Clip", [result, *bounds], f"{hint}_clip")
        return result

    def integer_constant(self, op: qnn.ConstantOp) -> str:
        type_ = qnn.element_type(op.output)
        assert isinstance(type_, IntegerType)
        integers = constant_integers(op)
        scale = np.array(qnn.scale_values(op.scale), dtype=np.float32)
        axis = op.axis.value.data if op.axis is not None else None
        key = (type_.width.data, type_.signedness.data != Signedness.UNSIGNED)
        hint = self.name_of(op.output)
        if key == (32, True):
            # Biases: int32 initializers behind a DequantizeLinear (what QDQ Conv / Gemm expect).
            data = self.initializer(integers.astype(np.int32), hint)
            zero = self.initializer(np.zeros(scale.shape if scale.size > 1 else (), np.int32), f"{hint}_zero")
        elif key in _QDQ_TYPES:
            data = self.initializer(integers.astype(_QDQ_TYPES[key][1]), hint)
            zero = self.initializer(np.zeros(scale.shape if scale.size > 1 else (), _QDQ_TYPES[key][1]), f"{hint}_zero")
        else:
            return self.initializer((integers * scale.reshape(
                [-1 if i == (axis or 0) else 1 for i in range(integers.ndim)] if scale.size > 1 else ()
            )).astype(np.float32), hint)
        scale_name = self.initializer(scale if scale.size > 1 else scale.reshape(()), f"{hint}_scale")
        attrs = {"axis": axis} if scale.size > 1 and axis is not None else {}
        return self.node("DequantizeLinear", [data, scale_name, zero], f"{hint}_dq", **attrs)

    # ------------------------------------------------------------ the walk
    def run(self) -> onnx.ModelProto:
        block = self.function.body.block
        graph_inputs = []
        for name, arg in zip(input_names(self.function), block.args):
            self.real[arg] = name
            graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape_of(arg))))
        graph_outputs = []
        for op in block.ops:
            if isinstance(op, func.ReturnOp):
                for name, value in zip(output_names(self.function), op.operands):
                    self.nodes.append(helper.make_node("Identity", [self.real[value]], [name], name=f"{name}_out"))
                    graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape_of(value))))
                break
            self.real[op.results[0]] = self.export(op)
        graph = helper.make_graph(self.nodes, "hago_qdq", graph_inputs, graph_outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hago")
        model.ir_version = 10
        onnx.checker.check_model(model)
        return model

    def export(self, op: Operation) -> str:
        hint = self.name_of(op.results[0])
        r = lambda v: self.real[v]  # noqa: E731 - the real-value tensor of an operand
        if isinstance(op, qnn.ConstantOp):
            return self.integer_constant(op)
        if isinstance(op, qsim.ConstantOp):
            return self.initializer(op.to_array().astype(np.float32), hint)
        if isinstance(op, qnn.QuantizeOp):
            return self.quantize_real(r(op.input), np.array(qnn.scale_values(op.scale)),
                                      op.axis.value.data if op.axis else None, qnn.element_type(op.output),
                                      op.qmin.value.data, op.qmax.value.data, hint)
        if isinstance(op, qnn.RequantizeOp):
            return self.quantize_real(r(op.input), np.array(qnn.scale_values(op.output_scale)), None,
                                      qnn.element_type(op.output), op.qmin.value.data, op.qmax.value.data, hint)
        if isinstance(op, qnn.AddOp):
            total = self.node("Add", [r(op.lhs), r(op.rhs)], f"{hint}_sum")
            return self.quantize_real(total, np.array(qnn.scale_values(op.output_scale)), None,
                                      qnn.element_type(op.output), op.qmin.value.data, op.qmax.value.data, hint)
        if isinstance(op, qnn.DequantizeOp):
            return r(op.input)
        if isinstance(op, qnn.ClipOp):
            scale = self._scale_of(op.input)
            bounds = [self.initializer(np.array(v * scale, dtype=np.float32), f"{hint}_bound")
                      for v in (op.min.value.data, op.max.value.data)]
            return self.node("Clip", [r(op.input), *bounds], hint)
        if isinstance(op, (qnn.Conv2dOp, qsim.Conv2dOp)):
            pads = ints(op.pads)
            inputs = [r(op.input), r(op.weight)] + ([r(op.bias)] if op.bias is not None else [])
            return self.node("Conv", inputs, hint, strides=list(ints(op.strides)),
                             pads=[pads[0], pads[1], pads[2], pads[3]], dilations=list(ints(op.dilations)),
                             group=op.groups.value.data)
        if isinstance(op, (qnn.DenseOp, qsim.DenseOp)):
            if len(shape_of(op.input)) == 2:
                inputs = [r(op.input), r(op.weight)] + ([r(op.bias)] if op.bias is not None else [])
                return self.node("Gemm", inputs, hint, transB=1)
            weight = self.node("Transpose", [r(op.weight)], f"{hint}_wt", perm=[1, 0])
            out = self.node("MatMul", [r(op.input), weight], f"{hint}_mm")
            return self.node("Add", [out, r(op.bias)], hint) if op.bias is not None else out
        if isinstance(op, (qnn.GlobalSumPool2dOp, qsim.GlobalAvgPool2dOp)):
            return self.node("GlobalAveragePool", [r(op.input)], hint)
        if isinstance(op, (qnn.SumPool2dOp, qsim.AvgPool2dOp)):
            pads = ints(op.pads)
            include = 1 if isinstance(op, qnn.SumPool2dOp) else int(bool(op.count_include_pad.value.data))
            return self.node("AveragePool", [r(op.input)], hint, kernel_shape=list(ints(op.kernel)),
                             strides=list(ints(op.strides)), pads=[pads[0], pads[1], pads[2], pads[3]],
                             count_include_pad=include)
        if isinstance(op, qsim.MaxPool2dOp):
            pads = ints(op.pads)
            return self.node("MaxPool", [r(op.input)], hint, kernel_shape=list(ints(op.kernel)),
                             strides=list(ints(op.strides)), pads=[pads[0], pads[1], pads[2], pads[3]],
                             dilations=list(ints(op.dilations)), ceil_mode=int(bool(op.ceil_mode.value.data)))
        if isinstance(op, qsim.ReshapeOp):
            shape = self.initializer(np.array([0, *shape_of(op.output)[1:]], dtype=np.int64), f"{hint}_shape")
            return self.node("Reshape", [r(op.input), shape], hint)
        if isinstance(op, qsim.TransposeOp):
            return self.node("Transpose", [r(op.input)], hint, perm=list(ints(op.perm)))
        if isinstance(op, qsim.ConcatOp):
            return self.node("Concat", [r(v) for v in op.inputs], hint, axis=op.axis.value.data)
        if isinstance(op, qsim.PadOp):
            pads = self.initializer(np.array(ints(op.pads), dtype=np.int64), f"{hint}_pads")
            value = self.initializer(np.array(op.value.value.data, dtype=np.float32), f"{hint}_value")
            return self.node("Pad", [r(op.input), pads, value], hint)
        simple = {qsim.AddOp: "Add", qsim.SubOp: "Sub", qsim.MulOp: "Mul", qsim.DivOp: "Div",
                  qsim.MatmulOp: "MatMul", qsim.ReluOp: "Relu", qsim.SigmoidOp: "Sigmoid",
                  qsim.TanhOp: "Tanh", qsim.SqrtOp: "Sqrt", qsim.ErfOp: "Erf"}
        if type(op) in simple:
            return self.node(simple[type(op)], [r(v) for v in op.operands], hint)
        if isinstance(op, qsim.ClipOp):
            bounds = [self.initializer(np.array(float(a.value.data), dtype=np.float32), f"{hint}_bound")
                      for a in (op.min, op.max)]
            return self.node("Clip", [r(op.input), *bounds], hint)
        if isinstance(op, qsim.SoftmaxOp):
            return self.node("Softmax", [r(op.input)], hint, axis=op.axis.value.data)
        if isinstance(op, qsim.ReduceMeanOp):
            axes = self.initializer(np.array(ints(op.axes), dtype=np.int64), f"{hint}_axes")
            return self.node("ReduceMean", [r(op.input), axes], hint, keepdims=int(bool(op.keepdims.value.data)))
        if isinstance(op, qsim.PowOp):
            exponent = self.initializer(np.array(op.exponent.value.data, dtype=np.float32), f"{hint}_exponent")
            return self.node("Pow", [r(op.input), exponent], hint)
        if isinstance(op, qsim.GeluOp):
            return self.node("Gelu", [r(v) for v in op.operands], hint)  # exact (erf) form
        if isinstance(op, qsim.LayerNormOp):
            return self.node("LayerNormalization", [r(v) for v in op.operands], hint,
                             axis=op.axis.value.data, epsilon=op.epsilon.value.data)
        if isinstance(op, qsim.BatchNormOp):
            return self.node("BatchNormalization", [r(v) for v in op.operands], hint, epsilon=op.epsilon.value.data)
        raise HagoError(f"ONNX export does not support {op.name} yet")

    def _scale_of(self, value: SSAValue) -> float:
        owner = value.owner
        if isinstance(owner, (qnn.RequantizeOp,)):
            return qnn.scale_values(owner.output_scale)[0]
        if isinstance(owner, qnn.AddOp):
            return qnn.scale_values(owner.output_scale)[0]
        if isinstance(owner, qnn.QuantizeOp):
            return qnn.scale_values(owner.scale)[0]
        if isinstance(owner, Operation) and owner.operands:
            return self._scale_of(owner.operands[0])
        raise HagoError("cannot tell the scale of a clipped edge")


# DoubleQDQPairsRemover drops back-to-back requantizations (see the module
# docstring). QDQPropagationTransformer adds nothing here (every integer edge
# already has its own Q/DQ on both sides of a reshape) and, combined with
# QDQS8ToU8Transformer, makes onnxruntime 1.32 reject some int8 exports
# ("output_dtype INT8 does not match y_zero_point type UINT8").
ORT_DISABLED_OPTIMIZERS = ("DoubleQDQPairsRemover", "QDQPropagationTransformer")


def onnxruntime_session(model: onnx.ModelProto | bytes | str):
    """An onnxruntime CPU session for a hago export, with the two harmful optimizations disabled."""
    import onnxruntime as ort

    if isinstance(model, onnx.ModelProto):
        model = model.SerializeToString()
    return ort.InferenceSession(
        model, providers=["CPUExecutionProvider"], disabled_optimizers=list(ORT_DISABLED_OPTIMIZERS)
    )


def export_qdq(module: ModuleOp, function: str | None = None) -> onnx.ModelProto:
    """The realized module as an ONNX QDQ model (see the module docstring)."""
    return _Exporter(find_function(module, function)).run()
