"""Hand-scheduled depthwise conv2d for integer CPU builds (MobileNet's 3x3 convs).

Used by hago_ir.relax_backend beside hago_ir.vnni_kernels: a `qnn.conv2d` whose
groups equal its input and output channels, with u8 / s8 activations, s8
weights and an int32 wrapping accumulator, becomes one TensorIR kernel with
the padding, the sums and the fused epilogue (hago_ir.kernel_epilogue) of one
output row per parallel iteration. The channels are the vector lanes (16
int32 sums per AVX-512 register) and the taps are the reduction.

A depthwise conv has no reduction over channels, so `vpdpbusd`'s sum of four
neighbouring bytes cannot run over channels as in a dense conv; it runs over
taps instead. For windows up to 4 rows high, each output row first gets a
"column" tensor: per input pixel and channel, one int32 whose bytes are the
kh vertically neighbouring inputs (byte r = row r of the window). One
lane-wise `vpdpbusd` (vnni_kernels.VNNI_LANES_INTRIN) then multiplies a
column of 16 channels by their kh weights of one window column and adds the
sums: 3 instructions per 16 outputs of a 3x3 conv, where int16 products take
9 multiplies, 9 widenings and 9 adds. Measured per kernel against that int16
form, 1.2x to 1.75x faster on MobileNetV2's shapes. Taller windows keep the
int16 form.

Layouts: activations NHWC, output NHWC; weights [KW, C/16, 16, 4] int8 for the
`vpdpbusd` form (byte r = window row r, zero past kh), [KH, KW, C] int8 for
the int16 form (`packed_weights_for` picks).
"""

from __future__ import annotations

import numpy as np

from hago_ir import kernel_epilogue
from hago_ir.cpu_schedule import SCHEDULED
from hago_ir.kernel_epilogue import Epilogue
from hago_ir.vnni_kernels import (
    VNNI_LANES_INTRIN,
    ConvGeometry,
    input_placeholder,
    padded_input,
    pixel_tile,
    register_intrinsic,
    vectorize_channels,
)

LANES = 16
TAPS_PER_LANE = 4  # the bytes of one int32 lane that vpdpbusd sums


def uses_vnni_columns(geometry: ConvGeometry) -> bool:
    """Whether the kernel sums window columns with `vpdpbusd` (windows up to 4 rows high)."""
    return geometry.kernel[0] <= TAPS_PER_LANE


def packed_weights_for(geometry: ConvGeometry, weights: np.ndarray) -> np.ndarray:
    """[C, 1, KH, KW] int8 weights packed as depthwise_conv2d_nhwc(geometry, ...) reads them."""
    if not uses_vnni_columns(geometry):
        return pack_weights(weights, geometry.channels)
    channels, _, kh, kw = weights.shape
    stored = -(-max(channels, geometry.channels) // LANES) * LANES
    packed = np.zeros((kw, stored, TAPS_PER_LANE), dtype=np.int8)
    packed[:, :channels, :kh] = weights[:, 0].transpose(2, 0, 1)  # [kw, c, r] = [c, r, kw]
    return packed.reshape(kw, stored // LANES, LANES, TAPS_PER_LANE)


def pack_weights(weights: np.ndarray, stored_channels: int | None = None) -> np.ndarray:
    """[C, 1, KH, KW] int8 -> [KH, KW, C'] with C' the (input's stored) channels rounded up to 16; zero-padded."""
    channels, _, kh, kw = weights.shape
    stored = max(channels, stored_channels or channels)
    padded = np.zeros((kh, kw, -(-stored // LANES) * LANES), dtype=np.int8)
    padded[:, :, :channels] = weights[:, 0].transpose(1, 2, 0)
    return padded


def depthwise_conv2d_nhwc(geometry: ConvGeometry, signed: bool, epilogue: Epilogue):
    """The scheduled PrimFunc (data, packed weights, *kernel_epilogue.arguments_for(epilogue)) -> out [N, OH, OW, C16*16].

    The weights are packed by packed_weights_for(geometry, ...).
    """
    if uses_vnni_columns(geometry):
        return _depthwise_vnni_columns(geometry, signed, epilogue)
    return _depthwise_int16(geometry, signed, epilogue)


def _depthwise_vnni_columns(geometry: ConvGeometry, signed: bool, epilogue: Epilogue):
    from tvm import te

    register_intrinsic()
    channels = -(-geometry.channels // LANES) * LANES
    kh, kw = geometry.kernel
    sh, sw = geometry.strides
    oh, ow = geometry.out_hw
    n = geometry.batch
    data = input_placeholder(geometry, signed)
    padded = padded_input(data, geometry, channels, signed)

    def column(b, y, x, c):
        packed = padded[b, y * sh, x, c].astype("int32")
        for r in range(1, kh):
            packed = packed | (padded[b, y * sh + r, x, c].astype("int32") << (8 * r))
        return packed

    # One row of columns per output row: [N, OH, padded width, C] int32.
    columns = te.compute((n, oh, padded.shape[2], channels), column, name="columns")
    kernel = te.placeholder((kw, channels // LANES, LANES, TAPS_PER_LANE), "int8", name="kernel")
    rkw = te.reduce_axis((0, kw), "rkw")
    rr = te.reduce_axis((0, TAPS_PER_LANE), "rr")
    sums = te.compute(
        (n, oh, ow, channels),
        lambda b, y, x, c: te.sum(
            ((columns[b, y, x * sw + rkw, c] >> (rr * 8)) & 255) * kernel[rkw, c // LANES, c % LANES, rr].astype("int32"),
            axis=[rkw, rr],
        ),
        name="conv",
    )
    schedule, block = _schedule_with_epilogue(data, kernel, sums, epilogue, channels)
    b, y, x, c, rkw_, rr_ = schedule.get_loops(block)
    co, ci = schedule.split(c, [None, LANES])
    tile = pixel_tile(ow)
    xo, xi = schedule.split(x, [None, tile])
    schedule.reorder(b, y, xo, co, rkw_, xi, ci, rr_)
    rows = schedule.fuse(b, y)
    schedule.parallel(rows)
    # Each output row builds its kh padded input rows, then its columns.
    columns_block = schedule.get_sblock("columns")
    schedule.compute_at(columns_block, rows)
    schedule.compute_at(schedule.get_sblock("padded"), rows)
    for each in (columns_block, schedule.get_sblock("padded")):
        _, inner = schedule.split(schedule.get_loops(each)[-1], [None, LANES])
        schedule.vectorize(inner)
    schedule.unroll(xi)
    _finish(schedule, block, co, rkw_)
    schedule.tensorize(ci, VNNI_LANES_INTRIN)
    return schedule.mod["main"].with_attr(SCHEDULED, True)


def _depthwise_int16(geometry: ConvGeometry, signed: bool, epilogue: Epilogue):
    """Taller windows: int16 products (vpmullw), widened and summed in int32."""
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
    schedule, block = _schedule_with_epilogue(data, kernel, sums, epilogue, channels)
    b, y, x, c, rkh_, rkw_ = schedule.get_loops(block)
    co, ci = schedule.split(c, [None, LANES])
    # A tile of neighbouring output pixels shares its input loads: pixel
    # x + 1's tap kw reads what pixel x's tap kw + 1 read.
    tile = pixel_tile(ow) if sw == 1 else 1
    xo, xi = schedule.split(x, [None, tile])
    schedule.reorder(b, y, xo, co, rkh_, xi, rkw_, ci)
    rows = schedule.fuse(b, y)
    schedule.parallel(rows)
    pad_block = schedule.get_sblock("padded")
    schedule.compute_at(pad_block, rows)
    _, inner = schedule.split(schedule.get_loops(pad_block)[-1], [None, LANES])
    schedule.vectorize(inner)
    schedule.unroll(xi)
    schedule.unroll(rkw_)
    _finish(schedule, block, co, rkh_)
    schedule.unroll(ci)
    return schedule.mod["main"].with_attr(SCHEDULED, True)


def _schedule_with_epilogue(data, kernel, sums, epilogue: Epilogue, channels: int):
    """The schedule of (data, kernel, *epilogue arguments) -> epilogue(sums), and its "conv" block."""
    import tvm
    from tvm import te

    arguments = kernel_epilogue.placeholders(epilogue, channels)
    out = kernel_epilogue.apply(sums, epilogue, arguments)
    schedule = tvm.s_tir.Schedule(te.create_prim_func([data, kernel, *arguments, out]))
    return schedule, schedule.get_sblock("conv")


def _finish(schedule, block, channel_block_loop, first_reduction) -> None:
    """Both forms' last steps: the epilogue per block of 16 channels, vectorized; the sums' zeroing split off."""
    epilogue_block = schedule.get_sblock("epilogue")
    schedule.reverse_compute_at(epilogue_block, channel_block_loop)
    vectorize_channels(schedule, epilogue_block)
    init = schedule.decompose_reduction(block, first_reduction)
    schedule.vectorize(schedule.get_loops(init)[-1])
