"""The integer arithmetic of the realized model (hago_ir/numerics.py) and the tools that build and export it."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnx
import pytest
from hago_ir.tools.hago import main as hago_main

from hago_ir import numerics

FASHION = Path(__file__).resolve().parents[2] / "examples" / "fashion_cnn"


def test_round_half_even_treats_float_noise_around_a_half_as_a_tie() -> None:
    values = np.array([3.4999999999999996, 3.5000000000000004, 2.5000000000000004, -2.4999999999999996, 3.4999])
    np.testing.assert_array_equal(numerics.round_half_even(values), [4.0, 4.0, 2.0, -2.0, 3.0])
    # The realistic case: an odd integer moved to a scale twice as coarse, computed in float64.
    scale_in = 0.3
    x = 7 * scale_in
    assert numerics.quantize(np.array([x]), np.array(2 * scale_in), 8, True)[0] == 4.0


def test_fixed_point_multiplier_and_rounding_shift() -> None:
    assert numerics.fixed_point_multiplier(0.25) == (1, 2)  # a power of two is a pure shift
    assert numerics.fixed_point_multiplier(3.0) == (3, 0)
    m, shift = numerics.fixed_point_multiplier(1 / 3)
    assert m < 2**31
    assert abs(m / 2**shift - 1 / 3) < 2**-31
    with pytest.raises(ValueError, match="too large"):
        numerics.fixed_point_multiplier(2.0**40)
    x = np.arange(-40, 41)
    for s in range(4):
        np.testing.assert_array_equal(numerics.rounding_right_shift(x, s), np.rint(x / 2**s))
    q = np.arange(-300, 300)
    m, shift = numerics.fixed_point_multiplier(0.37)
    got = numerics.requantize_integers(q, m, shift, -128, 127)
    exact = [min(127, max(-128, round(Fraction(int(v) * m, 2**shift)))) for v in q]  # round(): half to even
    np.testing.assert_array_equal(got, exact)
    assert np.abs(got - np.clip(q * 0.37, -128, 127)).max() <= 0.5 + 1e-9


def test_float32_requantize_rounds_like_the_x86_instructions() -> None:
    """Convert to float32, multiply in float32, round half to even, clip: each IEEE step."""
    # Ties go to even; 2^24 + 1 is not a float32 (it becomes 2^24) before the multiply.
    q = np.array([5, 7, -5, -7, 2**24 + 1, 1000, -1000])
    got = numerics.requantize_float32(q, 0.5, -128, 127)
    np.testing.assert_array_equal(got, [2, 4, -2, -4, 127, 127, -128])
    np.testing.assert_array_equal(numerics.requantize_float32(np.array([2**24 + 1]), 2.0**-20, -128, 127), [16])
    # The product is rounded to float32 before the integer rounding: 25 x 0.1f is
    # 2.50000003725 exactly (3 when rounded from float64), 2.5 in float32, a tie: 2.
    factor = numerics.float32_multiplier(0.1)
    assert factor == float(np.float32(0.1))
    assert np.rint(25 * factor) == 3
    np.testing.assert_array_equal(numerics.requantize_float32(np.array([25]), factor, -128, 127), [2])
    # Per channel, as a broadcast column.
    got = numerics.requantize_float32(np.array([[3], [3]]), np.array([[0.5], [1.5]], np.float32), 0, 255)
    np.testing.assert_array_equal(got, [[2], [4]])
    with pytest.raises(ValueError, match="no positive finite float32"):
        numerics.float32_multiplier(1e-50)  # underflows float32
    # A float32 quantize divides once in float32: 1.5 / 0.1f rounds to 15.0; 0.25 / 0.1f to 2.5, a tie: 2.
    np.testing.assert_array_equal(numerics.quantize_float32(np.array([1.5, 0.25, -0.25, 100.0]), factor, -128, 127),
                                  [15, 2, -2, 127])


def test_accumulator_wrap_and_saturation() -> None:
    sums = np.array([32767, 32768, -32769, 70000])
    np.testing.assert_array_equal(numerics.hold_in_accumulator(sums, 16, "wrap"), [32767, -32768, 32767, 4464])
    np.testing.assert_array_equal(numerics.hold_in_accumulator(sums, 16, "saturate"), [32767, 32767, -32768, 32767])


@pytest.fixture(scope="module")
def realized_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli")
    pipeline = (
        'hago-canonicalize,hago-topology{spec=x86-vnni},hago-insert-simq,'
        f'hago-calibrate{{data="{FASHION / "calib.npz"}"}},hago-realize,hago-check-legal'
    )
    done = subprocess.run([sys.executable, "-m", "hago_ir.tools.hago_opt", str(FASHION / "model.onnx"), "-p", pipeline,
                           "-o", str(out / "realized.mlir")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out / "realized.mlir"


def test_hago_build_writes_a_library_and_refuses_an_unrealized_module(realized_file: Path, tmp_path: Path, capsys) -> None:
    library, assembly = tmp_path / "model.so", tmp_path / "model.s"
    assert hago_main(["build", str(realized_file), "--target", "x86-vnni", "-o", str(library), "--asm", str(assembly)]) == 0
    assert library.read_bytes()[:4] == b"\x7fELF"
    assert "vpdpbusd" in assembly.read_text()
    calibrated = tmp_path / "float.mlir"
    calibrated.write_text(subprocess.run(
        [sys.executable, "-m", "hago_ir.tools.hago_opt", str(FASHION / "model.onnx")], capture_output=True, text=True,
    ).stdout)
    assert hago_main(["build", str(calibrated), "-o", str(tmp_path / "x.so")]) == 1
    assert "not a realized module" in capsys.readouterr().err
    assert not (tmp_path / "x.so").exists()


def test_hago_build_for_arm_and_cuda_writes_their_assembly(tmp_path: Path, capsys) -> None:
    """arm-a72-i16 for aarch64: `smlal` in the assembly, written even where no cross gcc links the
    library; cuda-dp4a for cuda: `__dp4a` in the CUDA source (nvcc compiles it, no GPU needed)."""
    import shutil

    for spec, target, mnemonic in (("arm-a72-i16", "aarch64", "smlal"), ("cuda-dp4a", "cuda", "__dp4a(")):
        if target == "cuda" and shutil.which("nvcc") is None:
            continue  # said by test_dp4a_kernels' skips
        realized = tmp_path / f"{spec}.mlir"
        pipeline = (f'hago-canonicalize,hago-topology{{spec={spec}}},hago-insert-simq,'
                    f'hago-calibrate{{data="{FASHION / "calib.npz"}"}},hago-realize,hago-check-legal')
        done = subprocess.run([sys.executable, "-m", "hago_ir.tools.hago_opt", str(FASHION / "model.onnx"), "-p",
                               pipeline, "-o", str(realized)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        library, assembly = tmp_path / f"{target}.so", tmp_path / f"{target}.s"
        code = hago_main(["build", str(realized), "--target", target, "-o", str(library), "--asm", str(assembly)])
        assert mnemonic in assembly.read_text()
        if target == "aarch64" and shutil.which("aarch64-linux-gnu-gcc") is None:
            assert code == 1 and "needs aarch64-linux-gnu-gcc" in capsys.readouterr().err
            assert not library.exists()
        else:
            assert code == 0 and library.read_bytes()[:4] == b"\x7fELF"


def test_hago_opt_exports_onnx_only_to_a_file(realized_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.qdq.onnx"
    done = subprocess.run([sys.executable, "-m", "hago_ir.tools.hago_opt", str(realized_file), "-t", "onnx", "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    model = onnx.load(str(out))
    assert "QuantizeLinear" in {node.op_type for node in model.graph.node}
    done = subprocess.run([sys.executable, "-m", "hago_ir.tools.hago_opt", str(realized_file), "-t", "onnx"],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "give the file with -o" in done.stderr
    assert "Traceback" not in done.stderr
