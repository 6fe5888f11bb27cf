"""The hand-scheduled int8 CPU kernels and the layout they keep between layers.

hago_ir.vnni_kernels (conv2d on `vpdpbusd`) and hago_ir.depthwise_kernels,
each with hago_ir.kernel_epilogue's fused bias + requantize, are compared bit
for bit with numpy's int64 convolution followed by numerics.requantize_integers,
over the geometries the models meet: padded 3x3, strided 7x7 with signed
(shifted) input and 3 channels, unpadded strided 1x1, output channels that
are not a multiple of 16, deep layers split across threads by output channel,
inputs that store more channels than they hold; depthwise 3x3 on `vpdpbusd`
over window columns and 5x5 on int16 products; each with the fixed-point
requantize and with the float32 one (numerics.requantize_float32, with some
power-of-two factors, whose products land on exact halves and test the
rounding of ties). Kernels that need AVX-512
VNNI to run are compiled (and their assembly read) everywhere and run where
/proc/cpuinfo lists avx512_vnni.
"""

from __future__ import annotations

import numpy as np
import pytest

from hago_ir import depthwise_kernels, vnni_kernels
from hago_ir.cpu_schedule import SCHEDULED
from hago_ir.kernel_epilogue import Epilogue, Requantize
from hago_ir.numerics import requantize_float32, requantize_integers
from hago_ir.tvm_build import host_has_vnni, tvm_target
from hago_ir.vnni_kernels import ConvGeometry

RNG = np.random.default_rng(11)


def reference_conv(x_nhwc: np.ndarray, weights: np.ndarray, geometry: ConvGeometry, groups: int = 1) -> np.ndarray:
    """int64 NCHW sums of an NHWC input and OIHW weights."""
    t, left, b, r = geometry.pads
    x = np.pad(x_nhwc.astype(np.int64).transpose(0, 3, 1, 2), ((0, 0), (0, 0), (t, b), (left, r)))
    (kh, kw), (sh, sw), (oh, ow) = geometry.kernel, geometry.strides, geometry.out_hw
    out = np.zeros((x.shape[0], weights.shape[0], oh, ow), np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
            if groups == 1:
                out += np.einsum("nchw,oc->nohw", patch, weights[:, :, i, j].astype(np.int64))
            else:
                out += patch * weights[None, :, 0, i, j, None, None].astype(np.int64)
    return out


ARITHMETIC = ("fixed-point", "float32")


def epilogue_for(out_channels: int, signed_weights: np.ndarray | None, dtype: str = "uint8",
                 arithmetic: str = "fixed-point") -> tuple[Epilogue, np.ndarray]:
    bias = RNG.integers(-4000, 4000, out_channels)
    multiplier = tuple(int(m) for m in RNG.integers(2**29, 2**30, out_channels))
    shift = tuple(int(s) for s in RNG.integers(26, 32, out_channels))
    floats = None
    if arithmetic == "float32":
        # Every third channel an exact power of two: sums with the right low bits tie.
        floats = tuple(2.0 ** (29 - s) if i % 3 == 0 else float(np.float32(m / 2**s))
                       for i, (m, s) in enumerate(zip(multiplier, shift)))
    kernel_bias = bias.copy()
    if signed_weights is not None:  # the kernel shifts s8 input by +128; the bias takes it back
        kernel_bias -= 128 * signed_weights.astype(np.int64).reshape(out_channels, -1).sum(axis=1)
    qmin, qmax = (0, 255) if dtype == "uint8" else (-128, 127)
    return Epilogue(out_channels, kernel_bias, Requantize(multiplier, shift, qmin, qmax, dtype, floats)), bias


def expected(sums: np.ndarray, bias: np.ndarray, epilogue: Epilogue) -> np.ndarray:
    q = epilogue.requantize
    column = (slice(None), None, None)
    if q.in_float32:
        values = requantize_float32(sums + bias[column], np.array(q.float_multiplier, np.float32)[column],
                                    q.qmin, q.qmax)
        return values.transpose(0, 2, 3, 1)
    values = requantize_integers(sums + bias[column], np.array(q.multiplier)[column],
                                 np.array(q.shift)[column], q.qmin, q.qmax)
    return values.transpose(0, 2, 3, 1)


def run(kernel, target: str, arrays: list[np.ndarray], out_shape, out_dtype: str) -> np.ndarray:
    import tvm

    executable = tvm.compile(kernel.with_attr("global_symbol", "main"), target=tvm_target(target))
    tensors = [tvm.runtime.tensor(np.ascontiguousarray(a)) for a in arrays]
    tensors.append(tvm.runtime.tensor(np.zeros(out_shape, out_dtype)))
    executable.mod["main"](*tensors)
    return tensors[-1].numpy(), executable


CONVS = {
    # name: (channels, stored channels, out channels, size, kernel, stride, pad, signed input)
    "3x3-padded": (32, 32, 48, 14, 3, 1, 1, False),
    "7x7-stride2-signed-3ch": (3, 3, 16, 20, 7, 2, 3, True),
    "1x1-stride2-unpadded": (64, 64, 32, 12, 1, 2, 0, False),
    "24-out-channels": (16, 16, 24, 10, 3, 1, 1, False),
    "deep-channel-parallel": (256, 256, 160, 4, 3, 1, 1, False),
    "stored-channels-past-real": (24, 32, 32, 9, 1, 1, 0, False),
}


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
@pytest.mark.parametrize("case", sorted(CONVS))
def test_vnni_conv_with_fused_requantize_is_bit_exact(case: str, arithmetic: str) -> None:
    channels, stored, out_c, size, k, stride, pad, signed = CONVS[case]
    geometry = ConvGeometry(1, size, size, stored, out_c, (k, k), (stride, stride), (pad,) * 4)
    weights = RNG.integers(-128, 128, (out_c, channels, k, k)).astype(np.int8)
    x = RNG.integers(-128 if signed else 0, 128 if signed else 256, (1, size, size, stored))
    x = x.astype(np.int8 if signed else np.uint8)
    if stored > channels:  # don't-care values in the padding channels: zero weights must hide them
        x[..., channels:] = RNG.integers(0, 256, x[..., channels:].shape)
    epilogue, bias = epilogue_for(out_c, weights if signed else None, arithmetic=arithmetic)
    kernel = vnni_kernels.conv2d_nhwc_vnni(geometry, signed, epilogue)
    padded_weights = np.pad(weights, [(0, 0), (0, stored - channels), (0, 0), (0, 0)])
    packed = vnni_kernels.packed_weights_for(geometry, padded_weights)
    blocks = packed.shape[0] * 16
    arrays = [x, packed] + [array for array, _ in epilogue.arrays(blocks)]
    if not host_has_vnni():
        import tvm

        assert "vpdpbusd" in tvm.compile(kernel, target=tvm_target("x86-vnni")).mod.inspect_source("s")
        pytest.skip("this CPU has no avx512_vnni (/proc/cpuinfo): the kernel was compiled, not run")
    got, executable = run(kernel, "x86-vnni", arrays, (1, *geometry.out_hw, blocks), "uint8")
    assert "vpdpbusd" in executable.mod.inspect_source("s")
    want = expected(reference_conv(x[..., :channels], weights, geometry), bias, epilogue)
    np.testing.assert_array_equal(got[..., :out_c], want)
    # Padding output channels hold clip(0): bias 0, multiplier 1, shift 0.
    assert (got[..., out_c:] == 0).all()


STEMS = {
    # name: (channels, height, width, out channels, kernel, stride, pads (t, l, b, r))
    "7x7-stride2-resnet": (3, 18, 18, 32, 7, 2, (3, 3, 3, 3)),
    "3x3-stride2-mobilenet": (3, 17, 15, 32, 3, 2, (0, 0, 1, 1)),  # kh <= 3: each row band pads its own planes
    "5x5-stride1-4ch": (4, 9, 11, 16, 5, 1, (2, 2, 2, 2)),  # a row of 5 taps spans two groups of 4
    "4x4-stride4-unpadded": (1, 16, 16, 48, 4, 4, (0, 0, 0, 0)),  # patchify: whole groups, no padding taps
}


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("case", sorted(STEMS))
def test_stem_reads_an_nchw_input(case: str, signed: bool) -> None:
    """A stem with few channels takes the model's quantized NCHW input as it is (no transpose kernel
    before it), reading each row's taps in groups of 4 straight from the padded planes."""
    c, h, w, out_c, k, stride, pads = STEMS[case]
    geometry = vnni_kernels.ConvGeometry(1, h, w, c, out_c, (k, k), (stride, stride), pads, nchw_input=True)
    weights = RNG.integers(-128, 128, (out_c, c, k, k)).astype(np.int8)
    x = RNG.integers(-128 if signed else 0, 128 if signed else 256, (1, h, w, c)).astype(np.int8 if signed else np.uint8)
    epilogue, bias = epilogue_for(out_c, weights if signed else None, arithmetic="float32")
    kernel = vnni_kernels.conv2d_nhwc_vnni(geometry, signed, epilogue)
    packed = vnni_kernels.packed_weights_for(geometry, weights)
    blocks = packed.shape[0] * 16
    arrays = [x.transpose(0, 3, 1, 2), packed] + [array for array, _ in epilogue.arrays(blocks)]
    if not host_has_vnni():
        pytest.skip("this CPU has no avx512_vnni (/proc/cpuinfo)")
    got, _ = run(kernel, "x86-vnni", arrays, (1, *geometry.out_hw, blocks), "uint8")
    got = got[..., :out_c]
    np.testing.assert_array_equal(got, expected(reference_conv(x, weights, geometry), bias, epilogue))
    with pytest.raises(ValueError, match="NCHW input is for stems"):
        vnni_kernels.conv2d_nhwc_vnni(vnni_kernels.ConvGeometry(1, 8, 8, 16, 16, (3, 3), (1, 1), (1,) * 4, True),
                                      False, epilogue_for(16, None)[0])


DEPTHWISE = {
    # name: (channels, size, window, stride, signed input); windows up to 4 rows use vpdpbusd
    "3x3-stride1-40ch": (40, 12, 3, 1, False),
    "3x3-stride2-signed": (32, 12, 3, 2, True),
    "3x3-stride1-signed-16ch": (16, 12, 3, 1, True),
    "3x3-stride2-odd-width": (48, 13, 3, 2, False),
    "5x5-int16-products": (24, 11, 5, 1, True),
}


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
@pytest.mark.parametrize("case", sorted(DEPTHWISE))
def test_depthwise_conv_with_fused_requantize_is_bit_exact(case: str, arithmetic: str) -> None:
    channels, size, k, stride, signed = DEPTHWISE[case]
    pad = k // 2
    geometry = ConvGeometry(1, size, size, channels, channels, (k, k), (stride, stride), (pad,) * 4)
    assert depthwise_kernels.uses_vnni_columns(geometry) == (k <= 4)
    weights = RNG.integers(-128, 128, (channels, 1, k, k)).astype(np.int8)
    x = RNG.integers(-128 if signed else 0, 128 if signed else 256, (1, size, size, channels))
    x = x.astype(np.int8 if signed else np.uint8)
    epilogue, bias = epilogue_for(channels, weights if signed else None, dtype="int8", arithmetic=arithmetic)
    kernel = depthwise_kernels.depthwise_conv2d_nhwc(geometry, signed, epilogue)
    packed = depthwise_kernels.packed_weights_for(geometry, weights)
    stored = -(-channels // 16) * 16
    arrays = [x, packed] + [array for array, _ in epilogue.arrays(stored)]
    if depthwise_kernels.uses_vnni_columns(geometry) and not host_has_vnni():
        import tvm

        assert "vpdpbusd" in tvm.compile(kernel, target=tvm_target("x86-vnni")).mod.inspect_source("s")
        pytest.skip("this CPU has no avx512_vnni (/proc/cpuinfo): the kernel was compiled, not run")
    got, executable = run(kernel, "x86-vnni", arrays, (1, *geometry.out_hw, stored), "int8")
    assert ("vpdpbusd" in executable.mod.inspect_source("s")) == (k <= 4)
    want = expected(reference_conv(x, weights, geometry, groups=channels), bias, epilogue)
    np.testing.assert_array_equal(got[..., :channels], want)


def test_default_cpu_schedule_parallelizes_and_keeps_results() -> None:
    """A legalized NHWC max pool gets threads over pixels and channels innermost; same integers."""
    import tvm
    from tvm import relax

    from hago_ir.cpu_schedule import schedule_function

    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 16, 16, 32), "int8"))
    with builder.function("main", [x]):
        with builder.dataflow():
            pooled = builder.emit(relax.op.nn.max_pool2d(x, (3, 3), (2, 2), (1, 1, 1, 1), layout="NHWC"))
            output = builder.emit_output(pooled)
        builder.emit_func_output(output)
    module = relax.transform.LegalizeOps()(builder.get())
    (name,) = [gv for gv, f in module.functions.items() if isinstance(f, tvm.tirx.PrimFunc)]
    scheduled = schedule_function(module[name])
    assert scheduled.attrs[SCHEDULED]
    assert "T.parallel" in scheduled.script()
    data = RNG.integers(-128, 128, (1, 16, 16, 32)).astype(np.int8)
    got, _ = run(scheduled, "x86", [data], (1, 8, 8, 32), "int8")
    padded = np.pad(data, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-128)
    want = np.max([padded[:, i : i + 16 : 2, j : j + 16 : 2] for i in range(3) for j in range(3)], axis=0)
    np.testing.assert_array_equal(got, want)


def test_default_schedule_vectorizes_int8_elementwise_kernels_whole() -> None:
    """A float32 requantize of int8 NHWC: 64-lane vectors along the channels, no byte-by-byte moves.

    With 16 int8 lanes per iteration LLVM re-vectorized the loop around them
    with vpextrb / vpinsrb, seven times slower (hago_ir/cpu_schedule.py).
    """
    import tvm
    from tvm import relax

    from hago_ir.cpu_schedule import schedule_function

    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 14, 14, 64), "int8"))
    with builder.function("main", [x]):
        with builder.dataflow():
            scaled = builder.emit(relax.op.multiply(relax.op.astype(x, "float32"), relax.const(0.37, "float32")))
            clipped = builder.emit(relax.op.clip(relax.op.round(scaled), relax.prim_value(-128.0), relax.prim_value(127.0)))
            output = builder.emit_output(relax.op.astype(clipped, "int8"))
        builder.emit_func_output(output)
    module = relax.transform.LegalizeOps()(builder.get())
    module = relax.transform.FuseTIR()(relax.transform.FuseOps()(relax.transform.AnnotateTIROpPattern()(module)))
    (name,) = [gv for gv, f in module.functions.items() if isinstance(f, tvm.tirx.PrimFunc)]
    scheduled = schedule_function(module[name])
    assert "T.vectorized(T.int64(64))" in scheduled.script()
    data = RNG.integers(-128, 128, (1, 14, 14, 64)).astype(np.int8)
    got, executable = run(scheduled, "x86", [data], (1, 14, 14, 64), "int8")
    np.testing.assert_array_equal(got, np.clip(np.rint(data.astype(np.float32) * np.float32(0.37)), -128, 127))
    assert "vpextrb" not in executable.mod.inspect_source("s")


POOLS = {
    # name: (dtype, size, window, stride, pads (t, l, b, r), out size): ResNet's, a ceil-mode one, u8
    "3x3-stride2-padded-int8": ("int8", 13, 3, 2, (1, 1, 1, 1), 7),
    "2x2-stride2-ceil-uint8": ("uint8", 9, 2, 2, (0, 0, 1, 1), 5),
}


@pytest.mark.parametrize("case", sorted(POOLS))
def test_max_pool_with_fused_requantizes_is_bit_exact(case: str) -> None:
    """One kernel pools and writes each reader's requantize: float32 per-tensor and fixed-point per-channel."""
    import tvm

    from hago_ir.pool_kernels import PoolGeometry, max_pool2d_requantized

    dtype, size, window, stride, pads, out = POOLS[case]
    channels = 48
    info = np.iinfo(dtype)
    x = RNG.integers(info.min, info.max + 1, (2, size, size, channels)).astype(dtype)
    epilogues = (
        Epilogue(channels, None, Requantize((1 << 29,), (30,), -128, 127, "int8", (0.375,))),  # ties: x.5
        Epilogue(channels, None, Requantize(tuple(int(m) for m in RNG.integers(2**29, 2**30, channels)),
                                            (31,) * channels, 0, 255, "uint8")),
    )
    kernel = max_pool2d_requantized(
        PoolGeometry(2, size, size, channels, (window, window), (stride, stride), pads, (out, out)), dtype, epilogues)
    executable = tvm.compile(kernel.with_attr("global_symbol", "main"), target=tvm_target("x86"))
    arrays = [x] + [array for e in epilogues for array, _ in e.arrays(channels)]
    arrays += [np.zeros((2, out, out, channels), e.out_dtype) for e in epilogues]
    tensors = [tvm.runtime.tensor(a) for a in arrays]
    executable.mod["main"](*tensors)
    top, left, bottom, right = pads
    wide = np.pad(x.astype(np.int64), ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=info.min)
    pooled = np.full((2, out, out, channels), info.min, np.int64)
    for i in range(window):
        for j in range(window):
            pooled = np.maximum(pooled, wide[:, i : i + stride * out : stride, j : j + stride * out : stride])
    pooled = pooled.transpose(0, 3, 1, 2)  # NCHW, as `expected` takes sums
    for epilogue, got in zip(epilogues, tensors[-2:]):
        np.testing.assert_array_equal(got.numpy(), expected(pooled, np.zeros(channels, np.int64), epilogue))


def test_tvm_uses_every_core() -> None:
    """TVM sizes its pool to half the hardware threads on x86 (one thread on 2 cores); hago asks for all."""
    import tvm

    from hago_ir.tvm_build import usable_cores

    assert tvm.get_global_func("runtime.NumThreads")() == usable_cores()


def test_residual_adds_run_inside_the_conv_kernels() -> None:
    """ResNet blocks: the qnn.adds reading a conv's requantize are computed in that conv's kernel."""
    from hago_ir.dialects import qnn
    from test_realize import realized_pair

    from hago_ir.model_io import find_function
    from hago_ir.relax_backend import _Emitter

    _, realized = realized_pair("resnet-vnni")
    emitter = _Emitter(find_function(realized, None), 1, vnni=True)
    emitter.run()
    adds = [op for op in realized.walk() if isinstance(op, qnn.AddOp)]
    assert adds
    assert all(add in emitter.fused for add in adds)


def test_tuning_leaves_the_hand_kernels_alone() -> None:
    """MetaSchedule's tasks for a VNNI build: the leftover kernels, none of the hand-scheduled ones."""
    from test_realize import realized_pair

    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import fused_for_tuning, tuning_tasks, tvm_target

    _, realized = realized_pair("mobilenet-relu6-depthwise-vnni")
    target = tvm_target("x86-vnni")
    with target:
        fused = fused_for_tuning(to_relax(realized, vnni=True))
    hand = [gv.name_hint for gv, f in fused.functions.items()
            if getattr(f, "attrs", None) is not None and f.attrs.get(SCHEDULED, False)]
    assert any(name.startswith("conv2d_vnni") for name in hand)
    assert any(name.startswith("depthwise_conv2d") for name in hand)
    names = [task.task_name for task in tuning_tasks(fused, target)]
    assert names, "the quantize / requantize / pool kernels are left to tune"
    assert not set(names) & set(hand)


def test_tuned_schedules_are_used_only_where_faster(tmp_path, monkeypatch) -> None:
    """tvm_build.faster_than_default keeps a tuned record only where it beats
    the default schedule. A record of naive loops is timed against the
    default's threads and vectors and dropped; the choice is written to
    schedule_choices.json and read back, not timed again; a faster record is
    kept and MetaScheduleApplyDatabase applies it, also to the same kernel
    with its blocks named otherwise (as in a model whose numbering moved)."""
    import json

    import tvm
    from tvm import relax
    from tvm.s_tir import meta_schedule as ms

    from hago_ir import tvm_build

    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 56, 56, 64), "int32"))
    with builder.function("main", [x]):
        with builder.dataflow():
            scaled = builder.emit(relax.op.multiply(relax.op.astype(x, "float32"), relax.const(0.37, "float32")))
            output = builder.emit_output(relax.op.astype(relax.op.round(scaled), "int8"))
        builder.emit_func_output(output)
    module = relax.transform.LegalizeOps()(builder.get())
    module = relax.transform.FuseTIR()(relax.transform.FuseOps()(relax.transform.AnnotateTIROpPattern()(module)))
    (name,) = [gv for gv, f in module.functions.items() if isinstance(f, tvm.tirx.PrimFunc)]
    target = tvm_target("x86")
    (task,) = ms.relax_integration.extract_tasks(module, target)
    workload = task.dispatched[0]  # the kernel as tuning and MetaScheduleApplyDatabase see it

    def database_with_naive_record():
        naive = tvm.s_tir.Schedule(workload)  # the loops as they are (a record needs one instruction)
        last = naive.get(naive.get_child_blocks(naive.get_sblock("root"))[-1]).name_hint
        naive.get_loops(naive.get_sblock(last))  # a trace names the blocks it schedules, as tuned ones do
        database = ms.database.MemoryDatabase()
        database.commit_tuning_record(ms.database.TuningRecord(
            trace=naive.trace, workload=database.commit_workload(workload),
            run_secs=[1e-9], target=target, args_info=ms.arg_info.ArgInfo.from_prim_func(workload["main"])))
        return database

    def applied(kept):
        with target, kept:
            return relax.transform.MetaScheduleApplyDatabase()(module)[name]

    kept = tvm_build.faster_than_default([("requantize", workload)], database_with_naive_record(), target, tmp_path)
    (choice,) = json.loads((tmp_path / tvm_build.CHOICES).read_text()).values()
    assert choice["schedule"] == "default" and choice["tuned_ms"] > choice["default_ms"]
    assert not kept.get_all_tuning_records()
    assert not (applied(kept).attrs or {}).get(SCHEDULED, False)  # left to the default schedule

    def must_not_time(*_):
        raise AssertionError("a recorded choice is timed again")

    monkeypatch.setattr(tvm_build, "kernel_seconds", must_not_time)
    chosen = []
    kept = tvm_build.faster_than_default([("requantize", workload)], database_with_naive_record(), target, tmp_path,
                                         chosen)
    assert not kept.get_all_tuning_records()
    assert chosen == [choice]  # what the build reports

    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setattr(tvm_build, "kernel_seconds", lambda *_: [1e-3, 2e-3])  # the tuned schedule, the default
    kept = tvm_build.faster_than_default([("requantize", workload)], database_with_naive_record(), target,
                                         tmp_path / "elsewhere")
    assert len(kept.get_all_tuning_records()) == 1
    tuned = applied(kept)
    assert tuned.attrs[SCHEDULED] and "T.parallel" not in tuned.script()

    # The same kernel in another model, its blocks named after other Relax
    # variables (a record's trace names the blocks it was tuned on): the
    # choice made above is found by its structure and the record still applies.
    import tvm.script

    schedule = tvm.s_tir.Schedule(module[name])
    text = tvm.IRModule({"main": module[name]}).script()
    for block in schedule.get_child_blocks(schedule.get_sblock("root")):
        block_name = schedule.get(block).name_hint
        text = text.replace(f'"{block_name}"', f'"{block_name}_elsewhere"')
    renamed = module
    renamed.update_func(name, tvm.script.from_source(text)["main"])
    (renamed_task,) = ms.relax_integration.extract_tasks(renamed, target)
    assert "_elsewhere" in renamed_task.dispatched[0].script()
    monkeypatch.setattr(tvm_build, "kernel_seconds", must_not_time)
    kept = tvm_build.faster_than_default([("requantize", renamed_task.dispatched[0])], database_with_naive_record(),
                                         target, tmp_path / "elsewhere")
    with target, kept:
        tuned = relax.transform.MetaScheduleApplyDatabase()(renamed)[name]
    assert tuned.attrs[SCHEDULED] and "T.parallel" not in tuned.script()
