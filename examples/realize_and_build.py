"""Realize a searched (or calibrated) module, build it with TVM for x86, and compare.

    python examples/realize_and_build.py SEARCHED.mlir examples/fashion_cnn/test.npz [--samples 1000] [--onnx]

Prints the top-1 accuracy of the simulated model (the search's numbers), the
realized integer model (integer reference interpreter) and the TVM x86 build,
and whether the TVM build's outputs are bit-exact with the integer interpreter.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

import numpy as np

from hago_ir.errors import HagoError
from hago_ir.hardware_spec import load_spec
from hago_ir.integer_interpreter import run_integer_batches
from hago_ir.legality import check_legal
from hago_ir.model_io import load_module, load_npz
from hago_ir.realize import realize
from hago_ir.relax_backend import to_relax
from hago_ir.simulator import Simulator
from hago_ir.tvm_build import build, kernels_for


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="a calibrated or searched qsim module (.mlir)")
    parser.add_argument("data", help=".npz with `input` and `label`")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="batch of the TVM build")
    parser.add_argument("--onnx", action="store_true", help="also run the ONNX QDQ export with onnxruntime")
    args = parser.parse_args()
    try:
        simulated = load_module(args.module)
        data = load_npz(args.data)
    except HagoError as error:
        print(f"realize_and_build: error: {error}", file=sys.stderr)
        return 1
    images = data["input"][: args.samples].astype(np.float32)
    labels = data["label"][: args.samples]
    images = images[: len(images) - len(images) % args.batch]
    labels = labels[: len(images)]
    realized = copy.deepcopy(simulated)
    realize(realized)
    spec = simulated.attributes.get("hago.spec")
    if spec is not None:
        check_legal(realized, load_spec(spec.data))
    simulated_out = Simulator(simulated, {"input": images}).run()[0]
    integer_out = next(iter(run_integer_batches(realized, {"input": images}).values()))
    started = time.perf_counter()
    built = build(to_relax(realized, batch=args.batch, **kernels_for("x86")), "x86")
    compile_seconds = time.perf_counter() - started
    tvm_out = np.concatenate([built.run(images[i : i + args.batch])[0] for i in range(0, len(images), args.batch)])

    def accuracy(outputs: np.ndarray) -> float:
        return 100.0 * float((outputs.argmax(1) == labels).mean())

    print(f"samples: {len(images)}  spec: {spec.data if spec is not None else '?'}")
    print(f"simulated (search) accuracy:      {accuracy(simulated_out):.2f}%")
    print(f"integer reference accuracy:       {accuracy(integer_out):.2f}%")
    print(f"TVM x86 build accuracy:           {accuracy(tvm_out):.2f}%  (compiled in {compile_seconds:.1f} s)")
    print(f"TVM x86 bit-exact with reference: {np.array_equal(tvm_out, integer_out)}")
    print(f"integer vs simulated outputs equal: {100.0 * np.isclose(integer_out, simulated_out, rtol=0, atol=1e-6).mean():.2f}%")
    if args.onnx:
        import onnxruntime as ort

        from hago_ir.onnx_export import export_qdq, onnxruntime_session

        model = export_qdq(realized).SerializeToString()
        sessions = {
            "default onnxruntime": ort.InferenceSession(model, providers=["CPUExecutionProvider"]),
            "without DoubleQDQPairsRemover": onnxruntime_session(model),
        }
        for label, session in sessions.items():
            name = session.get_inputs()[0].name
            out = np.concatenate([session.run(None, {name: images[i : i + 1]})[0] for i in range(len(images))])
            print(f"ONNX QDQ export, {label}: {100.0 * (out.argmax(1) == integer_out.argmax(1)).mean():.1f}% "
                  f"same top-1 as the reference, max diff {np.abs(out - integer_out).max():.3g}, "
                  f"accuracy {accuracy(out):.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
