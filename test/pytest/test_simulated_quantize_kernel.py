"""The numpy semantics of qsim.simulated_quantize (hago_ir.kernels.simulated_quantize)."""

from __future__ import annotations

import numpy as np

from hago_ir.kernels import simulated_quantize


def test_uncalibrated_is_identity() -> None:
    x = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(simulated_quantize(x, None, 8, True, None), x)


def test_signed_grid_rounding_half_to_even_and_saturation() -> None:
    # threshold 4 with 4 signed bits: scale = 4 / 2^3 = 0.5, integers in [-8, 7].
    x = np.array([0.24, 0.25, 0.75, 1.26, 3.4, 3.9, 100.0, -4.0, -100.0])
    expected = np.array([0.0, 0.0, 1.0, 1.5, 3.5, 3.5, 3.5, -4.0, -4.0])
    np.testing.assert_array_equal(simulated_quantize(x, np.array([4.0]), 4, True, None), expected)


def test_unsigned_range() -> None:
    # threshold 6 with 3 unsigned bits: scale = 6 / 8 = 0.75, integers in [0, 7].
    x = np.array([-1.0, 0.3, 0.4, 5.9, 9.0])
    expected = np.array([0.0, 0.0, 0.75, 5.25, 5.25])
    np.testing.assert_array_equal(simulated_quantize(x, np.array([6.0]), 3, False, None), expected)


def test_per_channel_thresholds_along_axis() -> None:
    x = np.array([[1.0, 1.0], [1.0, 1.0]])
    out = simulated_quantize(x, np.array([8.0, 1.0]), 4, True, axis=0)
    # row 0: scale 1 -> 1.0; row 1: scale 0.125, 1.0 saturates at 7 * 0.125.
    np.testing.assert_array_equal(out, [[1.0, 1.0], [0.875, 0.875]])


def test_wide_bits_are_within_half_a_step() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 1000)
    out = simulated_quantize(x, np.array([2.0]), 16, True, None)
    assert np.max(np.abs(out - x)) <= 0.5 * 2.0 / 2**15 + 1e-15
