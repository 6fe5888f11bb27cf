"""`hago-opt`: the pass driver, an `xdsl-opt` with hago's dialects, passes and the ONNX frontend.

    hago-opt model.onnx                                  # print the imported IR
    hago-opt model.onnx -p hago-canonicalize -o out.mlir
    hago-opt x.mlir -p 'pass{opt=v},...' --split-input-file --verify-diagnostics
    hago-opt realized.mlir -t relax                      # the TVM Relax module, as TVMScript
    hago-opt realized.mlir -t onnx -o model.qdq.onnx     # an ONNX QDQ model (binary: needs -o)

Besides the registration hooks of xDSLOptMain, only `prepare_output` is
overridden: the result is buffered and written to `-o FILE` atomically once the
whole run succeeded, so a failed run never leaves a half-written or empty file.
`main` turns user errors (bad files, bad IR, unsupported models) into one message
and exit code 1.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence

from hago_ir.tools.diagnostics import run_cli
from xdsl.xdsl_opt_main import xDSLOptMain

from hago_ir import registry
from hago_ir.model_io import write_atomically


class _BufferedOutput(io.StringIO):
    """An output stream that survives xDSL's close(), to be written out later."""

    def close(self) -> None:
        pass


class HagoOptMain(xDSLOptMain):
    version_format = "hago-opt (hago 0.1.0) built on xdsl {xdsl_version}"
    buffered_output: _BufferedOutput | None = None
    binary_output: bytes | None = None

    def prepare_output(self):
        if self.args.output_file is None:
            return sys.stdout
        self.buffered_output = _BufferedOutput()
        return self.buffered_output

    def commit_output(self) -> None:
        if self.binary_output is not None:
            data = self.binary_output
            write_atomically(self.args.output_file, lambda handle: handle.write(data), binary=True)
            return
        if self.buffered_output is not None:
            text = self.buffered_output.getvalue()
            write_atomically(self.args.output_file, lambda handle: handle.write(text))

    def register_all_dialects(self):
        super().register_all_dialects()
        for name, factory in registry.DIALECTS.items():
            self.ctx.register_dialect(name, factory)

    def register_all_frontends(self):
        super().register_all_frontends()

        def onnx_frontend():
            from hago_ir.onnx_frontend import OnnxFrontend

            return OnnxFrontend

        self.available_frontends["onnx"] = onnx_frontend

    def register_all_targets(self):
        super().register_all_targets()

        def relax_target(module, output) -> None:
            from hago_ir.relax_backend import to_relax

            output.write(to_relax(module).script())

        def onnx_target(module, output) -> None:
            from hago_ir.errors import HagoError
            from hago_ir.onnx_export import export_qdq

            if self.args.output_file is None:
                raise HagoError("-t onnx writes a binary model: give the file with -o FILE.onnx")
            self.binary_output = export_qdq(module).SerializeToString()

        self.available_targets["relax"] = relax_target
        self.available_targets["onnx"] = onnx_target

    def register_all_passes(self):
        super().register_all_passes()
        for name, factory in registry.PASSES.items():
            self.register_pass(name, factory)


def main(argv: Sequence[str] | None = None) -> int:
    def body() -> int:
        driver = HagoOptMain("hago-opt: hago's modular optimizer driver", args=argv)
        driver.run()
        driver.commit_output()
        return 0

    return run_cli("hago-opt", body)


if __name__ == "__main__":
    sys.exit(main())
