"""A static estimate of the int16-accumulating conv on a Cortex-A72: hago's NEON kernel against the default schedule.

    .venv/bin/python benchmarks/neon_estimate.py [--channels 64 --size 56 --out-channels 64 --kernel 3]

No Cortex-A72 is at hand, so nothing here is measured on one. Both versions
of one int8 x int8 -> int16 conv2d (with its bias) are compiled for aarch64
(cortex-a72): hago's kernel (hago_ir.int16_kernels, `to_relax(..., int16=True)`)
and what the build did before it (Relax's conv2d with an int16 `out_dtype`,
legalized and given hago's default CPU schedule), unpadded: padding puts
branches into the default schedule's loop, which llvm-mca cannot follow, and
only slows it down. From each, the innermost
loop with the most multiplies is cut out of the assembly and given to
llvm-mca (LLVM's Cortex-A72 scheduling model) for its steady-state cycles
per iteration; the multiply-adds per iteration are counted from the
instructions (8 per `smlal` / `smlal2` / `smull` on .8h lanes, 1 per scalar
`madd`). (The default schedule's loop gathers a 3x3 window's taps byte by byte
into a vector, multiplies them with one `smull`, sums the lanes with `addv`
and adds the ninth tap with a `madd`.)
The ratio of multiply-adds per cycle is the estimate: it leaves out
everything outside that loop (the epilogue, loop overhead, cache misses), and
the model is LLVM's, not the chip. Needs llvm-mca (Debian's `llvm` package).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from arguments import positive_int, run

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Multiply-adds per instruction: widening multiplies into .8h lanes (a `smull`
# whose lanes are then summed by `addv` counts its 8 products too); scalar.
MULTIPLY_ADDS = {"smlal": 8, "smlal2": 8, "smull": 8, "smull2": 8, "madd": 1}


def hottest_loop(assembly: str) -> list[str]:
    """The innermost loop (a label and the backward branch to it) with the most multiply-adds."""
    lines = assembly.splitlines()
    labels = {line[:-1]: i for i, line in enumerate(lines) if re.match(r"^\.LBB\w+:$", line)}
    best: list[str] = []
    for i, line in enumerate(lines):
        target = re.search(r"\b(?:b\.\w+|b|cbnz|cbz|tbnz|tbz)\s+.*?(\.LBB\w+)\s*$", line)
        if not target or target.group(1) not in labels or labels[target.group(1)] >= i:
            continue
        body = lines[labels[target.group(1)] + 1 : i + 1]
        if any(re.match(r"^\.LBB\w+:$", other) for other in body):
            continue  # not innermost
        if multiply_adds(body) > multiply_adds(best):
            best = body
    return best


def multiply_adds(body: list[str]) -> int:
    return sum(MULTIPLY_ADDS.get(line.split()[0], 0) for line in body if line.strip() and line.startswith("\t"))


def cycles_per_iteration(body: list[str]) -> float:
    code = "\n".join(line for line in body if line.startswith("\t") and not line.strip().startswith("."))
    output = subprocess.run(["llvm-mca", "-mtriple=aarch64", "-mcpu=cortex-a72", "-iterations=1000"],
                            input=code, capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Total Cycles:\s+(\d+)", output).group(1)) / 1000


def kernels(args):
    """(hago's NEON kernel, the default-scheduled conv) compiled for aarch64: their assembly."""
    import tvm
    from tvm import relax

    from hago_ir import int16_kernels
    from hago_ir.cpu_schedule import cpu_pipeline
    from hago_ir.kernel_epilogue import Epilogue
    from hago_ir.tvm_build import tvm_target
    from hago_ir.vnni_kernels import ConvGeometry

    target = tvm_target("aarch64")
    c, h, o, k = args.channels, args.size, args.out_channels, args.kernel
    geometry = ConvGeometry(1, h, h, c, o, (k, k), (1, 1), (0, 0, 0, 0))
    bias = np.zeros(o, np.int64)
    hand = int16_kernels.conv2d_nhwc_i16(geometry, Epilogue(o, bias, None, accumulator="int16"))
    hand_assembly = tvm.compile(hand.with_attr("global_symbol", "main"), target=target).mod.inspect_source("s")

    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, c, h, h), "int8"))
    with builder.function("main", [x]):
        with builder.dataflow():
            weights = relax.const(np.zeros((o, c, k, k), np.int8))
            sums = builder.emit(relax.op.nn.conv2d(x, weights, out_dtype="int16"))
            output = builder.emit_output(relax.op.add(sums, relax.const(np.zeros((1, o, 1, 1), np.int16))))
        builder.emit_func_output(output)
    default = tvm.compile(builder.get(), target=target, relax_pipeline=cpu_pipeline(target))
    return hand_assembly, default.mod.imports[0].inspect_source("s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=positive_int, default=64)
    parser.add_argument("--size", type=positive_int, default=56)
    parser.add_argument("--out-channels", type=positive_int, default=64)
    parser.add_argument("--kernel", type=positive_int, default=3)
    args = parser.parse_args()
    if shutil.which("llvm-mca") is None:
        print("neon_estimate: llvm-mca is not installed (Debian's `llvm` package): nothing to estimate")
        return 0
    print(f"conv2d {args.kernel}x{args.kernel} (unpadded), {args.channels} -> {args.out_channels} channels, "
          f"{args.size}x{args.size}, int8 x int8 -> int16, compiled for cortex-a72; "
          "llvm-mca's steady state of the hottest inner loop (an estimate, not a measurement):")
    rates = {}
    for name, assembly in zip(("hago NEON kernel", "default schedule (before)"), kernels(args)):
        body = hottest_loop(assembly)
        macs, cycles = multiply_adds(body), cycles_per_iteration(body)
        mnemonics = sorted({line.split()[0] for line in body if line.split()[0] in MULTIPLY_ADDS})
        rates[name] = macs / cycles
        print(f"  {name}: {len(body)} instructions per iteration, {macs} multiply-adds ({', '.join(mnemonics)}), "
              f"{cycles:.2f} cycles: {rates[name]:.2f} multiply-adds per cycle per core")
    hand, default = rates.values()
    print(f"  ratio: {hand / default:.1f}x")
    return 0


if __name__ == "__main__":
    run(main)
