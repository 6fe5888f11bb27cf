"""`hago`: the end-to-end command. Subcommands:

    hago build REALIZED.mlir --target x86|x86-vnni|aarch64|cuda -o model.so [--asm model.s]
              [--relax model.py]

`build` takes a realized module (after hago-realize; see docs/realization.md),
emits it to TVM Relax, compiles it for the target and writes the shared
library (cross-linked for aarch64), and optionally the generated assembly or
CUDA source and the Relax module as TVMScript. Outputs are written atomically.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hago_ir.tools.diagnostics import run_cli
from hago_ir.tools.hago_run import load_module

from hago_ir.errors import HagoError
from hago_ir.model_io import write_atomically


def _build(args: argparse.Namespace) -> int:
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build

    module = load_module(args.module)
    if not any(op.dialect_name() == "qnn" for op in module.walk()):
        raise HagoError(f"{args.module}: not a realized module (no qnn op): run hago-realize first")
    if any(op.name == "qsim.simulated_quantize" for op in module.walk()):
        raise HagoError(f"{args.module}: still has simulated quantize ops: run hago-realize first")
    relax_module = to_relax(module)
    if args.relax:
        text = relax_module.script()
        write_atomically(args.relax, lambda handle: handle.write(text))
    result = build(relax_module, args.target)
    output = Path(args.output)
    if not output.parent.is_dir() and str(output.parent):
        raise HagoError(f"{output}: directory {output.parent} does not exist")
    # export_library writes by name: build beside the target, then rename over it.
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=output.suffix or ".so",
                                     dir=output.parent if str(output.parent) else ".")
    os.close(fd)
    try:
        result.export(temporary)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if args.asm:
        text = result.assembly()
        write_atomically(args.asm, lambda handle: handle.write(text))
    print(f"hago build: {args.module} -> {output} ({args.target})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hago", description="hago: hardware-aware post-training quantization.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="compile a realized module with TVM for a target")
    build.add_argument("module", help="a realized .mlir module (after hago-realize)")
    build.add_argument("--target", default="x86", choices=["x86", "x86-vnni", "aarch64", "cuda"])
    build.add_argument("-o", "--output", required=True, help="the shared library to write")
    build.add_argument("--asm", help="also write the generated assembly (or CUDA source) here")
    build.add_argument("--relax", help="also write the Relax module (TVMScript) here")
    args = parser.parse_args(argv)
    return run_cli("hago", lambda: _build(args))


if __name__ == "__main__":
    sys.exit(main())
