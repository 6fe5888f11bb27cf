"""The CUDA `dp4a` kernels (hago_ir.dp4a_kernels) and the cuda builds that use them.

Three levels, each checked where the machine allows:
- the kernels' computation (before scheduling) against numpy's int64
  convolution and numerics' requantize, on the CPU: everywhere;
- the scheduled kernels and whole models compiled for CUDA by nvcc, with
  `__dp4a` in the CUDA source and `dp4a.s32.s32` in the PTX: where nvcc is
  installed (every machine of this project's kind has CUDA 13's nvcc);
- the scheduled kernels run on a GPU, bit for bit: where a CUDA GPU is present.
A whole model's emission (packing, bias, padded channels, slicing) is checked
bit for bit against the integer interpreter on the CPU with the kernels'
computations unscheduled (`to_relax(..., dp4a=True, dp4a_unscheduled=True)`).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from test_fast_kernels import epilogue_for, expected, reference_conv
from test_realize import IMAGES, realized_pair

from hago_ir import dp4a_kernels, vnni_kernels
from hago_ir.vnni_kernels import ConvGeometry

RNG = np.random.default_rng(23)

CONVS = {
    # name: (channels, out channels, size, kernel, stride, pad)
    "3x3-padded-odd-channels": (30, 40, 9, 3, 1, 1),  # channels padded to 32, outputs to 48
    "1x1-stride2-unpadded": (16, 32, 10, 1, 2, 0),  # no padded copy: the input is read as it is
    "7x7-stride2-3-channels": (3, 16, 15, 7, 2, 3),  # an RGB stem
    "dense-as-1x1": (50, 10, 1, 1, 1, 0),
}


def conv_case(case: str, arithmetic: str):
    channels, out_c, size, k, stride, pad = CONVS[case]
    geometry = ConvGeometry(2, size, size, channels, out_c, (k, k), (stride, stride), (pad,) * 4)
    weights = RNG.integers(-128, 128, (out_c, channels, k, k)).astype(np.int8)
    x = RNG.integers(-128, 128, (2, size, size, channels)).astype(np.int8)
    epilogue, bias = epilogue_for(out_c, None, dtype="int8", arithmetic=arithmetic)
    packed = vnni_kernels.pack_weights(weights)
    arrays = [x, packed] + [array for array, _ in epilogue.arrays(packed.shape[0] * 16)]
    want = expected(reference_conv(x, weights, geometry), bias, epilogue)
    return geometry, epilogue, arrays, want


def run_kernel(func, target, device, arrays, out_shape, out_dtype):
    import tvm

    executable = tvm.compile(func.with_attr("global_symbol", "main"), target=target)
    tensors = [tvm.runtime.tensor(np.ascontiguousarray(a), device) for a in arrays]
    tensors.append(tvm.runtime.tensor(np.zeros(out_shape, out_dtype), device))
    executable.mod["main"](*tensors)
    return tensors[-1].numpy(), executable


def cuda_present() -> bool:
    import tvm

    return bool(tvm.cuda().exist)


@pytest.mark.parametrize("arithmetic", ["fixed-point", "float32"])
@pytest.mark.parametrize("case", sorted(CONVS))
def test_dp4a_computation_is_bit_exact(case: str, arithmetic: str) -> None:
    """What the dp4a kernel computes (s8 x s8 sums, bias, requantize with nearbyint), run on the CPU."""
    import tvm

    from hago_ir.tvm_build import tvm_target

    geometry, epilogue, arrays, want = conv_case(case, arithmetic)
    blocks = arrays[1].shape[0] * 16
    func = dp4a_kernels.conv2d_nhwc_dp4a_compute(geometry, epilogue)
    got, _ = run_kernel(func, tvm_target("x86"), tvm.cpu(), arrays, (2, *geometry.out_hw, blocks), "int8")
    np.testing.assert_array_equal(got[..., : geometry.out_channels], want)


def ptx_of(cuda_source: str) -> str:
    from tvm.support import nvcc

    from hago_ir.tvm_build import tvm_target

    with tvm_target("cuda"):
        return bytes(nvcc.compile_cuda(cuda_source, target_format="ptx", compiler="nvcc")).decode()


needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed: nothing compiles for CUDA")


@needs_nvcc
@pytest.mark.parametrize("case", sorted(CONVS))
def test_dp4a_kernel_compiles_to_dp4a(case: str) -> None:
    """The scheduled kernel: nvcc compiles it, its PTX multiplies with dp4a; run where a GPU is."""
    import tvm

    from hago_ir.tvm_build import tvm_target

    geometry, epilogue, arrays, want = conv_case(case, "fixed-point")
    func = dp4a_kernels.conv2d_nhwc_dp4a(geometry, epilogue)
    executable = tvm.compile(func.with_attr("global_symbol", "main"), target=tvm_target("cuda"))
    source = executable.mod.imports[0].inspect_source("")
    assert "__dp4a" in source
    assert "dp4a.s32.s32" in ptx_of(source)
    if not cuda_present():
        pytest.skip("no CUDA GPU here: the kernel was compiled and its PTX read, not run")
    blocks = arrays[1].shape[0] * 16
    got, _ = run_kernel(func, tvm_target("cuda"), tvm.cuda(), arrays, (2, *geometry.out_hw, blocks), "int8")
    np.testing.assert_array_equal(got[..., : geometry.out_channels], want)


def test_cuda_emission_is_bit_exact_with_the_integer_interpreter() -> None:
    """A cuda-dp4a ResNet stem + blocks: every conv and the dense call the dp4a kernel, whose
    computations (unscheduled, built for the CPU) give the interpreter's integers."""
    from hago_ir.dialects import qnn
    from hago_ir.integer_interpreter import run_integer_batches
    from hago_ir.model_io import find_function
    from hago_ir.relax_backend import _Emitter, to_relax
    from hago_ir.tvm_build import build

    _, realized = realized_pair("resnet-stem-dp4a")
    emitter = _Emitter(find_function(realized, None), 1, dp4a=True, dp4a_unscheduled=True)
    emitter.run()
    convs = [op for op in realized.walk() if isinstance(op, (qnn.Conv2dOp, qnn.DenseOp))]
    assert convs and all(emitter.fast_kernel(op) == "dp4a" for op in convs)
    reference = next(iter(run_integer_batches(realized, {"x": IMAGES[:8]}).values()))
    (got,) = build(to_relax(realized, batch=8, dp4a=True, dp4a_unscheduled=True), "x86").run(IMAGES[:8])
    np.testing.assert_array_equal(got, reference)


@needs_nvcc
def test_cuda_build_uses_dp4a() -> None:
    """The same model built for CUDA: dp4a in the device code; bit-exact where a GPU runs it."""
    from hago_ir.integer_interpreter import run_integer_batches
    from hago_ir.relax_backend import to_relax
    from hago_ir.tvm_build import build, kernels_for

    from hago_ir.dialects import qnn

    _, realized = realized_pair("resnet-stem-dp4a")
    built = build(to_relax(realized, batch=8, **kernels_for("cuda")), "cuda")
    convs = [op for op in realized.walk() if isinstance(op, (qnn.Conv2dOp, qnn.DenseOp))]
    assert built.assembly().count("__dp4a(") >= len(convs) == 7  # 6 convs and the dense, a kernel each
    if not cuda_present():
        pytest.skip("no CUDA GPU here: the model was compiled for CUDA, not run")
    reference = next(iter(run_integer_batches(realized, {"x": IMAGES[:8]}).values()))
    (got,) = built.run(IMAGES[:8])
    np.testing.assert_array_equal(got, reference)
