"""Emission of a realized (qnn) module as a TVM Relax IRModule.

After hago-realize / hago-check-legal; `hago-opt ... -t relax` prints the
result as TVMScript and `to_relax` returns it to Python. Relay and its QNN
dialect are gone from the TVM releases we can install; Relax is their
successor, so every qnn op is spelled in plain Relax ops with explicit dtypes:
- `qnn.conv2d` / `qnn.dense`: `nn.conv2d` / `matmul` with `out_dtype` = the
  accumulator (int16 for `arm-a72-i16`: the sums wrap exactly as the hardware's);
  saturating or odd-width (24-bit) accumulators are computed in int32 / int64
  and then clipped or sign-wrapped to their width;
- `qnn.requantize`: int64 `multiply`, the round-half-to-even `right_shift`
  sequence of hago_ir.numerics.rounding_right_shift, `clip`, `astype`
  (float64 where that is exact); one with float32 multipliers: float32
  `multiply`, `round`, `clip`, `astype`;
- `qnn.quantize` / `qnn.dequantize`: in float64 (a quantize with
  `float_scale`: float32), as the integer interpreter, so that the integer
  outputs are bit-exact with it;
- data movement (reshape, transpose, pad, concat, max_pool2d) on integers as is;
- for VNNI targets (`vnni=True`), u8 x s8 -> i32 conv2d calls the
  hand-scheduled, `vpdpbusd`-tensorized kernel of hago_ir.vnni_kernels
  (NHWC activations, weights packed at build time);
- for CUDA (`dp4a=True`), s8 x s8 -> i32 conv2d and dense call the
  `dp4a` kernel of hago_ir.dp4a_kernels (same layouts);
- for int16 accumulators (`int16=True`: aarch64, x86), s8 x s8 -> i16
  conv2d and dense call the kernel of hago_ir.int16_kernels (`smlal` on
  aarch64; NHWC too).
Float ops left in the model (softmax, ...) are emitted in float32 and are
therefore close to, not bit-exact with, the float64 interpreter.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType
from xdsl.ir import Operation, SSAValue

from hago_ir.dialects import qnn, qsim
from hago_ir.dialects.qsim import ints, shape_of
from hago_ir.errors import HagoError
from hago_ir.integer_interpreter import constant_integers
from hago_ir.kernel_epilogue import ResidualAdd
from hago_ir.model_io import find_function, input_names


def _tvm():
    import tvm
    from tvm import relax

    return tvm, relax


# Integers a double holds exactly.
FLOAT64_EXACT = 2**53


def _magnitude(value: SSAValue) -> int | None:
    """The largest |integer| a value of at most 16 bits can hold (None: wider, or not an integer)."""
    element = qnn.element_type(value)
    if not isinstance(element, IntegerType) or element.width.data > 16:
        return None
    width = element.width.data
    return 2**width - 1 if element.signedness.data == Signedness.UNSIGNED else 2 ** (width - 1)


# Where an NCHW axis lives in NHWC.
NHWC_AXIS = {0: 0, 1: 3, 2: 1, 3: 2}


def storage_dtype(type_: IntegerType) -> str:
    """The TVM dtype holding a container type (24-bit values live in int32)."""
    width = type_.width.data
    unsigned = type_.signedness.data == Signedness.UNSIGNED
    for size in (8, 16, 32, 64):
        if width <= size:
            return f"{'u' if unsigned else ''}int{size}"
    raise HagoError(f"no TVM dtype holds {type_}")


def _dtype_of(value: SSAValue) -> str:
    element = qnn.element_type(value)
    if isinstance(element, IntegerType):
        return storage_dtype(element)
    return "float32"


class _Emitter:
    def __init__(self, function: func.FuncOp, batch: int, vnni: bool = False, dp4a: bool = False,
                 dp4a_unscheduled: bool = False, int16: bool = False) -> None:
        tvm, relax = _tvm()
        self.tvm, self.relax, self.op = tvm, relax, relax.op
        self.function = function
        self.batch = batch
        if dp4a and (vnni or int16):
            raise HagoError("the dp4a kernels are for CUDA, the VNNI and int16 ones for CPUs: ask for one")
        self.vnni = vnni
        self.dp4a = dp4a
        self.int16 = int16
        self.dp4a_unscheduled = dp4a_unscheduled
        self.kernel_count = 0
        self.builder = relax.BlockBuilder()
        self.values: dict[SSAValue, object] = {}
        # Values held NHWC by the fast kernels, with their stored channel count:
        # kernels write whole blocks of 16 channels, and the channels past the
        # real ones hold don't-care values that only channel-wise ops and
        # zero weights ever see (see `padded`). `get` gives NCHW views.
        self.nhwc: dict[SSAValue, int] = {}
        self.views: dict[tuple[SSAValue, str], object] = {}
        self.fused: set[Operation] = set()
        self.handlers: dict[type[Operation], Callable[[Operation], object]] = {
            qnn.ConstantOp: self.constant, qnn.QuantizeOp: self.quantize,
            qnn.DequantizeOp: self.dequantize, qnn.RequantizeOp: self.requantize,
            qnn.Conv2dOp: self.conv2d, qnn.DenseOp: self.dense, qnn.AddOp: self.add,
            qnn.ClipOp: self.clip, qnn.SumPool2dOp: self.sum_pool2d,
            qnn.GlobalSumPool2dOp: self.global_sum_pool2d,
            qsim.ConstantOp: self.float_constant, qsim.ReshapeOp: self.reshape,
            qsim.TransposeOp: self.transpose, qsim.PadOp: self.pad, qsim.ConcatOp: self.concat,
            qsim.MaxPool2dOp: self.max_pool2d, qsim.Conv2dOp: self.float_conv2d,
            qsim.DenseOp: self.float_dense, qsim.MatmulOp: self.float_matmul,
            qsim.AddOp: self.binary("add"), qsim.SubOp: self.binary("subtract"),
            qsim.MulOp: self.binary("multiply"), qsim.DivOp: self.binary("divide"),
            qsim.ReluOp: self.unary(lambda x: self.op.nn.relu(x)),
            qsim.SigmoidOp: self.unary(lambda x: self.op.sigmoid(x)),
            qsim.TanhOp: self.unary(lambda x: self.op.tanh(x)),
            qsim.SqrtOp: self.unary(lambda x: self.op.sqrt(x)),
            qsim.ErfOp: self.unary(lambda x: self.op.erf(x)),
            qsim.GeluOp: self.unary(lambda x: self.op.nn.gelu(x)),
            qsim.ClipOp: self.float_clip, qsim.SoftmaxOp: self.softmax,
            qsim.GlobalAvgPool2dOp: self.float_global_avg_pool2d,
            qsim.AvgPool2dOp: self.float_avg_pool2d,
        }

    # ------------------------------------------------------------ plumbing
    def shape(self, value: SSAValue) -> list[int]:
        """The static shape, with the module's batch (dim 0 of the inputs) replaced."""
        shape = list(shape_of(value))
        if shape and shape[0] == self.declared_batch:
            shape[0] = self.batch
        return shape

    def const(self, array: np.ndarray, dtype: str):
        return self.relax.const(np.ascontiguousarray(array.astype(dtype)), dtype)

    def emit(self, expr):
        return self.builder.emit(expr)

    def cast(self, x, dtype: str):
        return self.emit(self.op.astype(x, dtype))

    def clip_int(self, x, low: int, high: int):
        return self.emit(self.op.clip(x, self.relax.prim_value(int(low)), self.relax.prim_value(int(high))))

    def channel_array(self, values: list[int] | list[float], axis: int | None, rank: int, dtype: str):
        array = np.array(values, dtype=dtype)
        if array.size == 1:
            return self.const(array.reshape(()), dtype)
        shape = [1] * rank
        shape[axis if axis is not None else rank - 1] = -1
        return self.const(array.reshape(shape), dtype)

    def rounding_right_shift_by(self, x, shift: int):
        """round(x / 2^shift) half to even on int64, for one shift known at emission.

        The per-element work is then four integer ops with immediate operands,
        against eight for the general form below.
        """
        if shift == 0:
            return x
        op = self.op
        one = self.const(np.array(1), "int64")
        amount = self.const(np.array(shift), "int64")
        half_minus_one = self.const(np.array((1 << (shift - 1)) - 1), "int64")
        odd = self.emit(op.bitwise_and(op.right_shift(x, amount), one))
        return self.emit(op.right_shift(op.add(op.add(x, half_minus_one), odd), amount))

    def rounding_right_shift(self, x, shift):
        """round(x / 2^shift) half to even on int64 (numerics.rounding_right_shift)."""
        op = self.op
        one = self.const(np.array(1), "int64")
        half_minus_one = self.emit(op.subtract(op.left_shift(one, op.maximum(
            op.subtract(shift, one), self.const(np.array(0), "int64"))), one))
        # shift == 0 must add nothing: (1 << 0) - 1 = 0 already, and (x >> 0) & 1 is masked below.
        odd = self.emit(op.bitwise_and(op.right_shift(x, shift), one))
        odd = self.emit(op.multiply(odd, op.astype(op.greater(shift, self.const(np.array(0), "int64")), "int64")))
        return self.emit(op.right_shift(op.add(op.add(x, half_minus_one), odd), shift))

    def wrap_to(self, x, width: int, container: int):
        """Two's complement wrap of a `container`-bit integer tensor to `width` bits."""
        if width >= container:
            return x
        dtype = f"int{container}"
        amount = self.const(np.array(container - width), dtype)
        return self.emit(self.op.right_shift(self.op.left_shift(x, amount), amount))

    # ------------------------------------------------------------ the walk
    def run(self):
        relax = self.relax
        block = self.function.body.block
        self.declared_batch = shape_of(block.args[0])[0] if block.args and shape_of(block.args[0]) else 1
        params = []
        for name, arg in zip(input_names(self.function), block.args):
            var = relax.Var(name, relax.TensorType(shape=self.shape(arg), dtype=_dtype_of(arg)))
            self.values[arg] = var
            params.append(var)
        with self.builder.function("main", params):
            with self.builder.dataflow():
                outputs = None
                for op in block.ops:
                    if isinstance(op, func.ReturnOp):
                        outputs = [self.values[v] for v in op.operands]
                        break
                    if op in self.fused:
                        continue
                    handler = self.handlers.get(type(op))
                    if handler is None:
                        raise HagoError(f"emission to Relax does not support {op.name} yet")
                    result = handler(op)
                    if result is not None:  # None: the handler set its results itself
                        self.values[op.results[0]] = result
                assert outputs is not None
                result = outputs[0] if len(outputs) == 1 else self.relax.Tuple(outputs)
                output = self.builder.emit_output(result)
            self.builder.emit_func_output(output)
        return self.builder.get()

    def get(self, value: SSAValue):
        """The value in the module's own layout (NCHW for 4-D tensors)."""
        if value not in self.nhwc:
            return self.values[value]
        return self._view(value, "NCHW", lambda: self.op.permute_dims(self.get_nhwc(value), [0, 3, 1, 2]))

    def get_nhwc(self, value: SSAValue):
        """A 4-D value in NHWC with its real channels only (sliced or transposed once, cached)."""
        if value not in self.nhwc:
            return self._view(value, "NHWC", lambda: self.op.permute_dims(self.values[value], [0, 2, 3, 1]))
        channels = shape_of(value)[1]
        if self.nhwc[value] == channels:
            return self.values[value]
        return self._view(value, "NHWC-real", lambda: self.op.strided_slice(
            self.values[value], axes=[3], begin=[0], end=[channels]))

    def padded(self, value: SSAValue) -> tuple[object, int]:
        """A 4-D value in NHWC as stored, with its stored channel count.

        For ops that treat channels independently and alike (max pool, window
        sums, per-tensor requantize, add, clip) or read them with zero weights
        (the fast kernels), so the padding channels never need slicing off.
        """
        if value in self.nhwc:
            return self.values[value], self.nhwc[value]
        return self.get_nhwc(value), shape_of(value)[1]

    def _view(self, value: SSAValue, layout: str, make):
        key = (value, layout)
        if key not in self.views:
            self.views[key] = self.emit(make())
        return self.views[key]

    def add_kernel(self, kernel, name: str):
        """A hand-written PrimFunc into the module, opaque to Relax's operator fusion:
        it is a whole kernel already (FuseTIR, merging a dp4a kernel's output
        with the elementwise ops after it, fails on its buffers)."""
        return self.builder.add_func(kernel.with_attr("global_symbol", name).with_attr("op_pattern", OPAQUE), name)

    def keep_nhwc(self, result: SSAValue, value, channels: int | None = None):
        """Record `value` (NHWC, `channels` stored) as `result`'s; returns None for the walk."""
        self.values[result] = value
        self.nhwc[result] = channels if channels is not None else shape_of(result)[1]
        return None

    # ------------------------------------------------------------ qnn
    def constant(self, op: qnn.ConstantOp):
        element = qnn.element_type(op.output)
        assert isinstance(element, IntegerType)
        return self.const(constant_integers(op), storage_dtype(element))

    def float_constant(self, op: qsim.ConstantOp):
        return self.const(op.to_array(), "float32")

    def quantize(self, op: qnn.QuantizeOp):
        rank = len(shape_of(op.input))
        axis = op.axis.value.data if op.axis is not None else None
        floats = op.float_scales()
        dtype = "float64" if floats is None else "float32"
        x = self.cast(self.get(op.input), dtype)
        scale = self.channel_array(list(floats or qnn.scale_values(op.scale)), axis, rank, dtype)
        rounded = self.emit(self.op.round(self.op.divide(x, scale)))
        clipped = self.emit(self.op.clip(rounded, self.relax.prim_value(float(op.qmin.value.data)),
                                         self.relax.prim_value(float(op.qmax.value.data))))
        return self.cast(clipped, _dtype_of(op.output))

    def dequantize(self, op: qnn.DequantizeOp):
        x = self.cast(self.get(op.input), "float64")
        axis = op.axis.value.data if op.axis is not None else None
        scale = self.channel_array(qnn.scale_values(op.scale), axis, len(shape_of(op.input)), "float64")
        return self.cast(self.emit(self.op.multiply(x, scale)), "float32")

    def requantize(self, op: qnn.RequantizeOp):
        rank = len(shape_of(op.input))
        axis = op.axis.value.data if op.axis is not None else None
        multipliers, shifts = list(ints(op.multiplier)), list(ints(op.shift))
        nhwc = op.input in self.nhwc
        stored = None
        floats = op.float_multipliers()
        uniform = len(set(floats or ())) <= 1
        if nhwc and len(set(multipliers)) == 1 and len(set(shifts)) == 1 and uniform:
            x, stored = self.padded(op.input)  # the same arithmetic on every channel
            axis = None
        elif nhwc:
            x = self.get_nhwc(op.input)
            axis = NHWC_AXIS[axis] if axis is not None else None
        else:
            x = self.get(op.input)
        if floats is not None:
            # IEEE float32, as numerics.requantize_float32: convert, multiply,
            # round half to even, clip (the bounds are exact in float32).
            if len(set(floats)) == 1:
                floats = floats[:1]
            y = self.emit(self.op.multiply(self.cast(x, "float32"), self.channel_array(floats, axis, rank, "float32")))
            y = self.emit(self.op.clip(self.emit(self.op.round(y)), self.relax.prim_value(float(op.qmin.value.data)),
                                       self.relax.prim_value(float(op.qmax.value.data))))
            y = self.cast(y, _dtype_of(op.output))
            return self.keep_nhwc(op.output, y, stored) if nhwc else y
        magnitude = _magnitude(op.input)
        if magnitude is not None and magnitude * max(multipliers) < FLOAT64_EXACT:
            y = self.float64_rescale(x, multipliers, shifts, axis, rank)
            y = self.emit(self.op.clip(y, self.relax.prim_value(float(op.qmin.value.data)),
                                       self.relax.prim_value(float(op.qmax.value.data))))
            y = self.cast(y, _dtype_of(op.output))
            return self.keep_nhwc(op.output, y, stored) if nhwc else y
        x = self.cast(x, "int64")
        if any(m != 1 for m in multipliers):
            x = self.emit(self.op.multiply(x, self.channel_array(multipliers, axis, rank, "int64")))
        if len(set(shifts)) == 1:
            x = self.rounding_right_shift_by(x, shifts[0])
        elif any(s != 0 for s in shifts):
            x = self.rounding_right_shift(x, self.channel_array(shifts, axis, rank, "int64"))
        x = self.cast(self.clip_int(x, op.qmin.value.data, op.qmax.value.data), _dtype_of(op.output))
        return self.keep_nhwc(op.output, x, stored) if nhwc else x

    def float64_rescale(self, x, multipliers: list[int], shifts: list[int], axis: int | None, rank: int):
        """round(x * m / 2^shift), half to even, in float64: exact where |x| * m < 2^53.

        The product of an integer below 2^53 / m and m / 2^shift (itself exact
        in a double) is exact, and so is its rounding: the result equals
        numerics.requantize_integers' int64 arithmetic, in about half the
        vector instructions (no 64-bit multiply).
        """
        factors = [m * 2.0 ** -s for m, s in zip(multipliers, shifts)]
        scaled = self.emit(self.op.multiply(self.cast(x, "float64"), self.channel_array(factors, axis, rank, "float64")))
        return self.emit(self.op.round(scaled))

    def accumulate(self, op: qnn.Conv2dOp | qnn.DenseOp, compute: Callable[[str], object]):
        accumulator = qnn.element_type(op.output)
        assert isinstance(accumulator, IntegerType)
        width = accumulator.width.data
        storage = storage_dtype(accumulator)
        exact = op.overflow.data == "wrap" and width in (8, 16, 32, 64)
        # Wrapping sums at a machine width are exact in that width; anything
        # else is summed wider and then wrapped or saturated to `width`.
        work = storage if exact else ("int32" if width < 32 else "int64")
        sums = compute(work)
        if op.bias is not None:
            bias = self.cast(self.get(op.bias), work)
            if isinstance(op, qnn.Conv2dOp):
                bias = self.emit(self.op.reshape(bias, (1, -1, 1, 1)))
            sums = self.emit(self.op.add(sums, bias))
        if not exact:
            if op.overflow.data == "wrap":
                sums = self.wrap_to(sums, width, int(work[3:]))
            else:
                sums = self.clip_int(sums, -(2 ** (width - 1)), 2 ** (width - 1) - 1)
            sums = self.cast(sums, storage)
        return sums

    def fast_kernel(self, op: qnn.Conv2dOp | qnn.DenseOp) -> str | None:
        """"vnni" / "depthwise" / "dp4a" / "int16" / "int16_depthwise" when a hand-scheduled kernel computes
        `op`, else None. The kind follows the accumulator: 32 bits on VNNI or dp4a, 16 on the int16 kernels."""
        accumulator = qnn.element_type(op.output)
        if not (
            _dtype_of(op.weight) == "int8" and isinstance(accumulator, IntegerType)
            and op.overflow.data == "wrap" and isinstance(op.weight.owner, qnn.ConstantOp)
            and (op.bias is None or isinstance(op.bias.owner, qnn.ConstantOp))
        ):
            return None
        width, data = accumulator.width.data, _dtype_of(op.input)
        if self.int16 and width == 16 and data == "int8":  # smlal: signed
            kind = "int16"
        elif self.vnni and width == 32 and data in ("uint8", "int8"):
            kind = "vnni"
        elif self.dp4a and width == 32 and data == "int8":  # dp4a.s32.s32: signed words
            kind = "dp4a"
        else:
            return None
        if isinstance(op, qnn.DenseOp):
            return kind
        if ints(op.dilations) != (1, 1):
            return None
        groups = op.groups.value.data
        out_channels, per_group = shape_of(op.weight)[:2]
        if groups == 1:
            return kind
        if kind == "dp4a" or not (per_group == 1 and groups == shape_of(op.input)[1] == out_channels):
            return None
        return "int16_depthwise" if kind == "int16" else "depthwise"

    def fused_requantize(self, op: qnn.Conv2dOp | qnn.DenseOp) -> qnn.RequantizeOp | None:
        """The requantize that is the op's only reader, computed in the kernel's epilogue."""
        uses = list(op.output.uses)
        if len(uses) != 1 or not isinstance(uses[0].operation, qnn.RequantizeOp):
            return None
        requantize = uses[0].operation
        axis = requantize.axis.value.data if requantize.axis is not None else None
        channel_axis = len(shape_of(op.output)) - 1 if isinstance(op, qnn.DenseOp) else 1
        return requantize if axis in (None, channel_axis) else None

    def fast_kernel_call(self, op: qnn.Conv2dOp | qnn.DenseOp, kind: str, x, geometry, weights: np.ndarray,
                         fuse_residual: bool = False):
        """One hand-scheduled NHWC kernel: conv2d (OIHW `weights`) + bias + the fused requantize.

        `x` may store more channels than `weights` read (geometry.channels
        says how many): the weights are zero-padded to match. Returns (NHWC
        result, its stored channel count, the requantize computed in it or
        None; None as the result when `fuse_residual` let the kernel compute the
        `qnn.add`s reading the requantize, whose results are then recorded); the
        result's channels past geometry.out_channels are padding. In the VNNI
        and depthwise kernels, signed (s8) activations are shifted by +128 into
        u8; the shift is taken back exactly through the bias: 128 x the sum of
        each output channel's weights. (dp4a and the int16 kernels multiply s8 by s8 as they are.)
        """
        from hago_ir import depthwise_kernels, dp4a_kernels, int16_kernels, vnni_kernels
        from hago_ir.kernel_epilogue import Epilogue

        relax = self.relax
        out_c = geometry.out_channels
        bias = np.zeros(out_c, dtype=np.int64)
        if op.bias is not None:
            bias += constant_integers(op.bias.owner).reshape(-1)
        signed = _dtype_of(op.input) == "int8"
        if signed and kind in ("vnni", "depthwise"):
            bias -= 128 * weights.reshape(out_c, -1).sum(axis=1)
        if kind in ("vnni", "dp4a", "int16") and weights.shape[1] < geometry.channels:
            weights = np.pad(weights, [(0, 0), (0, geometry.channels - weights.shape[1]), (0, 0), (0, 0)])
        requantize = self.fused_requantize(op)
        epilogue = Epilogue(out_c, bias, None if requantize is None else epilogue_requantize(requantize),
                            accumulator=_dtype_of(op.output))
        residual: list[tuple[qnn.AddOp, SSAValue, ResidualAdd]] = []
        if kind == "vnni":
            packed = vnni_kernels.packed_weights_for(geometry, weights.astype(np.int8))
            channels = packed.shape[0] * 16
            if fuse_residual and requantize is not None:
                residual = self.residual_adds(requantize, channels)
            kernel = vnni_kernels.conv2d_nhwc_vnni(geometry, signed, epilogue, tuple(r for _, _, r in residual))
        elif kind == "int16":
            packed = int16_kernels.pack_weights(weights.astype(np.int8))
            channels = packed.shape[0] * int16_kernels.LANES
            kernel = int16_kernels.conv2d_nhwc_i16(geometry, epilogue)
        elif kind == "int16_depthwise":
            packed = int16_kernels.pack_depthwise_weights(weights.astype(np.int8), geometry.channels)
            channels = packed.shape[0] * int16_kernels.LANES
            kernel = int16_kernels.conv2d_nhwc_i16(geometry, epilogue, depthwise=True)
        elif kind == "dp4a":
            packed = vnni_kernels.pack_weights(weights.astype(np.int8))
            channels = packed.shape[0] * 16
            kernel = (dp4a_kernels.conv2d_nhwc_dp4a_compute if self.dp4a_unscheduled
                      else dp4a_kernels.conv2d_nhwc_dp4a)(geometry, epilogue)
        else:
            packed = depthwise_kernels.packed_weights_for(geometry, weights.astype(np.int8))
            kernel = depthwise_kernels.depthwise_conv2d_nhwc(geometry, signed, epilogue)
            channels = -(-geometry.channels // 16) * 16
        self.kernel_count += 1
        name = f"{KERNEL_NAMES[kind]}_{self.kernel_count}"
        gvar = self.add_kernel(kernel, name)
        arguments = [x, self.const(packed, "int8")]
        arguments += [self.const(array, dtype) for array, dtype in epilogue.arrays(channels)]
        oh, ow = geometry.out_hw
        shape = (geometry.batch, oh, ow, channels)
        if residual:
            arguments += [self.values[skip] for _, skip, _ in residual]
            types = [relax.TensorType(shape=shape, dtype=r.dtype) for _, _, r in residual]
            results = self.emit(relax.call_tir(gvar, arguments, types))
            for index, (add, _, _) in enumerate(residual):
                # One output is a tensor, several a tuple.
                result = results if len(residual) == 1 else self.emit(relax.TupleGetItem(results, index))
                self.keep_nhwc(add.output, result, channels)
                self.fused.add(add)
            self.fused.add(requantize)
            return None, channels, requantize
        out = self.emit(relax.call_tir(gvar, arguments, relax.TensorType(shape=shape, dtype=epilogue.out_dtype)))
        if requantize is not None:
            self.fused.add(requantize)
        return out, channels, requantize

    def residual_adds(self, requantize: qnn.RequantizeOp, channels: int) -> list[tuple[qnn.AddOp, SSAValue, ResidualAdd]]:
        """The `qnn.add`s that read the requantized conv output and can run in the conv kernel.

        All of the requantize's readers must be such adds (its values then
        never leave the kernel), each adding an NHWC tensor already emitted
        with the same stored channels, exact in float64.
        """
        value = requantize.output
        adds = [use.operation for use in value.uses]
        if not adds or len(adds) > 2 or not all(isinstance(a, qnn.AddOp) for a in adds):
            return []
        found = []
        for add in adds:
            conv_is_lhs = add.lhs == value
            skip = add.rhs if conv_is_lhs else add.lhs
            if (skip == value or self.nhwc.get(skip) != channels or shape_of(skip) != shape_of(value)
                    or not self.add_is_exact_in_float64(add)):
                return []
            m_conv, s_conv, m_skip, s_skip = (
                (add.lhs_multiplier, add.lhs_shift, add.rhs_multiplier, add.rhs_shift) if conv_is_lhs
                else (add.rhs_multiplier, add.rhs_shift, add.lhs_multiplier, add.lhs_shift))
            found.append((add, skip, ResidualAdd(
                conv_is_lhs, m_conv.value.data * 2.0 ** -s_conv.value.data,
                m_skip.value.data * 2.0 ** -s_skip.value.data, 2.0 ** -add.shift.value.data,
                add.qmin.value.data, add.qmax.value.data, _dtype_of(skip), _dtype_of(add.output))))
        return found

    def fast_conv2d(self, op: qnn.Conv2dOp, kind: str):
        from hago_ir.vnni_kernels import ConvGeometry

        from hago_ir.vnni_kernels import uses_width_columns

        n, c, h, w = self.shape(op.input)
        out_c = shape_of(op.output)[1]
        kernel = tuple(shape_of(op.weight)[2:])
        stem = ConvGeometry(n, h, w, c, out_c, kernel, ints(op.strides), ints(op.pads), nchw_input=True)
        if kind == "vnni" and op.input not in self.nhwc and uses_width_columns(stem):
            # A stem on an NCHW value (the model's quantized input): the
            # kernel gathers its taps from NCHW itself; no transpose.
            x, geometry = self.get(op.input), stem
        else:
            x, stored = self.padded(op.input)
            geometry = ConvGeometry(n, h, w, stored, out_c, kernel, ints(op.strides), ints(op.pads))
        out, channels, requantize = self.fast_kernel_call(op, kind, x, geometry, constant_integers(op.weight.owner),
                                                          fuse_residual=True)
        if out is None:  # residual adds fused: the kernel's outputs are theirs
            return None
        return self.keep_nhwc(op.output if requantize is None else requantize.output, out, channels)

    def conv2d(self, op: qnn.Conv2dOp):
        kind = self.fast_kernel(op)
        if kind is not None:
            return self.fast_conv2d(op, kind)
        pads = ints(op.pads)

        def compute(dtype: str):
            return self.emit(self.op.nn.conv2d(
                self.get(op.input), self.get(op.weight), strides=ints(op.strides),
                padding=(pads[0], pads[1], pads[2], pads[3]), dilation=ints(op.dilations),
                groups=op.groups.value.data, out_dtype=dtype,
            ))

        return self.accumulate(op, compute)

    def dense(self, op: qnn.DenseOp):
        if self.fast_kernel(op) in ("vnni", "dp4a", "int16") and len(shape_of(op.input)) == 2:
            return self.fast_dense(op)

        def compute(dtype: str):
            weight = self.emit(self.op.permute_dims(self.get(op.weight), [1, 0]))
            return self.emit(self.op.matmul(self.get(op.input), weight, out_dtype=dtype))

        return self.accumulate(op, compute)

    def fast_dense(self, op: qnn.DenseOp):
        """dense as a 1x1 conv of an [N, 1, 1, C] image: the VNNI, dp4a or int16 kernel and its epilogue."""
        from hago_ir.vnni_kernels import ConvGeometry

        n, c = self.shape(op.input)
        out_c = shape_of(op.output)[1]
        weights = constant_integers(op.weight.owner).reshape(out_c, c, 1, 1)
        x = self.emit(self.op.reshape(self.get(op.input), (n, 1, 1, c)))
        geometry = ConvGeometry(n, 1, 1, c, out_c, (1, 1), (1, 1), (0, 0, 0, 0))
        out, channels, requantize = self.fast_kernel_call(op, self.fast_kernel(op), x, geometry, weights)
        if channels != out_c:
            out = self.emit(self.op.strided_slice(out, axes=[3], begin=[0], end=[out_c]))
        result = op.output if requantize is None else requantize.output
        self.values[result] = self.emit(self.op.reshape(out, (n, out_c)))
        return None

    def add(self, op: qnn.AddOp):
        op_ = self.op
        width = op.accumulator.width.data
        nhwc = (op.lhs in self.nhwc or op.rhs in self.nhwc) and shape_of(op.lhs) == shape_of(op.rhs)
        stored = None
        if nhwc and self.nhwc.get(op.lhs) == self.nhwc.get(op.rhs):
            stored = self.nhwc[op.lhs]  # one arithmetic for every channel: padding channels included

            def operand(value):
                return self.padded(value)[0]
        else:
            operand = self.get_nhwc if nhwc else self.get

        if self.add_is_exact_in_float64(op):
            lhs = self.float64_rescale(operand(op.lhs), [op.lhs_multiplier.value.data], [op.lhs_shift.value.data], None, 0)
            rhs = self.float64_rescale(operand(op.rhs), [op.rhs_multiplier.value.data], [op.rhs_shift.value.data], None, 0)
            total = self.float64_rescale(self.emit(op_.add(lhs, rhs)), [1], [op.shift.value.data], None, 0)
            total = self.emit(op_.clip(total, self.relax.prim_value(float(op.qmin.value.data)),
                                       self.relax.prim_value(float(op.qmax.value.data))))
            out = self.cast(total, _dtype_of(op.output))
            return self.keep_nhwc(op.output, out, stored) if nhwc else out

        def rescale(value, multiplier: int, shift: int):
            x = self.cast(value, "int64")
            if multiplier != 1:
                x = self.emit(op_.multiply(x, self.const(np.array(multiplier), "int64")))
            return self.rounding_right_shift_by(x, shift)

        lhs = rescale(operand(op.lhs), op.lhs_multiplier.value.data, op.lhs_shift.value.data)
        rhs = rescale(operand(op.rhs), op.rhs_multiplier.value.data, op.rhs_shift.value.data)
        total = self.wrap_to(self.emit(op_.add(lhs, rhs)), width, 64)
        total = self.rounding_right_shift_by(total, op.shift.value.data)
        out = self.cast(self.clip_int(total, op.qmin.value.data, op.qmax.value.data), _dtype_of(op.output))
        return self.keep_nhwc(op.output, out, stored) if nhwc else out

    @staticmethod
    def add_is_exact_in_float64(op: qnn.AddOp) -> bool:
        """Whether qnn.add's rescales and sum are exact in float64 and its accumulator cannot wrap."""
        lhs, rhs = _magnitude(op.lhs), _magnitude(op.rhs)
        if lhs is None or rhs is None:
            return False
        m_lhs, m_rhs = op.lhs_multiplier.value.data, op.rhs_multiplier.value.data
        if max(lhs * m_lhs, rhs * m_rhs) >= FLOAT64_EXACT:
            return False
        # Rescaled operands round to at most ceil(|q| m / 2^shift); their sum must stay inside the accumulator.
        bound = -(-lhs * m_lhs // 2 ** op.lhs_shift.value.data) - (-rhs * m_rhs // 2 ** op.rhs_shift.value.data)
        return bound < 2 ** (op.accumulator.width.data - 1)

    def clip(self, op: qnn.ClipOp):
        if op.input in self.nhwc:
            x, stored = self.padded(op.input)
            return self.keep_nhwc(op.output, self.clip_int(x, op.min.value.data, op.max.value.data), stored)
        return self.clip_int(self.get(op.input), op.min.value.data, op.max.value.data)

    def sum_pool2d(self, op: qnn.SumPool2dOp):
        # Window sums as a depthwise conv with a kernel of ones.
        channels = shape_of(op.input)[1]
        kernel = ints(op.kernel)
        ones = self.const(np.ones((channels, 1, *kernel)), _dtype_of(op.input))
        pads = ints(op.pads)
        accumulator = qnn.element_type(op.output)
        assert isinstance(accumulator, IntegerType)
        sums = self.emit(self.op.nn.conv2d(
            self.get(op.input), ones, strides=ints(op.strides),
            padding=(pads[0], pads[1], pads[2], pads[3]), groups=channels, out_dtype="int32",
        ))
        return self.cast(self.wrap_to(sums, accumulator.width.data, 32), storage_dtype(accumulator))

    def global_sum_pool2d(self, op: qnn.GlobalSumPool2dOp):
        accumulator = qnn.element_type(op.output)
        assert isinstance(accumulator, IntegerType)
        nhwc = op.input in self.nhwc
        x, stored = self.padded(op.input) if nhwc else (self.get(op.input), None)
        sums = self.emit(self.op.sum(self.cast(x, "int32"), axis=[1, 2] if nhwc else [2, 3], keepdims=True))
        out = self.cast(self.wrap_to(sums, accumulator.width.data, 32), storage_dtype(accumulator))
        return self.keep_nhwc(op.output, out, stored) if nhwc else out

    # ------------------------------------------------------------ data movement (any dtype)
    def reshape(self, op: qsim.ReshapeOp):
        return self.emit(self.op.reshape(self.get(op.input), self.shape(op.output)))

    def transpose(self, op: qsim.TransposeOp):
        return self.emit(self.op.permute_dims(self.get(op.input), list(ints(op.perm))))

    def pad(self, op: qsim.PadOp):
        pads = ints(op.pads)
        rank = len(pads) // 2
        width = [p for i in range(rank) for p in (pads[i], pads[i + rank])]
        return self.emit(self.op.nn.pad(self.get(op.input), width, pad_value=float(op.value.value.data)))

    def concat(self, op: qsim.ConcatOp):
        return self.emit(self.op.concat([self.get(v) for v in op.inputs], axis=op.axis.value.data))

    def max_pool2d(self, op: qsim.MaxPool2dOp):
        pads = ints(op.pads)
        nhwc = op.input in self.nhwc
        readers = [use.operation for use in op.output.uses]
        if (self.vnni or self.int16) and nhwc and ints(op.dilations) == (1, 1) and readers and all(
                isinstance(r, qnn.RequantizeOp) and (r.axis is None or r.axis.value.data == 1) for r in readers):
            return self.max_pool2d_requantized(op, readers)
        x, stored = self.padded(op.input) if nhwc else (self.get(op.input), None)
        out = self.emit(self.op.nn.max_pool2d(
            x, pool_size=ints(op.kernel),
            strides=ints(op.strides), padding=(pads[0], pads[1], pads[2], pads[3]),
            dilation=ints(op.dilations), ceil_mode=bool(op.ceil_mode.value.data),
            layout="NHWC" if nhwc else "NCHW",
        ))
        return self.keep_nhwc(op.output, out, stored) if nhwc else out

    def max_pool2d_requantized(self, op: qsim.MaxPool2dOp, requantizes: list[qnn.RequantizeOp]):
        """An NHWC max pool read only by requantizes: one hand kernel writes them all (hago_ir.pool_kernels)."""
        from hago_ir.kernel_epilogue import Epilogue
        from hago_ir.pool_kernels import PoolGeometry, max_pool2d_requantized

        relax = self.relax
        x, stored = self.padded(op.input)
        n, channels, h, w = self.shape(op.input)
        out_hw = tuple(shape_of(op.output)[2:])
        geometry = PoolGeometry(n, h, w, stored, ints(op.kernel), ints(op.strides), ints(op.pads), out_hw)
        epilogues = tuple(Epilogue(channels, None, epilogue_requantize(r)) for r in requantizes)
        kernel = max_pool2d_requantized(geometry, _dtype_of(op.input), epilogues)
        self.kernel_count += 1
        name = f"max_pool2d_requantized_{self.kernel_count}"
        gvar = self.add_kernel(kernel, name)
        arguments = [x] + [self.const(array, dtype) for e in epilogues for array, dtype in e.arrays(stored)]
        shape = (n, *out_hw, stored)
        types = [relax.TensorType(shape=shape, dtype=e.out_dtype) for e in epilogues]
        results = self.emit(relax.call_tir(gvar, arguments, types if len(types) > 1 else types[0]))
        for index, requantize in enumerate(requantizes):
            # One output is a tensor, several a tuple.
            result = results if len(requantizes) == 1 else self.emit(relax.TupleGetItem(results, index))
            self.keep_nhwc(requantize.output, result, stored)
            self.fused.add(requantize)
        return None

    # ------------------------------------------------------------ float islands
    def float_conv2d(self, op: qsim.Conv2dOp):
        pads = ints(op.pads)
        out = self.emit(self.op.nn.conv2d(
            self.get(op.input), self.get(op.weight), strides=ints(op.strides),
            padding=(pads[0], pads[1], pads[2], pads[3]), dilation=ints(op.dilations),
            groups=op.groups.value.data,
        ))
        if op.bias is not None:
            out = self.emit(self.op.add(out, self.op.reshape(self.get(op.bias), (1, -1, 1, 1))))
        return out

    def float_dense(self, op: qsim.DenseOp):
        weight = self.emit(self.op.permute_dims(self.get(op.weight), [1, 0]))
        out = self.emit(self.op.matmul(self.get(op.input), weight))
        if op.bias is not None:
            out = self.emit(self.op.add(out, self.get(op.bias)))
        return out

    def float_matmul(self, op: qsim.MatmulOp):
        return self.emit(self.op.matmul(self.get(op.lhs), self.get(op.rhs)))

    def binary(self, name: str):
        return lambda op: self.emit(getattr(self.op, name)(self.get(op.lhs), self.get(op.rhs)))

    def unary(self, build: Callable):
        return lambda op: self.emit(build(self.get(op.input)))

    def float_clip(self, op: qsim.ClipOp):
        return self.emit(self.op.clip(self.get(op.input), self.relax.prim_value(float(op.min.value.data)),
                                      self.relax.prim_value(float(op.max.value.data))))

    def softmax(self, op: qsim.SoftmaxOp):
        return self.emit(self.op.nn.softmax(self.get(op.input), axis=op.axis.value.data))

    def float_global_avg_pool2d(self, op: qsim.GlobalAvgPool2dOp):
        return self.emit(self.op.mean(self.get(op.input), axis=[2, 3], keepdims=True))

    def float_avg_pool2d(self, op: qsim.AvgPool2dOp):
        pads = ints(op.pads)
        return self.emit(self.op.nn.avg_pool2d(
            self.get(op.input), pool_size=ints(op.kernel), strides=ints(op.strides),
            padding=(pads[0], pads[1], pads[2], pads[3]), ceil_mode=bool(op.ceil_mode.value.data),
            count_include_pad=bool(op.count_include_pad.value.data),
        ))


def epilogue_requantize(requantize: qnn.RequantizeOp):
    """A `qnn.requantize` as a hand kernel's fused epilogue computes it (hago_ir.kernel_epilogue)."""
    from hago_ir.kernel_epilogue import Requantize

    return Requantize(tuple(ints(requantize.multiplier)), tuple(ints(requantize.shift)),
                      requantize.qmin.value.data, requantize.qmax.value.data, _dtype_of(requantize.output),
                      requantize.float_multipliers())


OPAQUE = 8  # Relax's op_pattern for kernels that fusion leaves alone
# The PrimFunc names of the hand-scheduled kernels (profiles group them by these).
KERNEL_NAMES = {"vnni": "conv2d_vnni", "depthwise": "depthwise_conv2d", "dp4a": "conv2d_dp4a",
                "int16": "conv2d_i16", "int16_depthwise": "depthwise_conv2d_i16"}


def to_relax(module: ModuleOp, batch: int = 1, function: str | None = None, vnni: bool = False,
             dp4a: bool = False, dp4a_unscheduled: bool = False, int16: bool = False):
    """The realized module as a TVM Relax IRModule with one function, `main`.

    `batch` replaces the module's batch dimension (1 for imported models), so
    that many samples run through one call. With `vnni`, u8 x s8 -> i32 conv2d
    ops call the hand-scheduled AVX-512 VNNI kernel (hago_ir.vnni_kernels);
    the module then only builds for a VNNI target (x86-vnni, or x86 on a VNNI host).
    With `dp4a`, s8 x s8 -> i32 conv2d and dense call the CUDA `dp4a` kernel
    (hago_ir.dp4a_kernels); the module then builds for `cuda` only. With
    `dp4a_unscheduled` too, those calls get the kernels' computations
    unscheduled instead, which build for any target: how a machine without a
    GPU checks the emission bit for bit. With `int16`, s8 x s8 -> i16 conv2d and
    dense call the int16 kernel (hago_ir.int16_kernels: `smlal` on aarch64),
    plain TensorIR, so the module builds for aarch64 and x86 alike.
    """
    function_op = find_function(module, function)
    for arg in function_op.body.block.args:
        if not isinstance(arg.type, TensorType):
            raise HagoError("every function argument must be a tensor")
    return _Emitter(function_op, batch, vnni, dp4a, dp4a_unscheduled, int16).run()
