"""Builds of a realized module with TVM, per target, and running them.

After emission (hago_ir.relax_backend). `hago build` and the Python API call
`build`, which compiles the Relax module for one of:
- `x86`: LLVM for this host (`cascadelake` when /proc/cpuinfo lists
  avx512_vnni, else `haswell`), runnable here;
- `x86-vnni`: LLVM for `cascadelake` whatever the host (its assembly can be
  read on any x86 machine);
- `aarch64`: Raspberry Pi 4 (Cortex-A72, NEON), cross-compiled; the shared
  library is linked with Debian's `aarch64-linux-gnu-gcc`
  (scripts/install_cross_toolchain.sh installs it);
- `cuda`: CUDA through TVM's default GPU schedules (dlight); compiled with nvcc
  even where no GPU is present.
Builds are untuned (TVM's default schedules); fast kernels are issue 7's work.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hago_ir.errors import HagoError

TARGETS = ("x86", "x86-vnni", "aarch64", "cuda")


def host_has_vnni() -> bool:
    try:
        return "avx512_vnni" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def tvm_target(name: str):
    import tvm

    if name == "x86":
        mcpu = "cascadelake" if host_has_vnni() else "haswell"
        return tvm.target.Target({"kind": "llvm", "mcpu": mcpu})
    if name == "x86-vnni":
        return tvm.target.Target({"kind": "llvm", "mcpu": "cascadelake"})
    if name == "aarch64":
        return tvm.target.Target({
            "kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a72", "mattr": ["+neon"],
        })
    if name == "cuda":
        return tvm.target.Target({"kind": "cuda", "arch": "sm_80"}, host={"kind": "llvm"})
    raise HagoError(f"unknown target '{name}': choose one of {', '.join(TARGETS)}")


@dataclass
class Build:
    target: str
    executable: object  # tvm.relax.VMExecutable

    def assembly(self) -> str:
        """The generated host assembly (LLVM targets) or device source (CUDA)."""
        module = self.executable.mod
        sources = []
        for imported in module.imports:
            formats = imported.get_write_formats()
            kind = imported.kind
            if kind == "llvm":
                sources.append(imported.inspect_source("s"))
            elif "cu" in formats or kind == "cuda":
                sources.append(imported.inspect_source("cu") if "cu" in formats else imported.inspect_source())
            for nested in imported.imports:
                if nested.kind == "cuda":
                    sources.append(nested.inspect_source("cu"))
        return "\n".join(sources)

    def export(self, path: str | Path) -> None:
        """Write the shared library (cross-linked for aarch64)."""
        path = Path(path)
        if self.target == "aarch64":
            compiler = shutil.which("aarch64-linux-gnu-gcc")
            if compiler is None:
                raise HagoError(
                    "linking for aarch64 needs aarch64-linux-gnu-gcc: run scripts/install_cross_toolchain.sh"
                )
            self.executable.export_library(str(path), cc=compiler)
        else:
            self.executable.export_library(str(path))

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Run on this machine (x86 builds; CUDA where a GPU is present)."""
        import tvm
        from tvm import relax

        device = tvm.cuda() if self.target == "cuda" else tvm.cpu()
        if self.target in ("aarch64",) or (self.target == "x86-vnni" and not host_has_vnni()):
            raise HagoError(f"a {self.target} build cannot run on this machine")
        vm = relax.VirtualMachine(self.executable, device)
        result = vm["main"](*[tvm.runtime.tensor(np.ascontiguousarray(x), device) for x in inputs])
        if isinstance(result, (list, tuple)) or type(result).__name__ == "Array":
            return [r.numpy() for r in result]
        return [result.numpy()]


def build(relax_module, target: str = "x86") -> Build:
    """Compile a Relax module (from hago_ir.relax_backend.to_relax) for `target`."""
    import tvm

    target_object = tvm_target(target)
    if target == "cuda":
        from tvm.s_tir import dlight

        with target_object:
            relax_module = tvm.relax.transform.LegalizeOps()(relax_module)
            relax_module = dlight.ApplyDefaultSchedule(
                dlight.gpu.Matmul(), dlight.gpu.GEMV(), dlight.gpu.Reduction(),
                dlight.gpu.GeneralReduction(), dlight.gpu.Fallback(),
            )(relax_module)
    return Build(target, tvm.compile(relax_module, target=target_object))
