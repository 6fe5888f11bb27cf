"""Hand-scheduled NHWC max pool with the requantizes that read it (CPU builds).

Used by hago_ir.relax_backend for a `qsim.max_pool2d` on a value the fast
kernels hold NHWC (ResNet's pool after the stem) when every reader of the
pool is a `qnn.requantize`. Left to Relax, the pool is a kernel of its own and
each requantize another pass over the pooled tensor: in ResNet-18 (one int8
pool, read by an int8 requantize for the skip connection and a u8 one for the
next conv) the three took 0.14 ms, 3% of the model. Here one pass over the
input writes every requantized output: each output pixel's window maximum
(64 int8 lanes per vector) goes straight through hago_ir.kernel_epilogue's
requantizes, with the same arithmetic as the conv kernels' epilogues, so the
result is bit-exact with the integer reference interpreter.

Padding never wins the maximum: padded taps read the dtype's minimum, and
every window holds at least one real element (pads are smaller than the
window, and ceil-mode windows start inside the input).
"""

from __future__ import annotations

from dataclasses import dataclass

from hago_ir import kernel_epilogue
from hago_ir.cpu_schedule import SCHEDULED
from hago_ir.kernel_epilogue import Epilogue


@dataclass(frozen=True)
class PoolGeometry:
    """A max pool's static shape: NHWC input (its stored channels), window, strides, pads (t, l, b, r), output size."""

    batch: int
    height: int
    width: int
    channels: int
    window: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    out_hw: tuple[int, int]


def max_pool2d_requantized(geometry: PoolGeometry, dtype: str, epilogues: tuple[Epilogue, ...]):
    """The scheduled PrimFunc (data, *each epilogue's kernel_epilogue.arguments_for) -> one output per epilogue.

    data: NHWC [N, H, W, C] in `dtype` (int8 / uint8 / int16 / int32);
    outputs: NHWC [N, OH, OW, C], each in its epilogue's dtype. The epilogues
    have no bias (the requantize alone).
    """
    import tvm
    from tvm import te
    from tvm import tirx as tir

    n, h, w, c = geometry.batch, geometry.height, geometry.width, geometry.channels
    (wh, ww), (sh, sw), (top, left, _, _) = geometry.window, geometry.strides, geometry.pads
    oh, ow = geometry.out_hw
    data = te.placeholder((n, h, w, c), dtype, name="data")
    rh = te.reduce_axis((0, wh), "rh")
    rw = te.reduce_axis((0, ww), "rw")

    def tap(b, y, x, k):
        row, column = y * sh + rh - top, x * sw + rw - left
        inside = tir.all(row >= 0, row < h, column >= 0, column < w)
        return tir.if_then_else(inside, data[b, row, column, k], tir.min_value(dtype))

    pooled = te.compute((n, oh, ow, c), lambda b, y, x, k: te.max(tap(b, y, x, k), axis=[rh, rw]), name="pool")
    widened = te.compute(pooled.shape, lambda *index: pooled(*index).astype("int32"), name="widened")
    arguments = [kernel_epilogue.placeholders(epilogue, c) for epilogue in epilogues]
    outputs = [kernel_epilogue.apply(widened, epilogue, args, name=f"epilogue{i}")
               for i, (epilogue, args) in enumerate(zip(epilogues, arguments))]
    func = te.create_prim_func([data, *[a for args in arguments for a in args], *outputs])

    schedule = tvm.s_tir.Schedule(func)
    schedule.compute_inline(schedule.get_sblock("widened"))
    pool = schedule.get_sblock("pool")
    b, y, x, k, rh_, rw_ = schedule.get_loops(pool)
    # Window taps outside, channels inside: each tap is one vector max over a pixel's channels.
    schedule.reorder(b, y, x, rh_, rw_, k)
    schedule.parallel(schedule.fuse(b, y))
    for index in range(len(epilogues)):
        block = schedule.get_sblock(f"epilogue{index}")
        schedule.reverse_compute_at(block, x)
        _vectorize_channels(schedule, block)
    # Vectorized before the init is split off (TIR refuses to vectorize the update alone).
    _vectorize_channels(schedule, pool)
    init = schedule.decompose_reduction(pool, rh_)
    _vectorize_channels(schedule, init)
    return schedule.mod["main"].with_attr(SCHEDULED, True)


def _vectorize_channels(schedule, block) -> None:
    """Vectorize a block's innermost (channel) loop, in pieces of at most 64 lanes."""
    inner = schedule.get_loops(block)[-1]
    extent = int(schedule.get(inner).extent)
    lanes = next((v for v in (64, 32, 16, 8, 4, 2) if extent % v == 0), 1)
    if lanes > 1:
        schedule.vectorize(schedule.split(inner, [None, lanes])[1])
