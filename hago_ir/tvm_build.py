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
- `cuda`: CUDA (sm_80); int8 conv2d / dense on `dp4a` (hago_ir.dp4a_kernels),
  the rest through TVM's default GPU schedules (dlight); compiled with nvcc
  even where no GPU is present.
Untuned builds use hago's default schedules (hago_ir.cpu_schedule), except the
hand-scheduled kernels that `to_relax(..., **kernels_for(target))` puts in
(VNNI and depthwise kernels on x86 VNNI hosts, dp4a on CUDA, the
int16-accumulating kernels on aarch64, `smlal`, and x86; the max pool kernel
where one of the CPU kernels wrote the pool's input). With
`tune_trials > 0` MetaSchedule tunes every kernel (xgboost cost model) and
records the results in a JSON database in `tuning_dir`, keyed by workload and
target; a later build with the same `tuning_dir` and `tune_trials=0` applies
the database without tuning again. A tuned schedule is used only where it
beats the default one: each kernel's best record and its default schedule are
timed side by side on this machine (in alternation), once, and the choice is kept in
`tuning_dir/schedule_choices.json` (MetaSchedule, given a few trials, can pick
a schedule ten times slower than the default one). Tuning needs the `tune`
extra (psutil, xgboost-cpu, cloudpickle).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hago_ir.errors import HagoError
from hago_ir.model_io import write_atomically

TARGETS = ("x86", "x86-vnni", "aarch64", "cuda")
CHOICES = "schedule_choices.json"


def host_has_vnni() -> bool:
    try:
        return "avx512_vnni" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def uses_vnni(target: str) -> bool:
    """Whether builds for `target` get the hand-scheduled VNNI conv2d kernels."""
    return target == "x86-vnni" or (target == "x86" and host_has_vnni())


def kernels_for(target: str) -> dict[str, bool]:
    """The hand-scheduled kernels a build for `target` gets: keyword arguments of relax_backend.to_relax."""
    return {"vnni": uses_vnni(target), "dp4a": target == "cuda", "int16": target != "cuda"}


def usable_cores() -> int:
    """The cores this process may run on: TVM's thread pool, the x86 targets (MetaSchedule
    requires the count in the target), the search engine's side-by-side runs."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def use_all_cores() -> None:
    """Let TVM's thread pool use every core this process may run on.

    TVM sizes its pool at first use from TVM_NUM_THREADS, else from half the
    hardware threads on x86 (it assumes hyper-threading): one thread on a
    2-core machine, which halves every parallel kernel. A value the user set
    is kept.
    """
    os.environ.setdefault("TVM_NUM_THREADS", str(usable_cores()))


use_all_cores()  # before any TVM kernel runs in this process: the pool is sized once


def tvm_target(name: str):
    import tvm

    if name == "x86":
        mcpu = "cascadelake" if host_has_vnni() else "haswell"
        return tvm.target.Target({"kind": "llvm", "mcpu": mcpu, "num-cores": usable_cores()})
    if name == "x86-vnni":
        return tvm.target.Target({"kind": "llvm", "mcpu": "cascadelake", "num-cores": usable_cores()})
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
    # Tuned builds: the schedule choice of each kernel with a tuning record
    # (faster_than_default's entries: kernel, tuned_ms, default_ms, schedule).
    schedule_choices: list[dict] = field(default_factory=list)

    def assembly(self) -> str:
        """The generated host assembly (LLVM targets) or device source (CUDA)."""
        sources = []

        def collect(module) -> None:
            for imported in module.imports:
                if imported.kind == "llvm":
                    sources.append(imported.inspect_source("s"))
                elif imported.kind == "cuda":
                    sources.append(imported.inspect_source(""))  # the CUDA C that nvcc compiled
                collect(imported)

        collect(self.executable.mod)
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


def tune(relax_module, target_object, trials: int, tuning_dir: str | Path, trials_per_task: int | None = None,
         chosen: list[dict] | None = None):
    """MetaSchedule-tune (trials > 0) and/or apply the database in `tuning_dir`.

    `chosen`, when given, receives the schedule choice of each of the module's tuned kernels.
    """
    tuning_dir = Path(tuning_dir)
    if trials <= 0 and not (tuning_dir / "database_workload.json").is_file():
        raise HagoError(f"{tuning_dir}: no tuning database there; tune first (a positive trial count)")
    if trials > 0:
        for module in ("psutil", "xgboost", "cloudpickle"):
            try:
                __import__(module)
            except ImportError:
                raise HagoError(
                    f"tuning needs {module}: pip install -e '.[tune]'"
                ) from None
        tuning_dir.mkdir(parents=True, exist_ok=True)
    from tvm import relax
    from tvm.s_tir import meta_schedule as ms

    with target_object:
        relax_module = fused_for_tuning(relax_module)
        tasks = tuning_tasks(relax_module, target_object)
        if trials > 0 and tasks:
            contexts, weights = ms.relax_integration.extracted_tasks_to_tune_contexts(
                extracted_tasks=tasks, work_dir=str(tuning_dir))
            ms.tune_tasks(tasks=contexts, task_weights=weights, work_dir=str(tuning_dir),
                          max_trials_global=trials, max_trials_per_task=trials_per_task)
        if (tuning_dir / "database_workload.json").is_file():
            database = ms.database.JSONDatabase(work_dir=str(tuning_dir))
            workloads = [(task.task_name, task.dispatched[0]) for task in tasks]
            with faster_than_default(workloads, database, target_object, tuning_dir, chosen):
                relax_module = relax.transform.MetaScheduleApplyDatabase()(relax_module)
    return relax_module


def faster_than_default(workloads: list, database, target_object, tuning_dir: Path,
                        chosen: list[dict] | None = None):
    """A database of the tuned records that beat the default schedule.

    `workloads`: (kernel name, IRModule of its PrimFunc) pairs, the tuning
    tasks. Each one's best record and its default schedule (hago_ir.cpu_schedule)
    are built and timed side by side; the outcome is kept in CHOICES, keyed by
    the kernel's structural hash and the record's trace, so that later builds
    do not time them again. `chosen`, when given, receives the choice of each
    workload that has a record (CHOICES also holds other models' kernels).
    """
    import tvm_ffi
    from tvm.s_tir import meta_schedule as ms

    from hago_ir.cpu_schedule import schedule_function

    path = tuning_dir / CHOICES
    choices = json.loads(path.read_text()) if path.is_file() else {}
    known = len(choices)
    kept = ms.database.MemoryDatabase()
    for kernel, workload in workloads:
        record = database.query_tuning_record(workload, target_object, "main")
        if record is None:
            continue
        # Keyed by the kernel's structure: the same kernel in another model (its
        # blocks named after other Relax variables) shares its record and its choice.
        key = f"{tvm_ffi.structural_hash(workload):016x}-{_digest(str(record.trace))}"
        if key not in choices:
            tuned = database.query_schedule(workload, target_object, "main").mod["main"]
            tuned_s, default_s = kernel_seconds((tuned, schedule_function(workload["main"])), target_object)
            choices[key] = {"kernel": kernel, "tuned_ms": round(tuned_s * 1e3, 4),
                            "default_ms": round(default_s * 1e3, 4),
                            "schedule": "tuned" if tuned_s < default_s else "default"}
        if chosen is not None:
            chosen.append(choices[key])
        if choices[key]["schedule"] == "tuned":
            # The record's trace names the blocks of the kernel it was tuned on:
            # it is kept with that kernel (database lookups match the structure).
            kept.commit_tuning_record(ms.database.TuningRecord(
                trace=record.trace, workload=kept.commit_workload(record.workload.mod), run_secs=record.run_secs,
                target=record.target, args_info=record.args_info))
    if len(choices) > known:  # a build that only reads the choices leaves the directory as it is
        text = json.dumps(choices, indent=1, sort_keys=True) + "\n"
        write_atomically(path, lambda handle: handle.write(text))
    return kept


def _digest(text: str) -> str:
    """Names a kernel (its TVMScript) or a record (its trace) across processes."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def kernel_seconds(funcs, target_object, rounds: int = 3, repeats: int = 5) -> list[float]:
    """Best run time of each PrimFunc on this machine, on random inputs, measured side by side.

    Each is timed `rounds` times in alternation (TVM's time evaluator, best of
    `repeats`), so that a slow spell of this shared machine hits both sides
    of a comparison, not one.
    """
    import tvm
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo

    device = tvm.cpu()
    rng = np.random.default_rng(0)
    timers = []
    for func in funcs:
        func = func.with_attr("global_symbol", "main")
        runtime = tvm.compile(tvm.IRModule({"main": func}), target=target_object)
        arguments = []
        for info in ArgInfo.from_prim_func(func):
            shape, dtype = [int(extent) for extent in info.shape], str(info.dtype)
            values = (rng.integers(-8, 8, shape) if "int" in dtype else rng.standard_normal(shape)).astype(dtype)
            arguments.append(tvm.runtime.tensor(values, device))
        evaluator = runtime.mod.time_evaluator("main", device, number=10, repeat=repeats, min_repeat_ms=5)
        timers.append(lambda evaluator=evaluator, arguments=arguments: min(evaluator(*arguments).results))
    best = [float("inf")] * len(timers)
    for _ in range(rounds):
        for index, timer in enumerate(timers):
            best[index] = min(best[index], timer())
    return best


def fused_for_tuning(relax_module):
    """Legalized and fused, as TVM's static_shape_tuning_pipeline prepares a module (inside a target scope)."""
    import tvm
    from tvm import relax

    return tvm.transform.Sequential([
        relax.transform.DecomposeOpsForInference(), relax.transform.CanonicalizeBindings(),
        relax.pipeline.zero_pipeline(),
    ])(relax_module)


def tuning_tasks(fused_module, target_object) -> list:
    """MetaSchedule's tasks for a fused module, less the kernels already scheduled by hand.

    hago's VNNI and depthwise kernels carry `tirx.is_scheduled`; MetaSchedule
    extracts them all the same and would try to re-schedule their tensorized
    loops, so they are left out and kept as they are.
    """
    from tvm.s_tir import meta_schedule as ms

    return [task for task in ms.relax_integration.extract_tasks(fused_module, target_object)
            if not _scheduled(task.dispatched[0]["main"])]


def _scheduled(func) -> bool:
    from hago_ir.cpu_schedule import SCHEDULED

    return func.attrs is not None and bool(func.attrs.get(SCHEDULED, False))


def build(relax_module, target: str = "x86", tune_trials: int = 0, tuning_dir: str | Path | None = None,
          trials_per_task: int | None = None) -> Build:
    """Compile a Relax module (from hago_ir.relax_backend.to_relax) for `target`.

    With `tuning_dir`, kernels are MetaSchedule-tuned (`tune_trials` in all) or
    taken from the database already there (`tune_trials=0`).
    """
    import tvm

    target_object = tvm_target(target)
    chosen: list[dict] = []
    if tuning_dir is not None:
        if target == "cuda":
            raise HagoError("tuning is implemented for CPU targets only")
        relax_module = tune(relax_module, target_object, tune_trials, tuning_dir, trials_per_task, chosen)
    if target == "cuda":
        from tvm.s_tir import dlight

        with target_object:
            relax_module = tvm.relax.transform.LegalizeOps()(relax_module)
            relax_module = dlight.ApplyDefaultSchedule(
                dlight.gpu.Matmul(), dlight.gpu.GEMV(), dlight.gpu.Reduction(),
                dlight.gpu.GeneralReduction(), dlight.gpu.Fallback(),
            )(relax_module)
        return Build(target, tvm.compile(relax_module, target=target_object))
    # After tuning, the kernels without a tuning record still get the default schedules.
    from hago_ir.cpu_schedule import cpu_pipeline

    return Build(target, tvm.compile(relax_module, target=target_object,
                                     relax_pipeline=cpu_pipeline(target_object)), chosen)
