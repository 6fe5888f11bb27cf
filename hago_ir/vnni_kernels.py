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

import numpy as np

VNNI_INTRIN = "hago_dot_16x4_vnni"
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
    _registered = True


def pack_weights(weights: np.ndarray) -> np.ndarray:
    """OIHW int8 -> [O/16, KH, KW, C/4, 16, 4] (zero-padded to whole blocks)."""
    out_channels, in_channels, kh, kw = weights.shape
    o_blocks, c_blocks = -(-out_channels // 16), -(-in_channels // 4)
    padded = np.zeros((o_blocks * 16, c_blocks * 4, kh, kw), dtype=np.int8)
    padded[:out_channels, :in_channels] = weights
    packed = padded.reshape(o_blocks, 16, c_blocks, 4, kh, kw).transpose(0, 4, 5, 2, 1, 3)
    return np.ascontiguousarray(packed)


def conv2d_nhwc_vnni(
    input_shape: tuple[int, int, int, int], packed_shape: tuple[int, ...], strides: tuple[int, int],
    out_hw: tuple[int, int],
):
    """The scheduled PrimFunc: padded NHWC u8 input [N, H+pads, W+pads, C4*4] (already padded),
    packed int8 weights, int32 NHWC output [N, OH, OW, O16*16]."""
    import tvm
    from tvm import te

    register_intrinsic()
    n, h, w, c = input_shape
    o_blocks, kh, kw, c_blocks, _, _ = packed_shape
    oh, ow = out_hw
    sh, sw = strides
    data = te.placeholder((n, h, w, c), "uint8", name="data")
    kernel = te.placeholder(packed_shape, "int8", name="kernel")
    rkh = te.reduce_axis((0, kh), "rkh")
    rkw = te.reduce_axis((0, kw), "rkw")
    rc = te.reduce_axis((0, c_blocks * 4), "rc")
    out = te.compute(
        (n, oh, ow, o_blocks * 16),
        lambda b, y, x, o: te.sum(
            data[b, y * sh + rkh, x * sw + rkw, rc].astype("int32")
            * kernel[o // 16, rkh, rkw, rc // 4, o % 16, rc % 4].astype("int32"),
            axis=[rkh, rkw, rc],
        ),
        name="conv",
    )
    func = te.create_prim_func([data, kernel, out])
    schedule = tvm.s_tir.Schedule(func)
    block = schedule.get_sblock("conv")
    b, y, x, o, rkh_, rkw_, rc_ = schedule.get_loops(block)
    oo, oi = schedule.split(o, [None, 16])
    rco, rci = schedule.split(rc_, [None, 4])
    # Output width in register tiles of up to 8 pixels: 8 accumulators of 16 lanes.
    tile = next(t for t in (8, 7, 6, 5, 4, 3, 2, 1) if ow % t == 0)
    xo, xi = schedule.split(x, [None, tile])
    schedule.reorder(b, y, xo, oo, rkh_, rkw_, rco, xi, oi, rci)
    fused = schedule.fuse(b, y)
    schedule.parallel(fused)
    init = schedule.decompose_reduction(block, rkh_)
    schedule.vectorize(schedule.get_loops(init)[-1])
    schedule.unroll(xi)
    schedule.tensorize(oi, VNNI_INTRIN)
    return schedule.mod["main"]
