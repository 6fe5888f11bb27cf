"""Hand-scheduled int8 x int8 -> int16 conv2d (depthwise too) and dense, for NEON's `smlal` and x86.

Used by hago_ir.relax_backend for every CPU target (`to_relax(...,
int16=True)`): a `qnn.conv2d` or `qnn.dense` with int8 activations and
weights and an int16 wrapping accumulator (the arm-a72-i16 spec's rule: the
Cortex-A72's `smlal` on .8h lanes) becomes a call to this kernel. Left to
Relax and the default CPU schedule, those convs compiled to scalar loops on
aarch64 (`ldrsb` + `madd` per product; only the first conv of the
Fashion-MNIST CNN was vectorized by LLVM) and ran 16-18x slower on x86 (that
CNN at batch 1: 2.2 ms against 0.12-0.14 ms, benchmarks/kernels_benchmark.py); here every
product is a lane of `smlal` / `smlal2` on aarch64 (AVX-512 multiplies and
adds of int16 on x86).

Layouts: activations NHWC (kept from kernel to kernel, as the VNNI kernels
keep them), weights packed at build time to [O/16, KH, KW, C, 16]: one
16-byte vector of 16 output channels' weights per tap and input channel.
The register tile is up to 8 output pixels x 16 output channels (two int16x8
accumulators per pixel on NEON): each step loads one weight vector and
broadcasts each pixel's input byte, and LLVM turns the widening
multiply-add into `smlal` (low 8 lanes) and `smlal2` (high 8). Depthwise
convs (weights [C/16, KH, KW, 16]) multiply the weight vector by 16
channels of input instead of a broadcast byte. The sums wrap in int16
lanes, which is what the accumulator's wrap means (modular addition: any
order gives the same wrapped sum). The bias (wrapped to int16) and the
requantize run on the tile (hago_ir.kernel_epilogue), so the int16 sums
never reach memory. Threads split the output rows; each pads its band of
input rows.

The schedule is plain TensorIR (split, reorder, vectorize, unroll, parallel;
no intrinsic), so the same kernel builds for both: the tests run it on x86
bit for bit and read `smlal` in the aarch64 assembly. It has not run on a
Cortex-A72 (benchmarks/neon_estimate.py estimates it there).
"""

from __future__ import annotations

import numpy as np

from hago_ir import kernel_epilogue
from hago_ir.cpu_schedule import SCHEDULED
from hago_ir.kernel_epilogue import Epilogue
from hago_ir.vnni_kernels import ConvGeometry, pixel_tile, vectorize_channels, vectorize_row

LANES = 16  # output channels per weight vector: one q register of int8


def pack_weights(weights: np.ndarray) -> np.ndarray:
    """OIHW int8 -> [O/16, KH, KW, C, 16] (output channels zero-padded to whole blocks)."""
    out_channels, channels, kh, kw = weights.shape
    o_blocks = -(-out_channels // LANES)
    padded = np.zeros((o_blocks * LANES, channels, kh, kw), dtype=np.int8)
    padded[:out_channels] = weights
    return np.ascontiguousarray(padded.reshape(o_blocks, LANES, channels, kh, kw).transpose(0, 3, 4, 2, 1))


def pack_depthwise_weights(weights: np.ndarray, channels: int) -> np.ndarray:
    """[C, 1, KH, KW] int8 -> [C16, KH, KW, 16], zero-padded to `channels` rounded up to whole blocks."""
    real, _, kh, kw = weights.shape
    blocks = -(-channels // LANES)
    padded = np.zeros((blocks * LANES, kh, kw), dtype=np.int8)
    padded[:real] = weights[:, 0]
    return np.ascontiguousarray(padded.reshape(blocks, LANES, kh, kw).transpose(0, 2, 3, 1))


def conv2d_nhwc_i16(geometry: ConvGeometry, epilogue: Epilogue, depthwise: bool = False):
    """The scheduled PrimFunc (data, packed weights, *kernel_epilogue.arguments_for(epilogue)) -> out.

    data: NHWC [N, H, W, C] int8, unpadded; weights: pack_weights' layout, or
    pack_depthwise_weights' for a `depthwise` conv (one filter per channel:
    the channels are the lanes, and the weight vector is multiplied by the
    input vector instead of a broadcast byte); out: NHWC [N, OH, OW, O16*16]
    in the epilogue's dtype (int16 sums without a requantize).
    `epilogue.accumulator` must be int16.
    """
    import tvm
    from tvm import te
    from tvm import tirx as tir

    if geometry.nchw_input or epilogue.accumulator != "int16":
        raise ValueError("the int16 kernels read NHWC inputs and sum in int16")
    n, h, w, c = geometry.batch, geometry.height, geometry.width, geometry.channels
    (kh, kw), (sh, sw), (top, left, bottom, right) = geometry.kernel, geometry.strides, geometry.pads
    oh, ow = geometry.out_hw
    o_blocks = -(-(c if depthwise else geometry.out_channels) // LANES)
    data = te.placeholder((n, h, w, c), "int8", name="data")
    # A depthwise conv reads input channel o for output channel o: its input
    # is padded to the whole blocks of 16 lanes it reads (zeros past C).
    channels = o_blocks * LANES if depthwise else c
    if geometry.pads == (0, 0, 0, 0) and channels == c:
        padded = data
    else:
        padded = te.compute(
            (n, h + top + bottom, w + left + right, channels),
            lambda b, y, x, k: tir.if_then_else(
                tir.all(y >= top, y < h + top, x >= left, x < w + left, k < c),
                data[b, y - top, x - left, k], tir.const(0, "int8")),
            name="padded",
        )
    rkh = te.reduce_axis((0, kh), "rkh")
    rkw = te.reduce_axis((0, kw), "rkw")
    if depthwise:
        kernel = te.placeholder((o_blocks, kh, kw, LANES), "int8", name="kernel")
        sums = te.compute(
            (n, oh, ow, o_blocks * LANES),
            lambda b, y, x, o: te.sum(
                padded[b, y * sh + rkh, x * sw + rkw, o].astype("int16")
                * kernel[o // LANES, rkh, rkw, o % LANES].astype("int16"),
                axis=[rkh, rkw],
            ),
            name="conv",
        )
    else:
        kernel = te.placeholder((o_blocks, kh, kw, c, LANES), "int8", name="kernel")
        rc = te.reduce_axis((0, c), "rc")
        sums = te.compute(
            (n, oh, ow, o_blocks * LANES),
            lambda b, y, x, o: te.sum(
                padded[b, y * sh + rkh, x * sw + rkw, rc].astype("int16")
                * kernel[o // LANES, rkh, rkw, rc, o % LANES].astype("int16"),
                axis=[rkh, rkw, rc],
            ),
            name="conv",
        )
    arguments = kernel_epilogue.placeholders(epilogue, o_blocks * LANES)
    out = kernel_epilogue.apply(sums, epilogue, arguments)
    schedule = tvm.s_tir.Schedule(te.create_prim_func([data, kernel, *arguments, out]))

    block = schedule.get_sblock("conv")
    b, y, x, o, *reductions = schedule.get_loops(block)
    oo, oi = schedule.split(o, [None, LANES])
    xo, xi = schedule.split(x, [None, pixel_tile(ow)])
    schedule.reorder(b, y, xo, oo, *reductions, xi, oi)
    rows = schedule.fuse(b, y)
    schedule.parallel(rows)
    if padded is not data:
        pad_block = schedule.get_sblock("padded")
        if kh > 3:  # a band of kh rows per output row would copy each input row kh / sh times
            schedule.parallel(schedule.fuse(*schedule.get_loops(pad_block)[:2]))
        else:
            schedule.compute_at(pad_block, rows)
        vectorize_row(schedule, pad_block)
    # The epilogue of one register tile, while its sums are still in registers.
    epilogue_block = schedule.get_sblock("epilogue")
    schedule.reverse_compute_at(epilogue_block, oo)
    vectorize_channels(schedule, epilogue_block)
    schedule.vectorize(oi)  # before the init is split off (TIR refuses to vectorize the update alone)
    init = schedule.decompose_reduction(block, reductions[0])
    schedule.vectorize(schedule.get_loops(init)[-1])
    schedule.unroll(xi)
    return schedule.mod["main"].with_attr(SCHEDULED, True)
