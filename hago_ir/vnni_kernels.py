"""Hand-scheduled AVX-512 VNNI kernels for integer conv2d (x86-vnni builds).

Used by hago_ir.relax_backend when it emits for a VNNI target: a `qnn.conv2d`
with uint8 activations, int8 weights and an int32 wrapping accumulator (the
x86-vnni rule) becomes a call to this TensorIR kernel instead of Relax's
generic conv2d, which no schedule tensorizes.

Layouts: activations NHWC with channels padded to a multiple of 4, weights
packed offline to [O/16, KH, KW, C/4, 16, 4], output NHWC int32. The inner
16 output channels x 4 input channels are one `vpdpbusd` (16 int32 lanes, each
the sum of four u8 x s8 products), so the schedule tensorizes that 16x4 block.

TVM 0.27's own `dot_16x4_vnni` intrinsic passes `<16 x i32>` operands to
`llvm.x86.avx512.vpdpbusd.512`, which LLVM 22 declares with `<64 x i8>`
operands; the module fails to build and MetaSchedule silently keeps a slow
kernel. `VNNI_INTRIN` is the same description with the operands reinterpreted
as u8x64 / i8x64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hago_ir import kernel_epilogue
from hago_ir.cpu_schedule import SCHEDULED
from hago_ir.kernel_epilogue import Epilogue

VNNI_INTRIN = "hago_dot_16x4_vnni"
VNNI_LANES_INTRIN = "hago_dot_16x4_lanes_vnni"
OC_BLOCKS = 2
PIXEL_TILE = 8
# Above this much packed weight (L2-sized), threads split output channels, not rows.
CHANNEL_PARALLEL_WEIGHT_BYTES = 256 * 1024
_registered = False


def register_intrinsic() -> None:
    global _registered
    if _registered:
        return
    from tvm.s_tir import TensorIntrin
    from tvm.script import tirx as T

    @T.prim_func(s_tir=True)
    def description(
        A: T.Buffer((4,), "uint8", offset_factor=1),
        B: T.Buffer((16, 4), "int8", offset_factor=1),
        C: T.Buffer((16,), "int32", offset_factor=1),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0:16], A[0:4], B[0:16, 0:4])
            T.writes(C[0:16])
            for i in T.serial(0, 16):
                for k in T.serial(0, 4):
                    with T.sblock("update"):
                        vi, vk = T.axis.remap("SR", [i, k])
                        C[vi] = C[vi] + T.cast(A[vk], "int32") * T.cast(B[vi, vk], "int32")

    @T.prim_func(s_tir=True)
    def implementation(
        A: T.Buffer((4,), "uint8", offset_factor=1),
        B: T.Buffer((16, 4), "int8", offset_factor=1),
        C: T.Buffer((16,), "int32", offset_factor=1),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0:16], A[0:4], B[0:16, 0:4])
            T.writes(C[0:16])
            A_i32 = T.reinterpret(A.vload([0], "uint8x4"), dtype="int32")
            A_u8x64 = T.reinterpret(T.broadcast(A_i32, 16), dtype="uint8x64")
            B_i8x64 = B.vload([0, 0], dtype="int8x64")
            C[T.ramp(T.int32(0), 1, 16)] = T.call_llvm_pure_intrin(
                T.llvm_lookup_intrinsic_id("llvm.x86.avx512.vpdpbusd.512"),
                C.vload([0], dtype="int32x16"), A_u8x64, B_i8x64, dtype="int32x16",
            )

    TensorIntrin.register(VNNI_INTRIN, description, implementation, override=True)

    # The lane-wise form, for depthwise convs: each int32 lane of A holds four
    # u8 taps of its own channel (byte k = tap k), multiplied by that lane's
    # four weights; no broadcast.
    @T.prim_func(s_tir=True)
    def lanes_description(
        A: T.Buffer((16,), "int32", offset_factor=1),
        B: T.Buffer((16, 4), "int8", offset_factor=1),
        C: T.Buffer((16,), "int32", offset_factor=1),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0:16], A[0:16], B[0:16, 0:4])
            T.writes(C[0:16])
            for i in T.serial(0, 16):
                for k in T.serial(0, 4):
                    with T.sblock("update"):
                        vi, vk = T.axis.remap("SR", [i, k])
                        C[vi] = C[vi] + T.bitwise_and(T.shift_right(A[vi], vk * 8), 255) * T.cast(B[vi, vk], "int32")

    @T.prim_func(s_tir=True)
    def lanes_implementation(
        A: T.Buffer((16,), "int32", offset_factor=1),
        B: T.Buffer((16, 4), "int8", offset_factor=1),
        C: T.Buffer((16,), "int32", offset_factor=1),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0:16], A[0:16], B[0:16, 0:4])
            T.writes(C[0:16])
            C[T.ramp(T.int32(0), 1, 16)] = T.call_llvm_pure_intrin(
                T.llvm_lookup_intrinsic_id("llvm.x86.avx512.vpdpbusd.512"),
                C.vload([0], dtype="int32x16"), T.reinterpret(A.vload([0], dtype="int32x16"), dtype="uint8x64"),
                B.vload([0, 0], dtype="int8x64"), dtype="int32x16",
            )

    TensorIntrin.register(VNNI_LANES_INTRIN, lanes_description, lanes_implementation, override=True)
    _registered = True


def pack_weights(weights: np.ndarray) -> np.ndarray:
    """OIHW int8 -> [O/16, KH, KW, C/4, 16, 4] (zero-padded to whole blocks)."""
    out_channels, in_channels, kh, kw = weights.shape
    o_blocks, c_blocks = -(-out_channels // 16), -(-in_channels // 4)
    padded = np.zeros((o_blocks * 16, c_blocks * 4, kh, kw), dtype=np.int8)
    padded[:out_channels, :in_channels] = weights
    packed = padded.reshape(o_blocks, 16, c_blocks, 4, kh, kw).transpose(0, 4, 5, 2, 1, 3)
    return np.ascontiguousarray(packed)


@dataclass(frozen=True)
class ConvGeometry:
    """A conv2d's static shape: NHWC input (unpadded), OIHW weights, strides, pads (t, l, b, r).

    `nchw_input`: the input is NCHW instead (a stem reading the model's
    quantized input as it comes: a row's neighbouring taps are contiguous
    there, so no transpose to NHWC is needed; see `conv2d_nhwc_vnni`).
    """

    batch: int
    height: int
    width: int
    channels: int
    out_channels: int
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    nchw_input: bool = False

    @property
    def out_hw(self) -> tuple[int, int]:
        (kh, kw), (sh, sw), (top, left, bottom, right) = self.kernel, self.strides, self.pads
        return (self.height + top + bottom - kh) // sh + 1, (self.width + left + right - kw) // sw + 1


def input_placeholder(geometry: ConvGeometry, signed: bool):
    """TE: a fast kernel's NHWC (or NCHW, geometry.nchw_input) activation input, int8 when `signed`, else uint8."""
    from tvm import te

    n, h, w, c = geometry.batch, geometry.height, geometry.width, geometry.channels
    shape = (n, c, h, w) if geometry.nchw_input else (n, h, w, c)
    return te.placeholder(shape, "int8" if signed else "uint8", name="data")


def padded_input(data, geometry: ConvGeometry, channels: int, signed: bool, name: str = "padded"):
    """TE: the zero-padded u8 input, channels padded to `channels` (`data` itself when no padding is needed).

    Signed (s8) activations are shifted by +128 into u8, and padded with 128
    (the shifted zero); the kernel's caller takes the shift back through the
    bias (128 x the sum of each channel's weights).
    """
    from tvm import te
    from tvm import tirx as tir

    top, left, bottom, right = geometry.pads
    h, w, c = geometry.height, geometry.width, geometry.channels
    pad_value = tir.const(128 if signed else 0, "uint8")
    if not signed and channels == c and geometry.pads == (0, 0, 0, 0) and not geometry.nchw_input:
        return data

    def value(n, y, x, k):
        inside = tir.all(y >= top, y < h + top, x >= left, x < w + left, k < c)
        loaded = data[n, k, y - top, x - left] if geometry.nchw_input else data[n, y - top, x - left, k]
        if signed:
            loaded = (loaded.astype("int16") + tir.const(128, "int16")).astype("uint8")
        return tir.if_then_else(inside, loaded, pad_value)

    return te.compute((geometry.batch, h + top + bottom, w + left + right, channels), value, name=name)


def packed_conv_sums(padded, out_shape: tuple[int, int, int, int], kernel: tuple[int, int],
                     strides: tuple[int, int]):
    """TE: (packed weights placeholder, int32 sums "conv") of a conv over an NHWC input
    already padded (spatially, and to whole groups of 4 channels): `out_shape` is
    [N, OH, OW, O16*16], the weights pack_weights' [O/16, KH, KW, C/4, 16, 4]."""
    from tvm import te

    (kh, kw), (sh, sw) = kernel, strides
    o_blocks, c_blocks = out_shape[3] // 16, int(padded.shape[3]) // 4
    weights = te.placeholder((o_blocks, kh, kw, c_blocks, 16, 4), "int8", name="kernel")
    rkh = te.reduce_axis((0, kh), "rkh")
    rkw = te.reduce_axis((0, kw), "rkw")
    rc = te.reduce_axis((0, c_blocks * 4), "rc")
    sums = te.compute(
        out_shape,
        lambda b, y, x, o: te.sum(
            padded[b, y * sh + rkh, x * sw + rkw, rc].astype("int32")
            * weights[o // 16, rkh, rkw, rc // 4, o % 16, rc % 4].astype("int32"),
            axis=[rkh, rkw, rc],
        ),
        name="conv",
    )
    return weights, sums


def pixel_tile(width: int) -> int:
    """The most neighbouring output pixels (at most PIXEL_TILE) that divide a row of `width`."""
    return next(t for t in range(PIXEL_TILE, 0, -1) if width % t == 0)


def vectorize_row(schedule, block) -> None:
    """Vectorize a block's two innermost loops (a row's pixels x channels) as one."""
    x, k = schedule.get_loops(block)[-2:]
    fused = schedule.fuse(x, k)
    extent = int(schedule.get(fused).extent)
    lanes = next((v for v in (64, 32, 16, 8, 4) if extent % v == 0), None)
    if lanes is not None:
        schedule.vectorize(schedule.split(fused, [None, lanes])[1])


def vectorize_channels(schedule, block) -> None:
    """Vectorize an epilogue's channel loop; one cut short by the real channel
    count (a partial last block) is unrolled instead."""
    from tvm.s_tir.schedule import ScheduleError

    inner = schedule.get_loops(block)[-1]
    try:
        schedule.vectorize(inner)
    except ScheduleError:
        schedule.unroll(inner)


def uses_width_columns(geometry: ConvGeometry) -> bool:
    """Few input channels (4 or fewer) and a window wider than 1: a stem. On an NHWC input the kernel
    turns the width taps into channels; on an NCHW one (`nchw_input`) it reads them from the planes."""
    return geometry.channels <= 4 and geometry.kernel[1] > 1


def row_span(geometry: ConvGeometry) -> int:
    """An NCHW stem's taps per channel and kernel row: kw rounded up to whole vpdpbusd groups of 4."""
    return -(-geometry.kernel[1] // 4) * 4


def packed_weights_for(geometry: ConvGeometry, weights: np.ndarray) -> np.ndarray:
    """OIHW int8 weights packed as conv2d_nhwc_vnni(geometry, ...) reads them."""
    out_channels, channels, kh, kw = weights.shape
    if geometry.nchw_input:  # [o, c * span + kw, kh, 1] = [o, c, kh, kw]; taps past kw are zero
        span = row_span(geometry)
        weights = np.pad(weights, [(0, 0), (0, 0), (0, 0), (0, span - kw)])
        weights = weights.transpose(0, 1, 3, 2).reshape(out_channels, channels * span, kh, 1)
    elif uses_width_columns(geometry):  # [o, kw * C + c, kh, 1] = [o, c, kh, kw]: the column layout's order
        weights = weights.transpose(0, 3, 1, 2).reshape(out_channels, kw * channels, kh, 1)
    return pack_weights(weights)


def padded_planes(data, geometry: ConvGeometry, width: int, signed: bool):
    """TE: an NCHW input zero-padded (128 when `signed`, shifted into u8 as in
    `padded_input`) to `width` columns, at least the conv's right padding."""
    from tvm import te
    from tvm import tirx as tir

    top, left, bottom, _ = geometry.pads
    h, w = geometry.height, geometry.width

    def value(n, k, y, x):
        inside = tir.all(y >= top, y < h + top, x >= left, x < w + left)
        loaded = data[n, k, y - top, x - left]
        if signed:
            loaded = (loaded.astype("int16") + tir.const(128, "int16")).astype("uint8")
        return tir.if_then_else(inside, loaded, tir.const(128 if signed else 0, "uint8"))

    return te.compute((geometry.batch, geometry.channels, h + top + bottom, width), value, name="padded")


def conv2d_nhwc_vnni(geometry: ConvGeometry, signed: bool, epilogue: Epilogue,
                     residual_adds: tuple[kernel_epilogue.ResidualAdd, ...] = ()):
    """The scheduled PrimFunc (data, packed weights, *kernel_epilogue.arguments_for(epilogue)) -> out.

    data: NHWC [N, H, W, C], uint8 (int8 when `signed`), unpadded: the kernel
    pads each input row band itself, inside the parallel loop, so no padded
    copy of the activation goes through memory. weights: packed_weights_for's layout.
    out: NHWC [N, OH, OW, O16*16] in the epilogue's dtype (int32 sums without
    a requantize). With `residual_adds` (a requantize needed), the arguments
    end with one skip tensor per add (NHWC, O16*16 channels) and the outputs
    are the adds' results instead.
    """
    import tvm
    from tvm import te
    from tvm import tirx as tir

    register_intrinsic()
    if geometry.nchw_input and not uses_width_columns(geometry):
        raise ValueError("an NCHW input is for stems (4 channels or fewer, a window wider than 1)")
    o_blocks = -(-geometry.out_channels // 16)
    kh, kw = geometry.kernel
    sh, sw = geometry.strides
    oh, ow = geometry.out_hw
    n = geometry.batch
    data = input_placeholder(geometry, signed)
    if geometry.nchw_input:
        # A stem on the model's NCHW input (an RGB image): in a channel plane
        # the taps kw..kw+3 of output pixel x are the 4 bytes at x*sw + kw,
        # so one unaligned 4-byte load is a vpdpbusd operand, whatever the
        # stride; each kernel row is `span` taps (kw rounded up to 4, the
        # extra taps with zero weights). The reduction is KH x C x span, read
        # straight from the padded planes: no gathered copy of the input.
        c, span = geometry.channels, row_span(geometry)
        width = -(-max(geometry.width + geometry.pads[1] + geometry.pads[3], (ow - 1) * sw + span) // 16) * 16
        padded = padded_planes(data, geometry, width, signed)
        kernel = te.placeholder((o_blocks, kh, 1, c * span // 4, 16, 4), "int8", name="kernel")
        rkh = te.reduce_axis((0, kh), "rkh")
        rc = te.reduce_axis((0, c), "rc")
        rk = te.reduce_axis((0, span), "rk")
        sums = te.compute(
            (n, oh, ow, o_blocks * 16),
            lambda b, y, x, o: te.sum(
                padded[b, rc, y * sh + rkh, x * sw + rk].astype("int32")
                * kernel[o // 16, rkh, 0, (rc * span + rk) // 4, o % 16, rk % 4].astype("int32"),
                axis=[rkh, rc, rk],
            ),
            name="conv",
        )
    else:
        if uses_width_columns(geometry):
            # Few NHWC input channels: the kw taps of a row become channels,
            # [N, H', OW, KW*C] (tap-major: a pixel's C channels, then the
            # next pixel's, contiguous in memory), and the conv a KH x 1 one over them.
            c, taps = geometry.channels, kw * geometry.channels
            c_blocks = -(-taps // 4)
            padded_rows = padded_input(data, geometry, c, signed)
            padded = te.compute(
                (n, padded_rows.shape[1], ow, c_blocks * 4),
                lambda b, y, x, k: tir.if_then_else(
                    k < taps, padded_rows[b, y, x * sw + k // c, k % c], tir.const(0, "uint8")),
                name="columns",
            )
            kw, sw = 1, 1
        else:
            c_blocks = -(-geometry.channels // 4)
            padded = padded_input(data, geometry, c_blocks * 4, signed)
        kernel, sums = packed_conv_sums(padded, (n, oh, ow, o_blocks * 16), (kh, kw), (sh, sw))
    arguments = kernel_epilogue.placeholders(epilogue, o_blocks * 16)
    out = kernel_epilogue.apply(sums, epilogue, arguments)
    skips, outputs = [], [out]
    if residual_adds:
        skips = [te.placeholder(out.shape, add.skip_dtype, name=f"skip{i}") for i, add in enumerate(residual_adds)]
        outputs = [kernel_epilogue.apply_residual(out, skip, add, f"residual{i}")
                   for i, (skip, add) in enumerate(zip(skips, residual_adds))]
    func = te.create_prim_func([data, kernel, *arguments, *skips, *outputs])
    schedule = tvm.s_tir.Schedule(func)
    block = schedule.get_sblock("conv")
    # Reductions: KH x KW x C (NHWC) or KH x C x span (NCHW stem); the last
    # one's groups of 4 are the vpdpbusd's.
    b, y, x, o, *reductions = schedule.get_loops(block)
    # Register tile: up to OC_BLOCKS blocks of 16 output channels x up to
    # 8 output pixels, one 16-lane accumulator each; every broadcast input
    # word feeds OC_BLOCKS vpdpbusd, every weight vector `tile` of them.
    oc_tile = next(t for t in (OC_BLOCKS, 1) if o_blocks % t == 0)
    oo, oj, oi = schedule.split(o, [None, oc_tile, 16])
    rco, rci = schedule.split(reductions[-1], [None, 4])
    outer_reductions = [*reductions[:-1], rco]
    tile = pixel_tile(ow)
    xo, xi = schedule.split(x, [None, tile])
    pad_block = schedule.get_sblock("padded") if padded is not data else None
    if padded.op.name == "columns":
        if padded.op.input_tensors[0] is not data:
            schedule.compute_inline(schedule.get_sblock("padded"))
        pad_block = schedule.get_sblock("columns")
    weight_bytes = int(np.prod([int(d) for d in kernel.shape]))
    if weight_bytes > CHANNEL_PARALLEL_WEIGHT_BYTES or n * oh < 8:
        # Deep layers: few pixels, many weights. Threads split the output
        # channels, so each weight block is loaded once for all pixels; the
        # (small) padded input is built once, before the parallel loop.
        schedule.reorder(oo, b, y, xo, *outer_reductions, xi, oj, oi, rci)
        schedule.parallel(oo)
        tile_loop = xo
    else:
        # Early layers: threads split the output rows; each builds the padded
        # input band of its row itself.
        schedule.reorder(b, y, xo, oo, *outer_reductions, xi, oj, oi, rci)
        rows = schedule.fuse(b, y)
        schedule.parallel(rows)
        if pad_block is not None:
            # A band of kh rows per output row would copy each input row kh / sh
            # times; an NCHW stem's planes (a few channels) are cheapest built once.
            if kh > 3 or geometry.nchw_input:
                rows_of_pad = schedule.get_loops(pad_block)[:3 if geometry.nchw_input else 2]
                schedule.parallel(schedule.fuse(*rows_of_pad))
            else:
                schedule.compute_at(pad_block, rows)
        tile_loop = oo
    if padded.op.name == "columns":
        schedule.unroll(schedule.get_loops(pad_block)[-1])
    elif geometry.nchw_input:  # a plane row: its width is a multiple of 16
        schedule.vectorize(schedule.split(schedule.get_loops(pad_block)[-1], [None, 16])[1])
    elif pad_block is not None:
        vectorize_row(schedule, pad_block)
    # The epilogue of one register tile, while its sums are still hot.
    epilogue_block = schedule.get_sblock("epilogue")
    schedule.reverse_compute_at(epilogue_block, tile_loop)
    vectorize_channels(schedule, epilogue_block)
    for index in range(len(residual_adds)):
        residual_block = schedule.get_sblock(f"residual{index}")
        schedule.reverse_compute_at(residual_block, tile_loop)
        vectorize_channels(schedule, residual_block)
    init = schedule.decompose_reduction(block, outer_reductions[0])
    schedule.vectorize(schedule.get_loops(init)[-1])
    schedule.unroll(xi)
    schedule.unroll(oj)
    schedule.tensorize(oi, VNNI_INTRIN)
    return schedule.mod["main"].with_attr(SCHEDULED, True)
