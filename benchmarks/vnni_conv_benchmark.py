"""One int8 conv2d through hago's hand-scheduled VNNI kernel: exactness, `vpdpbusd`, latency.

    .venv/bin/python benchmarks/vnni_conv_benchmark.py [--channels 64] [--size 56] [--out-channels 64]

A 3x3 conv (stride 1, padding 1, batch 1) on random u8 activations and s8
weights, compiled for `cascadelake` with no tuning; compared bit for bit with
an int64 numpy convolution; median latency of TVM's time evaluator. Needs a
CPU with avx512_vnni to run (it says so and stops otherwise).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=56)
    parser.add_argument("--out-channels", type=int, default=64)
    args = parser.parse_args()

    import tvm

    from hago_ir.tvm_build import host_has_vnni
    from hago_ir.vnni_kernels import conv2d_nhwc_vnni, pack_weights

    c, h, o, k = args.channels, args.size, args.out_channels, 3
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (1, c, h, h)).astype(np.uint8)
    w = rng.integers(-128, 128, (o, c, k, k)).astype(np.int8)
    c4 = -(-c // 4) * 4
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))).transpose(0, 2, 3, 1)
    padded = np.ascontiguousarray(np.pad(padded, ((0, 0), (0, 0), (0, 0), (0, c4 - c))))
    packed = pack_weights(w)
    kernel = conv2d_nhwc_vnni(padded.shape, packed.shape, (1, 1), (h, h))
    target = tvm.target.Target({"kind": "llvm", "mcpu": "cascadelake", "num-cores": 2})
    executable = tvm.compile(kernel, target=target)
    assembly = executable.mod.inspect_source("s")
    print(f"conv2d 3x3, {c} -> {o} channels, {h}x{h}, batch 1: vpdpbusd in the assembly: {assembly.count('vpdpbusd')}")
    if not host_has_vnni():
        print("this CPU has no avx512_vnni: compiled, not run")
        return 0
    args_tvm = [tvm.runtime.tensor(padded), tvm.runtime.tensor(packed),
                tvm.runtime.tensor(np.zeros((1, h, h, packed.shape[0] * 16), np.int32))]
    executable.mod["main"](*args_tvm)
    reference = np.zeros((1, o, h, h), np.int64)
    wide = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    for kh in range(k):
        for kw in range(k):
            reference += np.einsum("nchw,oc->nohw", wide[:, :, kh : kh + h, kw : kw + h], w[:, :, kh, kw].astype(np.int64))
    got = args_tvm[2].numpy()[..., :o].transpose(0, 3, 1, 2)
    timer = executable.mod.time_evaluator("main", tvm.cpu(), number=20, repeat=7)
    print(f"bit-exact with numpy: {np.array_equal(got, reference)}")
    print(f"median latency: {1000 * float(np.median(timer(*args_tvm).results)):.3f} ms (untuned)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
