"""The int16-accumulating kernels (hago_ir.int16_kernels) and the builds that use them.

The kernels are plain TensorIR, so the same schedule builds for x86, where
it runs here: each kernel, and whole arm-a72-i16 models emitted with them,
are compared bit for bit with numpy's int64 convolution wrapped to int16
(inputs and weights drawn so that most sums wrap) and with the integer
interpreter. For aarch64 the assembly is read: every kernel multiplies and
accumulates with `smlal` / `smlal2` on .8h lanes. No Cortex-A72 is at hand:
their speed there is not measured.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_fast_kernels import reference_conv
from test_realize import IMAGES, realized_pair

from hago_ir import int16_kernels
from hago_ir.kernel_epilogue import Epilogue, Requantize
from hago_ir.numerics import requantize_integers
from hago_ir.vnni_kernels import ConvGeometry

RNG = np.random.default_rng(31)

CONVS = {
    # name: (channels, out channels, size, kernel, stride, pad, depthwise)
    "3x3-padded-24-out": (16, 24, 9, 3, 1, 1, False),
    "1x1-stride2": (40, 16, 10, 1, 2, 0, False),
    "5x5-stride2-3-channels": (3, 32, 13, 5, 2, 2, False),  # kh > 3: the padded input is built once
    "depthwise-3x3-stride2-24ch": (24, 24, 11, 3, 2, 1, True),  # 24 channels: the input padded to 32
    "depthwise-3x3-unpadded-20ch": (20, 20, 8, 3, 1, 0, True),  # no spatial padding, channels still padded
    "depthwise-5x5-32ch": (32, 32, 9, 5, 1, 2, True),
}


def conv_case(case: str):
    channels, out_c, size, k, stride, pad, depthwise = CONVS[case]
    geometry = ConvGeometry(1, size, size, channels, out_c, (k, k), (stride, stride), (pad,) * 4)
    weights = RNG.integers(-128, 128, (out_c, 1 if depthwise else channels, k, k)).astype(np.int8)
    x = RNG.integers(-128, 128, (1, size, size, channels)).astype(np.int8)
    bias = RNG.integers(-30000, 30000, out_c)
    multiplier = tuple(int(m) for m in RNG.integers(2**29, 2**30, out_c))
    epilogue = Epilogue(out_c, bias, Requantize(multiplier, (22,) * out_c, -128, 127, "int8"), accumulator="int16")
    sums = reference_conv(x, weights, geometry, groups=channels if depthwise else 1) + bias[None, :, None, None]
    assert (np.abs(sums) > 2**15).mean() > 0.05, "the case must wrap the int16 sums"
    wrapped = (sums + 2**15) % 2**16 - 2**15
    want = requantize_integers(wrapped, np.array(multiplier)[:, None, None], 22, -128, 127).transpose(0, 2, 3, 1)
    packed = (int16_kernels.pack_depthwise_weights(weights, channels) if depthwise
              else int16_kernels.pack_weights(weights))
    return geometry, epilogue, depthwise, [x, packed], want


def compute_functions_with(assembly: str, pattern: str) -> dict[str, bool]:
    """{kernel body (`..._compute_`): whether `pattern` occurs in it} of an assembly listing."""
    found: dict[str, bool] = {}
    current = None
    for line in assembly.splitlines():
        label = re.match(r"^([_a-zA-Z][_a-zA-Z0-9.]*):$", line)
        if label:
            current = label.group(1) if label.group(1).endswith("_compute_") else None
            if current:
                found.setdefault(current, False)
        elif current and re.search(pattern, line):
            found[current] = True
    return found


SMLAL = r"\bsmlal2?\s+v\d+\.8h"


@pytest.mark.parametrize("case", sorted(CONVS))
def test_int16_kernel_is_bit_exact_and_uses_smlal(case: str) -> None:
    import tvm

    from hago_ir.tvm_build import tvm_target

    geometry, epilogue, depthwise, arrays, want = conv_case(case)
    kernel = int16_kernels.conv2d_nhwc_i16(geometry, epilogue, depthwise=depthwise).with_attr("global_symbol", "main")
    blocks = arrays[1].shape[0] * int16_kernels.LANES
    arrays = arrays + [array for array, _ in epilogue.arrays(blocks)]
    executable = tvm.compile(kernel, target=tvm_target("x86"))
    tensors = [tvm.runtime.tensor(np.ascontiguousarray(a)) for a in arrays]
    tensors.append(tvm.runtime.tensor(np.zeros((1, *geometry.out_hw, blocks), "int8")))
    executable.mod["main"](*tensors)
    np.testing.assert_array_equal(tensors[-1].numpy()[..., : geometry.out_channels], want)
    assembly = tvm.compile(kernel, target=tvm_target("aarch64")).mod.inspect_source("s")
    assert all(compute_functions_with(assembly, SMLAL).values())


@pytest.mark.parametrize("case, kinds", [
    ("mobilenet-int16-accumulation-arm", {"int16", "int16_depthwise"}),
    ("resnet-stem-arm", {"int16"}),  # its max pool and requantizes: one kernel (hago_ir.pool_kernels)
])
def test_arm_model_is_bit_exact_with_the_int16_kernels(case: str, kinds: set[str]) -> None:
    """arm-a72-i16 models: every conv (depthwise too) and the dense on the int16 kernels; built for
    x86 (as `hago build --target x86` emits it), bit-exact with the integer interpreter; built for
    aarch64, `smlal` in every kernel."""
    from hago_ir.dialects import qnn, qsim
    from hago_ir.integer_interpreter import run_integer_batches
    from hago_ir.model_io import find_function
    from hago_ir.relax_backend import _Emitter, to_relax
    from hago_ir.tvm_build import build, kernels_for

    _, realized = realized_pair(case)
    emitter = _Emitter(find_function(realized, None), 1, **kernels_for("aarch64"))
    emitter.run()
    found = [emitter.fast_kernel(op) for op in realized.walk() if isinstance(op, (qnn.Conv2dOp, qnn.DenseOp))]
    assert set(found) == kinds
    reference = next(iter(run_integer_batches(realized, {"x": IMAGES[:8]}).values()))
    (got,) = build(to_relax(realized, batch=8, **kernels_for("x86")), "x86").run(IMAGES[:8])
    np.testing.assert_array_equal(got, reference)
    assembly = build(to_relax(realized, **kernels_for("aarch64")), "aarch64").assembly()
    kernels = {name: has for name, has in compute_functions_with(assembly, SMLAL).items() if "_i16_" in name}
    assert len(kernels) == len(found) and all(kernels.values())
    pools = [op for op in realized.walk() if isinstance(op, qsim.MaxPool2dOp)]
    assert all(use.operation in emitter.fused for pool in pools for use in pool.output.uses)
