"""Default CPU schedules for the kernels no hand schedule or tuning covers.

Part of hago_ir.tvm_build's CPU pipeline, between Relax's operator fusion
(FuseOps / FuseTIR) and lowering. TVM's generic CPU pipeline leaves every
fused elementwise kernel (requantize chains, `qnn.add`, quantize, casts,
layout changes) and every reduction (pools, dense) as naive single-threaded
loops; in an int8 ResNet-18 they cost more than the convolutions. This pass
gives each PrimFunc that is not scheduled yet (`tirx.is_scheduled` unset:
the attribute TVM 0.27 reads, which MetaSchedule's task extraction honours
too) a plain schedule: producers inlined into their consumer, the spatial loops
fused and split between threads, and the innermost run of elements
vectorized when its length allows. Each step is tried and skipped when TVM
refuses it, so the pass never makes a module fail to build.
"""

from __future__ import annotations

# Wide vectors first. With 16 int8 lanes per iteration the loop body was so
# small that LLVM's loop vectorizer vectorized the per-thread loop around it
# once more and moved every byte with vpextrb / vpinsrb: one 56x56x64 float32
# requantize took 0.09 ms; with 64 lanes, 0.012 ms (ResNet-18, x86).
VECTOR_ELEMENTS = (64, 32, 16, 8)
# The attribute that marks a PrimFunc as scheduled (hand kernels, this pass,
# tuned kernels); TVM 0.27 renamed it from tir.is_scheduled.
SCHEDULED = "tirx.is_scheduled"
# Below this many output elements a kernel runs on one thread.
PARALLEL_THRESHOLD = 4096
DATA_PARALLEL = 0  # tirx.IterVar.DataPar


def _try(step, *args):
    """step(*args), or None where TVM refuses it (a ScheduleError leaves the schedule unchanged)."""
    from tvm.s_tir.schedule import ScheduleError

    try:
        return step(*args)
    except ScheduleError:
        return None


def schedule_function(func):
    """A scheduled copy of one PrimFunc (unchanged when nothing applies)."""
    import tvm

    schedule = tvm.s_tir.Schedule(func)
    root = schedule.get_sblock("root")
    for block in list(schedule.get_child_blocks(root))[:-1]:
        _try(schedule.compute_inline, block)  # producers into their consumer
    for block in schedule.get_child_blocks(root):
        _schedule_block(schedule, block)
    return schedule.mod["main"].with_attr(SCHEDULED, True)


def _schedule_block(schedule, block) -> None:
    loops = schedule.get_loops(block)
    iter_vars = schedule.get(block).iter_vars
    # Unscheduled (TE-made) blocks have one loop per iterator, in order:
    # the spatial ones, then the reductions.
    if not loops or len(loops) != len(iter_vars):
        return
    leading = next((i for i, v in enumerate(iter_vars) if v.iter_type != DATA_PARALLEL), len(iter_vars))
    spatial = loops[:leading]
    if not spatial:
        return
    reduces = leading < len(loops)
    if reduces and _reduce_over_channels_inside(schedule, block, loops, leading):
        return
    if not reduces and _vectorize_innermost_axis(schedule, spatial):
        return
    fused = spatial[0] if len(spatial) == 1 else _try(schedule.fuse, *spatial)
    if fused is None:
        return
    extent = _extent(schedule, fused)
    if extent is None:
        return
    inner = None
    if not reduces:
        lanes = next((v for v in VECTOR_ELEMENTS if extent % v == 0 and extent > v), None)
        if lanes is not None:
            split = _try(schedule.split, fused, [None, lanes])
            if split is not None:
                fused, inner = split
    if extent >= PARALLEL_THRESHOLD or (reduces and extent >= 16):
        _try(schedule.parallel, fused)
    if inner is not None:
        _try(schedule.vectorize, inner)


def _vectorize_innermost_axis(schedule, spatial) -> bool:
    """Vectors along the innermost axis alone, when its extent allows; threads over the rest.

    Splitting the innermost axis keeps the vector's index a plain ramp, where
    a vector cut from all the axes fused (the fallback below) has its index
    rebuilt by division and modulo per axis.
    """
    extent = _extent(schedule, spatial[-1])
    lanes = next((v for v in VECTOR_ELEMENTS if extent is not None and extent % v == 0), None)
    if lanes is None:
        return False
    split = _try(schedule.split, spatial[-1], [None, lanes])
    if split is None:
        return False
    outer, inner = split
    loops = [*spatial[:-1], outer]
    fused = loops[0] if len(loops) == 1 else _try(schedule.fuse, *loops)
    if fused is not None and (_extent(schedule, fused) or 0) * lanes >= PARALLEL_THRESHOLD:
        _try(schedule.parallel, fused)
    _try(schedule.vectorize, inner)
    return True


def _reduce_over_channels_inside(schedule, block, loops, leading: int) -> bool:
    """Small reductions (pool windows) inside, the last spatial axis (NHWC channels) innermost.

    The innermost loop then runs along contiguous memory with loop-invariant
    window bounds, which LLVM vectorizes; the outer spatial loops are threads.
    """
    extents = [_extent(schedule, loop) for loop in loops]
    if None in extents or leading < 2:
        return False
    outer, lanes = extents[: leading - 1], extents[leading - 1]
    window = 1
    for extent in extents[leading:]:
        window *= extent
    outer_size = 1
    for extent in outer:
        outer_size *= extent
    if lanes < 8 or window > 64 or outer_size < 16:
        return False
    _try(schedule.reorder, *loops[: leading - 1], *loops[leading:], loops[leading - 1])
    if not _reordered(schedule, block, loops[leading - 1]):
        return False  # refused: the caller's plain schedule applies
    fused = _try(schedule.fuse, *loops[: leading - 1]) if leading > 2 else loops[0]
    if fused is not None:
        _try(schedule.parallel, fused)
    _try(schedule.decompose_reduction, block, loops[leading])
    return True


def _reordered(schedule, block, loop) -> bool:
    """Whether `loop` is now the block's innermost loop."""
    return schedule.get(schedule.get_loops(block)[-1]).same_as(schedule.get(loop))


def _extent(schedule, loop):
    extent = schedule.get(loop).extent
    return int(extent) if hasattr(extent, "value") or isinstance(extent, int) else None


def schedule_pass():
    """A module pass scheduling every unscheduled PrimFunc (see the module docstring)."""
    import tvm

    @tvm.transform.module_pass(opt_level=0, name="HagoDefaultCPUSchedule")
    def _pass(mod, _context):
        updates = {}
        for gvar, func in mod.functions.items():
            if not isinstance(func, tvm.tirx.PrimFunc):
                continue
            if func.attrs is not None and func.attrs.get(SCHEDULED, False):
                continue
            updates[gvar] = schedule_function(func)
        for gvar, func in updates.items():
            mod[gvar] = func
        return mod

    return _pass


def cpu_pipeline(target):
    """TVM's generic CPU Relax pipeline with fusion and this pass before lowering."""
    import tvm
    from tvm.relax.backend.cpu_generic import pipeline as generic

    @tvm.transform.module_pass(opt_level=0, name="HagoCPUPipeline")
    def _pipeline(mod, _context):
        with target:
            passes = (generic.library_dispatch_passes(target) + generic.legalize_passes(target)
                      + [schedule_pass()] + generic.dataflow_lower_passes(target)
                      + generic.finalize_passes(target))
            return tvm.transform.Sequential(passes)(mod)

    return _pipeline
