"""Hand-scheduled depthwise conv2d for integer CPU builds (MobileNet's 3x3 convs).

Used by hago_ir.relax_backend beside hago_ir.vnni_kernels: a `qnn.conv2d` whose
groups equal its input and output channels, with u8 / s8 activations, s8
weights and an int32 wrapping accumulator, becomes one TensorIR kernel with
the padding, the sums and the fused epilogue (hago_ir.kernel_epilogue) of one
output row per parallel iteration. A depthwise conv has no reduction over
channels, so `vpdpbusd` does not apply; the channels are the vector lanes
(16 int32 sums per AVX-512 register) and the taps are the reduction.

Layouts: activations NHWC, weights [KH, KW, C] int8, output NHWC.
"""

from __future__ import annotations

import numpy as np

from hago_ir import kernel_epilogue
from hago_ir.kernel_epilogue import Epilogue
from hago_ir.vnni_kernels import (
    ConvGeometry,
    input_placeholder,
    padded_input,
    vectorize_channels,
)

LANES = 16
PIXEL_TILE = 8


def pack_weights(weights: np.ndarray, stored_channels: int | None = None) -> np.ndarray:
    """[C, 1, KH, KW] int8 -> [KH, KW, C'] with C' the (input's stored) channels rounded up to 16; zero-padded."""
    channels, _, kh, kw = weights.shape
    stored = max(channels, stored_channels or channels)
    padded = np.zeros((kh, kw, -(-stored // LANES) * LANES), dtype=np.int8)
    padded[:, :, :channels] = weights[:, 0].transpose(1, 2, 0)
    return padded


def depthwise_conv2d_nhwc(geometry: ConvGeometry, signed: bool, epilogue: Epilogue):
    """The scheduled PrimFunc (data, packed weights, *kernel_epilogue.arguments_for(epilogue)) -> out [N, OH, OW, C16*16]."""
    import tvm
    from tvm import te

    channels = -(-geometry.channels // LANES) * LANES
    kh, kw = geometry.kernel
    sh, sw = geometry.strides
    oh, ow = geometry.out_hw
    n = geometry.batch
    data = input_placeholder(geometry, signed)
    kernel = te.placeholder((kh, kw, channels), "int8", name="kernel")
    padded = padded_input(data, geometry, channels, signed)
    rkh = te.reduce_axis((0, kh), "rkh")
    rkw = te.reduce_axis((0, kw), "rkw")
    sums = te.compute(
        (n, oh, ow, channels),
        lambda b, y, x, c: te.sum(
            (padded[b, y * sh + rkh, x * sw + rkw, c].astype("int16") * kernel[rkh, rkw, c].astype("int16")).astype("int32"),
            axis=[rkh, rkw],
        ),
        name="conv",
    )
    arguments = kernel_epilogue.placeholders(epilogue, channels)
    out = kernel_epilogue.apply(sums, epilogue, arguments)
    schedule = tvm.s_tir.Schedule(te.create_prim_func([data, kernel, *arguments, out]))
    block = schedule.get_sblock("conv")
    b, y, x, c, rkh_, rkw_ = schedule.get_loops(block)
    co, ci = schedule.split(c, [None, LANES])
    # A tile of neighbouring output pixels shares its input loads: pixel
    # x + 1's tap kw reads what pixel x's tap kw + 1 read.
    tile = next(t for t in (PIXEL_TILE, 7, 6, 5, 4, 3, 2, 1) if ow % t == 0) if sw == 1 else 1
    xo, xi = schedule.split(x, [None, tile])
    schedule.reorder(b, y, xo, co, rkh_, xi, rkw_, ci)
    rows = schedule.fuse(b, y)
    schedule.parallel(rows)
    pad_block = schedule.get_sblock("padded")
    schedule.compute_at(pad_block, rows)
    _, inner = schedule.split(schedule.get_loops(pad_block)[-1], [None, LANES])
    schedule.vectorize(inner)
    epilogue_block = schedule.get_sblock("epilogue")
    schedule.reverse_compute_at(epilogue_block, co)
    schedule.unroll(xi)
    schedule.unroll(rkw_)
    vectorize_channels(schedule, epilogue_block)
    init = schedule.decompose_reduction(block, rkh_)
    schedule.vectorize(schedule.get_loops(init)[-1])
    schedule.unroll(ci)
    return schedule.mod["main"].with_attr("tir.is_scheduled", True)
