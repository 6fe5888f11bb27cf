"""The fused epilogue of hago's integer kernels: bias, requantize, clip, cast.

Used by hago_ir.vnni_kernels, depthwise_kernels, int16_kernels, dp4a_kernels
(CUDA) and pool_kernels when hago_ir.relax_backend fuses a `qnn.conv2d` with
the `qnn.requantize` that is its only reader: the sums of one register tile
(int32; int16 for an int16 accumulator, the bias wrapping as they do) get their bias, the
fixed-point multiply, the round-half-to-even shift, the clip (where ReLU /
ReLU6 were folded by hago-realize) and the narrowing cast while they are still
in registers, instead of going through memory as int32 and then four int64
elementwise passes. The arithmetic is that of hago_ir.numerics.requantize_integers
(fixed point), or of numerics.requantize_float32 for a requantize with float32
multipliers (specs with `float32_requantize`), so the fused kernels stay
bit-exact with the integer reference interpreter.

Float32 is what makes the epilogue cheap: convert, multiply, clip and
`vcvtps2dq` (which rounds half to even in the default rounding mode) are five
instructions per 16 lanes, against about 25 for the 64-bit multiply and
rounding shift; measured on a 1x1 conv 16 -> 96 at 112x112, that halved the
kernel's time (its few input channels make the epilogue most of the work).

Per-channel values are kernel arguments (`arguments_for(epilogue)` names
them), padded to the kernel's channel blocks; a requantize with one
multiplier for all channels is broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Requantize:
    multiplier: tuple[int, ...]
    shift: tuple[int, ...]
    qmin: int
    qmax: int
    dtype: str  # "uint8" / "int8" / "int16" / "int32"
    float_multiplier: tuple[float, ...] | None = None  # float32 arithmetic when set

    @property
    def in_float32(self) -> bool:
        return self.float_multiplier is not None


@dataclass
class Epilogue:
    """What follows the int32 sums of `channels` output channels."""

    channels: int
    bias: np.ndarray | None = None  # int64 per channel (the accumulator's bias, exact)
    requantize: Requantize | None = None
    accumulator: str = "int32"  # the sums' dtype, which the bias wraps to (int16 on arm-a72-i16)

    @property
    def out_dtype(self) -> str:
        return self.requantize.dtype if self.requantize else self.accumulator

    @property
    def in_float32(self) -> bool:
        return self.requantize is not None and self.requantize.in_float32

    def arrays(self, padded_channels: int) -> list[tuple[np.ndarray, str]]:
        """The per-channel kernel arguments, in arguments_for(self) order."""
        bias = np.zeros(padded_channels, dtype=np.int64)
        if self.bias is not None:
            bias[: self.channels] = self.bias
        # Wrapping the bias to the accumulator's width is what adding it to the sums does.
        half = 2 ** (np.iinfo(self.accumulator).bits - 1)
        wrapped = ((bias + half) % (2 * half) - half).astype(self.accumulator)
        if self.in_float32:
            factor = np.ones(padded_channels, dtype=np.float32)  # padding channels: clip(0)
            factor[: self.channels] = np.broadcast_to(np.array(self.requantize.float_multiplier, np.float32),
                                                      self.channels)
            return [(wrapped, self.accumulator), (factor, "float32")]
        multiplier = np.ones(padded_channels, dtype=np.int64)
        shift = np.zeros(padded_channels, dtype=np.int64)
        if self.requantize is not None:
            multiplier[: self.channels] = np.broadcast_to(np.array(self.requantize.multiplier), self.channels)
            shift[: self.channels] = np.broadcast_to(np.array(self.requantize.shift), self.channels)
        if multiplier.max() >= 2**31:
            raise ValueError("requantize multipliers must be below 2^31")
        # Round half to even: (p + 2^(s-1) - 1 + ((p >> s) & 1)) >> s, nothing to add when s = 0.
        rounding = np.where(shift > 0, (np.int64(1) << np.maximum(shift - 1, 0)) - 1, 0)
        odd_mask = (shift > 0).astype(np.int64)
        return [(wrapped, self.accumulator), (multiplier.astype(np.int32), "int32"), (shift, "int64"),
                (rounding, "int64"), (odd_mask, "int64")]


# Per output channel, after the bias (in the accumulator's dtype). The
# multiplier is below 2^31, so int32 holds it. (A float64 form of the
# fixed-point arithmetic, exact where |sum| * m < 2^53, was measured too:
# faster on a 24 -> 144 1x1 conv, slower on 144 -> 24 and 3x3 64 -> 64; not kept.)
FIXED_POINT_ARGUMENTS = (("multiplier", "int32"), ("shift", "int64"), ("rounding", "int64"), ("odd_mask", "int64"))
FLOAT32_ARGUMENTS = (("factor", "float32"),)


def arguments_for(epilogue: Epilogue) -> tuple[tuple[str, str], ...]:
    """(name, dtype) of the per-channel kernel arguments, in order."""
    return (("bias", epilogue.accumulator),) + (FLOAT32_ARGUMENTS if epilogue.in_float32 else FIXED_POINT_ARGUMENTS)


def placeholders(epilogue: Epilogue, padded_channels: int):
    from tvm import te

    return tuple(te.placeholder((padded_channels,), dtype, name=name) for name, dtype in arguments_for(epilogue))


def apply(sums, epilogue: Epilogue, arguments, name: str = "epilogue", gpu: bool = False):
    """TE: out[..., o] = epilogue(sums[..., o]); channels are the last axis.

    `gpu`: round the float32 form with nearbyint (CUDA's `nearbyintf`, half
    to even like `llvm.lrint`, which only LLVM's CPU targets lower).
    """
    from tvm import te
    from tvm import tirx as tir

    bias = arguments[0]

    def compute(*index):
        o = index[-1]
        acc = sums(*index) + bias[o]  # in the accumulator's dtype: wraps as it does
        if epilogue.requantize is None:
            return acc
        q = epilogue.requantize
        if q.in_float32:
            # f32(acc) * factor, clipped to the (exactly representable) bounds,
            # then lrint: vcvtps2dq, round half to even like numpy.rint.
            scaled = acc.astype("float32") * arguments[1][o]
            clipped = tir.max(tir.min(scaled, tir.const(q.qmax, "float32")), tir.const(q.qmin, "float32"))
            if gpu:
                return tir.nearbyint(clipped).astype(q.dtype)
            return tir.call_llvm_pure_intrin("int32", "llvm.lrint", clipped).astype(q.dtype)
        _, multiplier, shift, rounding, odd_mask = arguments
        product = acc.astype("int64") * multiplier[o].astype("int64")
        s = shift[o]
        rounded = (product + rounding[o] + ((product >> s) & odd_mask[o])) >> s
        clipped = tir.max(tir.min(rounded, tir.const(q.qmax, "int64")), tir.const(q.qmin, "int64"))
        return clipped.astype(q.dtype)

    # Whole blocks of channels are written, the padding ones included (bias 0,
    # multiplier 1, shift 0: they hold clip(0)), so the stores stay vectors.
    return te.compute(sums.shape, compute, name=name)


@dataclass(frozen=True)
class ResidualAdd:
    """A `qnn.add` of the requantized conv output and another tensor (the skip
    connection), computed in the kernel too: the requantized values then never
    leave the register tile. Exact in float64 (the caller checks it with
    relax_backend.add_is_exact_in_float64): each operand is rounded from
    q x m / 2^shift, their sum from x 2^-shift, half to even, then clipped.
    """

    conv_is_lhs: bool
    conv_factor: float  # m / 2^shift of the conv's operand
    skip_factor: float
    sum_factor: float  # 2^-shift of the sum
    qmin: int
    qmax: int
    skip_dtype: str
    dtype: str


def apply_residual(requantized, skip, add: ResidualAdd, name: str):
    """TE: add(requantized, skip) as ResidualAdd says, elementwise."""
    from tvm import te
    from tvm import tirx as tir

    def compute(*index):
        def rescaled(value, factor: float):
            return tir.nearbyint(value.astype("float64") * tir.const(factor, "float64"))

        conv = rescaled(requantized(*index), add.conv_factor)
        other = rescaled(skip(*index), add.skip_factor)
        total = tir.nearbyint((conv + other) * tir.const(add.sum_factor, "float64"))
        clipped = tir.max(tir.min(total, tir.const(float(add.qmax), "float64")), tir.const(float(add.qmin), "float64"))
        return clipped.astype("int32").astype(add.dtype)

    return te.compute(requantized.shape, compute, name=name)
