"""One int8 conv2d through hago's hand-scheduled VNNI kernel: exactness, `vpdpbusd`, latency.

    .venv/bin/python benchmarks/vnni_conv_benchmark.py [--channels 64] [--size 56] [--out-channels 64] [--kernel 3]
        [--stride 1] [--nchw-input] [--signed]

A KxK conv (3x3 by default; stride 1, padding K // 2, batch 1) on random u8 activations and s8
weights (NHWC; with `--nchw-input`, NCHW as a stem reads the model's input:
ResNet-18's is `--channels 3 --size 224 --kernel 7 --stride 2 --nchw-input --signed`;
with `--signed`, s8 activations, which the kernel shifts into u8), compiled for `cascadelake` with no tuning, three times: int32 sums out,
and with the fused requantize epilogue (u8 out) in fixed point and in float32;
each compared bit for bit with an int64 numpy convolution (and
hago_ir.numerics.requantize_integers / requantize_float32); median
latency of TVM's time evaluator, on all cores. Needs a CPU with avx512_vnni to
run (it says so and stops otherwise).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from arguments import positive_int, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=positive_int, default=64)
    parser.add_argument("--size", type=positive_int, default=56)
    parser.add_argument("--out-channels", type=positive_int, default=64)
    parser.add_argument("--kernel", type=int, default=3, choices=(1, 3, 5, 7))
    parser.add_argument("--stride", type=positive_int, default=1)
    parser.add_argument("--nchw-input", action="store_true", help="a stem on an NCHW input (4 channels or fewer)")
    parser.add_argument("--signed", action="store_true", help="s8 activations (as x86-vnni quantizes a model's input)")
    args = parser.parse_args()

    import tvm

    from hago_ir.kernel_epilogue import Epilogue, Requantize
    from hago_ir.numerics import requantize_float32, requantize_integers
    from hago_ir.tvm_build import host_has_vnni, tvm_target
    from hago_ir.vnni_kernels import ConvGeometry, conv2d_nhwc_vnni, packed_weights_for

    c, h, o, k, stride = args.channels, args.size, args.out_channels, args.kernel, args.stride
    pad = k // 2
    out = (h + 2 * pad - k) // stride + 1
    rng = np.random.default_rng(0)
    x = (rng.integers(-128, 128, (1, h, h, c)).astype(np.int8) if args.signed
         else rng.integers(0, 256, (1, h, h, c)).astype(np.uint8))
    w = rng.integers(-128, 128, (o, c, k, k)).astype(np.int8)
    bias = rng.integers(-5000, 5000, o)
    multiplier, shift = tuple(int(m) for m in rng.integers(2**29, 2**30, o)), (30,) * o
    reference = np.zeros((1, o, out, out), np.int64)
    wide = np.pad(x.transpose(0, 3, 1, 2).astype(np.int64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for kh in range(k):
        for kw in range(k):
            patch = wide[:, :, kh : kh + stride * out : stride, kw : kw + stride * out : stride]
            reference += np.einsum("nchw,oc->nohw", patch, w[:, :, kh, kw].astype(np.int64))
    reference += bias[None, :, None, None]
    geometry = ConvGeometry(1, h, h, c, o, (k, k), (stride, stride), (pad,) * 4, nchw_input=args.nchw_input)
    packed = packed_weights_for(geometry, w)
    channels = packed.shape[0] * 16
    layout = "NCHW" if args.nchw_input else "NHWC"
    print(f"conv2d {k}x{k} stride {stride}, {c} -> {o} channels, {h}x{h} {layout}, batch 1, untuned, "
          f"{os.environ['TVM_NUM_THREADS']} threads")
    floats = tuple(float(np.float32(m / 2**s)) for m, s in zip(multiplier, shift))
    variants = {
        "int32 sums": None,
        "+ fixed-point requantize to u8": Requantize(multiplier, shift, 0, 255, "uint8"),
        "+ float32 requantize to u8": Requantize(multiplier, shift, 0, 255, "uint8", floats),
    }
    # The kernel shifts s8 into u8 (+128); the bias takes it back, as relax_backend does.
    kernel_bias = bias - 128 * w.astype(np.int64).sum(axis=(1, 2, 3)) if args.signed else bias
    for label, requantize in variants.items():
        epilogue = Epilogue(o, kernel_bias, requantize)
        executable = tvm.compile(conv2d_nhwc_vnni(geometry, args.signed, epilogue), target=tvm_target("x86-vnni"))
        print(f"  {label}: vpdpbusd in the assembly: {executable.mod.inspect_source('s').count('vpdpbusd')}")
        if not host_has_vnni():
            print("  this CPU has no avx512_vnni: compiled, not run")
            continue
        data = np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if args.nchw_input else x
        arrays = [data, packed] + [array for array, _ in epilogue.arrays(channels)]
        arrays.append(np.zeros((1, out, out, channels), epilogue.out_dtype))
        tensors = [tvm.runtime.tensor(array) for array in arrays]
        executable.mod["main"](*tensors)
        got = tensors[-1].numpy()[..., :o].transpose(0, 3, 1, 2)
        column = (None, slice(None), None, None)
        if requantize is None:
            expected = reference
        elif requantize.in_float32:
            expected = requantize_float32(reference, np.array(floats, np.float32)[column], 0, 255)
        else:
            expected = requantize_integers(reference, np.array(multiplier)[column], np.array(shift)[column], 0, 255)
        timer = executable.mod.time_evaluator("main", tvm.cpu(), number=20, repeat=7)
        seconds = float(np.median(timer(*tensors).results))
        print(f"  {label}: bit-exact with numpy: {np.array_equal(got, expected)}; "
              f"median latency {1000 * seconds:.3f} ms, {o * c * k * k * out * out / seconds / 1e9:.0f} GMAC/s "
              "(the peak: benchmarks/vnni_peak.py)")
    return 0


if __name__ == "__main__":
    run(main)
