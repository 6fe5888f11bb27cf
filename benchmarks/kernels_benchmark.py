"""hago's hand-scheduled CPU kernels against the generic emission, per spec, on the bundled Fashion-MNIST CNN.

    .venv/bin/python benchmarks/kernels_benchmark.py [--specs x86-vnni arm-a72-i16] [--batches 1 64]

For each spec, the bundled CNN (examples/fashion_cnn) is calibrated and
realized (no search: every edge at the spec's container bits), then built
for this x86 host twice, side by side: as `hago build --target x86` emits it
(`to_relax(..., **kernels_for("x86"))`: the VNNI kernels for int32
accumulators on a VNNI host, the int16 kernels of hago_ir.int16_kernels for
int16 ones) and with no hand kernel at all (Relax's conv2d / matmul, fused and
given hago's default CPU schedule). Prints the median latency of each (blocks
of calls, alternating: latency_benchmark.blockwise_medians) and whether both are bit-exact with the integer
interpreter. x86-vnni accumulates in int32, arm-a72-i16 in int16.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from arguments import positive_int, run  # noqa: E402
from latency_benchmark import blockwise_medians  # noqa: E402

FASHION = REPO / "examples" / "fashion_cnn"


def realized_cnn(spec: str):
    from hago_ir.calibrate import calibrate
    from hago_ir.canonicalize import canonicalize
    from hago_ir.hardware_spec import load_spec
    from hago_ir.insert_simq import insert_simulated_quantize
    from hago_ir.model_io import load_npz
    from hago_ir.onnx_frontend import import_onnx
    from hago_ir.realize import realize
    from hago_ir.topology import assign_topology

    module = import_onnx(str(FASHION / "model.onnx"))
    canonicalize(module)
    assign_topology(module, load_spec(spec))
    insert_simulated_quantize(module)
    calibrate(module, {"input": load_npz(str(FASHION / "calib.npz"))["input"].astype(np.float32)})
    realize(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="*", default=["x86-vnni", "arm-a72-i16"])
    parser.add_argument("--batches", nargs="*", type=positive_int, default=[1, 64])
    args = parser.parse_args()

    import tvm
    from tvm import relax

    from hago_ir.integer_interpreter import run_integer_batches
    from hago_ir.model_io import load_npz
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build, kernels_for

    images = load_npz(str(FASHION / "test.npz"))["input"].astype(np.float32)
    print("Fashion-MNIST CNN, built for this x86 host: hand kernels (as `hago build --target x86`) "
          "against none; median ms per call")
    for spec in args.specs:
        realized = realized_cnn(spec)
        for batch in args.batches:
            x = images[:batch]
            reference = next(iter(run_integer_batches(realized, {"input": x}).values()))
            runners, exact = {}, {}
            for name, kernels in (("hand kernels", kernels_for("x86")), ("generic", {})):
                built = build(to_relax(realized, batch=batch, **kernels), "x86")
                exact[name] = bool(np.array_equal(built.run(x)[0], reference))
                vm, tensor = relax.VirtualMachine(built.executable, tvm.cpu()), tvm.runtime.tensor(x)
                runners[name] = lambda vm=vm, tensor=tensor: vm["main"](tensor)
            ms = blockwise_medians(runners, repeats=100)
            print(f"  {spec}, batch {batch}: hand kernels {ms['hand kernels']:.3f} ms, generic {ms['generic']:.3f} ms "
                  f"({ms['generic'] / ms['hand kernels']:.1f}x); bit-exact with the integer interpreter: "
                  f"{exact['hand kernels']} / {exact['generic']}")
    return 0


if __name__ == "__main__":
    run(main)
