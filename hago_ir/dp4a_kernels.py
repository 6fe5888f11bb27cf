"""Hand-scheduled CUDA kernels for int8 conv2d and dense on `dp4a` (cuda builds).

Used by hago_ir.relax_backend when it emits for the `cuda` target
(`to_relax(..., dp4a=True)`): a `qnn.conv2d` or `qnn.dense` with int8
activations and weights and an int32 wrapping accumulator (the cuda-dp4a
spec's rule) becomes a call to this kernel instead of Relax's generic conv2d,
which TVM's default GPU schedules (dlight's fallback) run as scalar int32
multiply-adds. `__dp4a` (PTX `dp4a.s32.s32`, every NVIDIA GPU since Pascal)
sums four int8 x int8 products into an int32 in one instruction.

Layouts are the VNNI kernels' (hago_ir.vnni_kernels), so the same packing and
the NHWC plumbing of the emitter serve both: activations NHWC, weights
[O/16, KH, KW, C/4, 16, 4] (vnni_kernels.pack_weights), output NHWC with the
channels padded to whole blocks of 16. The four input channels of a
reduction step are one 32-bit word in both operands, the `dp4a` operands.

Schedule: one thread block per output row segment and group of output
channels; each thread sums a small register tile (up to 4 neighbouring
pixels x 4 output channels) over the whole window and channels, one `dp4a`
per pixel, channel and group of 4 input channels, then applies the fused
epilogue (bias, requantize, clip, cast: hago_ir.kernel_epilogue) and writes
its outputs. Threads of a warp share their input words (same pixel, other
output channels) and read neighbouring weight words. A zero-padded copy of
the input (spatial padding, channels to a multiple of 4) is made first, by a
kernel of its own, when the conv pads.

Where the kernels have been checked: the computation (before scheduling) is
compared bit for bit with numpy on the CPU; the scheduled kernel compiles
with nvcc and its PTX holds `dp4a`; it runs only where a CUDA GPU is
present (test/pytest/test_dp4a_kernels.py says which of these a machine did).
"""

from __future__ import annotations

from hago_ir import kernel_epilogue
from hago_ir.cpu_schedule import SCHEDULED
from hago_ir.kernel_epilogue import Epilogue
from hago_ir.vnni_kernels import ConvGeometry, packed_conv_sums

DP4A_INTRIN = "hago_dp4a_s8s8s32"
# Per thread: up to this many neighbouring output pixels x 4 output channels.
PIXELS_PER_THREAD = 4
# Threads per block along a row's pixels and along the output channels (groups of 4).
PIXEL_THREADS = 16
CHANNEL_THREADS = 16
_registered = False


def register_intrinsic() -> None:
    """`dp4a` on int8 words read from global memory into an int32 register.

    TVM's own dp4a intrinsics expect both operands in shared memory; these
    kernels read them straight from global memory (the L1 cache serves the
    reuse), so the description is the same with the operands in global scope.
    """
    global _registered
    if _registered:
        return
    from tvm.s_tir import TensorIntrin
    from tvm.script import tirx as T

    @T.prim_func(s_tir=True)
    def description(
        A: T.Buffer((4,), "int8", offset_factor=1, align=4),
        B: T.Buffer((4,), "int8", offset_factor=1, align=4),
        C: T.Buffer((1,), "int32", offset_factor=1, align=4, scope="local"),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0], A[0:4], B[0:4])
            T.writes(C[0])
            for i in range(0, 4):
                with T.sblock("update"):
                    vi = T.axis.remap("R", [i])
                    C[0] = C[0] + T.cast(A[vi], "int32") * T.cast(B[vi], "int32")

    @T.prim_func(s_tir=True)
    def implementation(
        A: T.Buffer((4,), "int8", offset_factor=1, align=4),
        B: T.Buffer((4,), "int8", offset_factor=1, align=4),
        C: T.Buffer((1,), "int32", offset_factor=1, align=4, scope="local"),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0], A[0:4], B[0:4])
            T.writes(C[0])
            C[0] += T.call_pure_extern("__dp4a", A.vload([0], "int8x4"), B.vload([0], "int8x4"), T.int32(0),
                                       dtype="int32")

    TensorIntrin.register(DP4A_INTRIN, description, implementation, override=True)
    _registered = True


def conv2d_nhwc_dp4a_compute(geometry: ConvGeometry, epilogue: Epilogue):
    """The unscheduled PrimFunc (data, packed weights, *kernel_epilogue.arguments_for(epilogue)) -> out.

    data: NHWC [N, H, W, C] int8, unpadded; weights: vnni_kernels.pack_weights's
    layout; out: NHWC [N, OH, OW, O16*16] in the epilogue's dtype. Any LLVM
    target runs it (slowly): it is what `conv2d_nhwc_dp4a` schedules.
    """
    from tvm import te
    from tvm import tirx as tir

    if geometry.nchw_input:
        raise ValueError("the dp4a kernels read NHWC inputs")
    n, h, w, c = geometry.batch, geometry.height, geometry.width, geometry.channels
    (kh, kw), (sh, sw), (top, left, bottom, right) = geometry.kernel, geometry.strides, geometry.pads
    oh, ow = geometry.out_hw
    o_blocks, c_blocks = -(-geometry.out_channels // 16), -(-c // 4)
    data = te.placeholder((n, h, w, c), "int8", name="data")
    if geometry.pads == (0, 0, 0, 0) and c % 4 == 0:
        padded = data
    else:
        padded = te.compute(
            (n, h + top + bottom, w + left + right, c_blocks * 4),
            lambda b, y, x, k: tir.if_then_else(
                tir.all(y >= top, y < h + top, x >= left, x < w + left, k < c),
                data[b, y - top, x - left, k], tir.const(0, "int8")),
            name="padded",
        )
    kernel, sums = packed_conv_sums(padded, (n, oh, ow, o_blocks * 16), (kh, kw), (sh, sw))
    arguments = kernel_epilogue.placeholders(epilogue, o_blocks * 16)
    out = kernel_epilogue.apply(sums, epilogue, arguments, gpu=True)
    return te.create_prim_func([data, kernel, *arguments, out])


def _largest_divisor(extent: int, at_most: int) -> int:
    return next(d for d in range(min(extent, at_most), 0, -1) if extent % d == 0)


def conv2d_nhwc_dp4a(geometry: ConvGeometry, epilogue: Epilogue):
    """conv2d_nhwc_dp4a_compute(geometry, epilogue), scheduled for CUDA on `dp4a`."""
    import tvm

    register_intrinsic()
    schedule = tvm.s_tir.Schedule(conv2d_nhwc_dp4a_compute(geometry, epilogue))
    oh, ow = geometry.out_hw
    out_words = -(-geometry.out_channels // 16) * 4  # output channels in groups of 4
    pixels = _largest_divisor(ow, PIXELS_PER_THREAD)
    pixel_threads = _largest_divisor(ow // pixels, PIXEL_THREADS)
    channel_threads = _largest_divisor(out_words, CHANNEL_THREADS)

    output = schedule.get_sblock("epilogue")
    b, y, x, o = schedule.get_loops(output)
    xo, xt, xi = schedule.split(x, [None, pixel_threads, pixels])
    oo, ot, oi = schedule.split(o, [None, channel_threads, 4])
    schedule.reorder(b, y, xo, oo, xt, ot, xi, oi)
    schedule.bind(schedule.fuse(b, y, xo), "blockIdx.x")
    schedule.bind(oo, "blockIdx.y")
    schedule.bind(xt, "threadIdx.y")
    schedule.bind(ot, "threadIdx.x")

    # Each thread's sums live in registers; the reduction runs in one thread.
    conv = schedule.get_sblock("conv")
    schedule.compute_at(conv, ot, preserve_unit_loops=True)  # a 1x1 window keeps its loops too
    schedule.set_scope(conv, 0, "local")
    *_, px, oc, rkh, rkw, rc = schedule.get_loops(conv)
    rco, rci = schedule.split(rc, [None, 4])
    schedule.reorder(rkh, rkw, rco, px, oc, rci)
    schedule.decompose_reduction(conv, rkh)
    schedule.tensorize(rci, DP4A_INTRIN)

    try:
        padded = schedule.get_sblock("padded")
    except tvm.s_tir.schedule.ScheduleError:
        padded = None
    if padded is not None:  # a kernel of its own, one byte per thread
        blocks, threads = schedule.split(schedule.fuse(*schedule.get_loops(padded)), [None, 256])
        schedule.bind(blocks, "blockIdx.x")
        schedule.bind(threads, "threadIdx.x")
    return schedule.mod["main"].with_attr(SCHEDULED, True)
