"""The one definition of quantization arithmetic, shared by every stage.

Simulation (the interpreter's qsim.simulated_quantize), calibration, search and,
later, realization and code generation all call these functions, so that the
simulated model and the integer model cannot disagree by construction.

Conventions (DESIGN.md point 5):
- symmetric scales: `scale = threshold / 2^(bits - signed)`;
- `q = clip(round(x / scale), qmin, qmax)`, rounding half to even (numpy's
  `rint`, ONNX QuantizeLinear); the full two's complement range
  `[-2^(bits-1), 2^(bits-1) - 1]` when signed, `[0, 2^bits - 1]` when not;
- accumulators hold exact integer sums; when a sum does not fit the
  accumulator's width it wraps (two's complement, what `vmlal.s8` does) or
  saturates. Wrapping is exact whatever the order of the additions (addition
  modulo 2^w is associative); saturation is applied to the final sum, which is
  exact for a single saturating add and an approximation when the hardware
  saturates partial sums (x86-avx2's `vpmaddubsw` pairs).
"""

from __future__ import annotations

import math

import numpy as np


def integer_range(bits: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def scale_of(threshold: np.ndarray | float, bits: int, signed: bool) -> np.ndarray:
    magnitude_bits = bits - 1 if signed else bits
    return np.asarray(threshold, dtype=np.float64) / float(2**magnitude_bits)


def broadcast_along(values: np.ndarray, axis: int | None, rank: int) -> np.ndarray:
    """Per-channel values shaped to broadcast along `axis` of a rank-`rank` tensor."""
    values = np.asarray(values, dtype=np.float64)
    if axis is None:
        return values.reshape(()) if values.size == 1 else values
    shape = [1] * rank
    shape[axis] = -1
    return values.reshape(shape)


TIE_TOLERANCE = 1e-9


def round_half_even(values: np.ndarray) -> np.ndarray:
    """numpy's rint, except that values within float noise of a half-integer are ties.

    x / scale lands on an exact half (say 3.5) whenever the ratio of two scales
    is a power of two and the integer is odd - a common case, since re-quantizing
    an edge to one bit fewer halves its scale. Computed in float64 it comes out
    as 3.4999999999999996 or 3.5000000000000004 and rint would round it either
    way; the integer model (exact) rounds it to even. Snapping values within
    1e-9 (relative) of a half makes the two agree.
    """
    rounded = np.rint(values)
    distance = np.abs(values - rounded)
    if not np.any(distance > 0.5 - TIE_TOLERANCE * (1.0 + np.abs(rounded).max(initial=0.0))):
        return rounded
    floor = np.floor(values)
    tie = np.abs(values - (floor + 0.5)) <= TIE_TOLERANCE * (1.0 + np.abs(floor))
    return np.where(tie, np.rint(floor + 0.5), rounded)


def quantize(x: np.ndarray, scale: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Integers (as float64) of x on the grid `scale`, clipped to the range."""
    low, high = integer_range(bits, signed)
    return np.clip(round_half_even(x / scale), low, high)


def fake_quantize(x: np.ndarray, scale: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    return quantize(x, scale, bits, signed) * scale


def wrap(integers: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement wrap-around of integer values to a signed `bits`-bit register.

    Values already in range are returned untouched, so that wide accumulators
    (where `x + 2^(bits-1)` would not be exact in float64) cost no precision.
    """
    low, high = integer_range(bits, True)
    if integers.size == 0 or (integers.min() >= low and integers.max() <= high):
        return integers  # the common case, checked cheaply
    wrapped = np.mod(integers - low, 2.0**bits) + low
    return np.where((integers >= low) & (integers <= high), integers, wrapped)


def saturate(integers: np.ndarray, bits: int) -> np.ndarray:
    low, high = integer_range(bits, True)
    return np.clip(integers, low, high)


def simulate_accumulator(x: np.ndarray, accumulator_scale: np.ndarray, bits: int, overflow: str) -> np.ndarray:
    """x holds integer sums times `accumulator_scale`; return them as the accumulator keeps them."""
    sums = np.rint(x / accumulator_scale)
    kept = wrap(sums, bits) if overflow == "wrap" else saturate(sums, bits)
    return kept * accumulator_scale


# --------------------------------------------------------------------------
# Integer arithmetic of the realized model (the qnn dialect). The simulation
# above computes `round(q * s_in / s_out)` in float64; the integer model
# computes `round(q * m / 2^shift)` with m / 2^shift the nearest 31-bit
# fixed-point value of s_in / s_out. The two agree except where q * s_in / s_out
# lies within |q| * 2^-31 (relative) of a half-integer.
# --------------------------------------------------------------------------

MULTIPLIER_BITS = 31


def fixed_point_multiplier(ratio: float, max_shift: int = 62) -> tuple[int, int]:
    """(m, shift) with m / 2^shift ~= ratio, m < 2^31; a pure shift (m = 1) for powers of two.

    Raises ValueError when the ratio is too large to shift right (>= 2^31) or not positive.
    """
    if not (ratio > 0 and math.isfinite(ratio)):
        raise ValueError(f"scale ratio {ratio} must be finite and positive")
    fraction, exponent = math.frexp(ratio)  # ratio = fraction * 2^exponent, fraction in [0.5, 1)
    multiplier = int(round(fraction * 2**MULTIPLIER_BITS))
    shift = MULTIPLIER_BITS - exponent
    if multiplier == 2**MULTIPLIER_BITS:
        multiplier //= 2
        shift -= 1
    while shift > max_shift:  # tiny ratios: drop precision rather than shift past int64
        multiplier = (multiplier + 1) // 2
        shift -= 1
    if shift < 0:
        raise ValueError(f"scale ratio {ratio} is too large for a right-shift requantize")
    while multiplier % 2 == 0 and shift > 0:  # the simplest equal form: 2^-k becomes (1, k)
        multiplier //= 2
        shift -= 1
    return multiplier, shift


def rounding_right_shift(values: np.ndarray, shift: np.ndarray | int) -> np.ndarray:
    """round(values / 2^shift), half to even, in int64 arithmetic (what the backends emit).

    (x + 2^(s-1) - 1 + ((x >> s) & 1)) >> s: the odd bit of the truncated
    quotient breaks ties towards even.
    """
    values = np.asarray(values, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    half_minus_one = np.where(shift > 0, (np.int64(1) << np.maximum(shift - 1, 0)) - 1, 0)
    odd = (values >> shift) & 1
    rounded = (values + half_minus_one + odd) >> shift
    return np.where(shift > 0, rounded, values)


def requantize_integers(
    values: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int, qmin: int, qmax: int,
) -> np.ndarray:
    """clip(round(values * multiplier / 2^shift), qmin, qmax) in exact int64 arithmetic."""
    products = np.asarray(values, dtype=np.int64) * np.asarray(multiplier, dtype=np.int64)
    return np.clip(rounding_right_shift(products, shift), qmin, qmax)


def float32_multiplier(ratio: float) -> float:
    """The float32 nearest `ratio`, for float32 requantization (as a Python float).

    Raises ValueError when the ratio is not positive and finite, or has no
    positive finite float32 (it under- or overflows).
    """
    value = float(np.float32(ratio)) if ratio > 0 and math.isfinite(ratio) else 0.0
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"scale ratio {ratio} has no positive finite float32 value")
    return value


# The clip bounds of a float32 requantize must be exact float32 values, so
# that clip(round(x)) equals round(clip(x)) and the final conversion cannot
# overflow: outputs of at most 16 bits (|q| < 2^24 would be enough).
FLOAT32_REQUANTIZE_MAX_BITS = 16


def requantize_float32(
    values: np.ndarray, float_multiplier: np.ndarray | float, qmin: int, qmax: int,
) -> np.ndarray:
    """clip(round(f32(values) * float_multiplier), qmin, qmax) in IEEE float32.

    Every step rounds to nearest even, as the x86 instructions do: the
    int32 -> float32 conversion (exact below 2^24), the product, and the final
    rounding to an integer. Returns int64.
    """
    products = np.asarray(values).astype(np.float32) * np.asarray(float_multiplier, dtype=np.float32)
    return np.clip(np.rint(products), qmin, qmax).astype(np.int64)


def quantize_float32(x: np.ndarray, float_scale: np.ndarray | float, qmin: int, qmax: int) -> np.ndarray:
    """clip(round(f32(x) / float_scale), qmin, qmax): one IEEE float32 division, rounded half to even. Returns int64."""
    quotients = np.asarray(x).astype(np.float32) / np.asarray(float_scale, dtype=np.float32)
    return np.clip(np.rint(quotients), qmin, qmax).astype(np.int64)


def wrap_integers(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement wrap of int64 values to a signed `bits`-bit register."""
    values = np.asarray(values, dtype=np.int64)
    if bits >= 64:
        return values
    modulus = np.int64(1) << bits
    low = -(np.int64(1) << (bits - 1))
    return ((values - low) & (modulus - 1)) + low


def hold_in_accumulator(values: np.ndarray, bits: int, overflow: str) -> np.ndarray:
    """Exact int64 sums as a `bits`-bit accumulator keeps them (wrap or saturate)."""
    if overflow == "wrap":
        return wrap_integers(values, bits)
    low, high = integer_range(bits, True)
    return np.clip(np.asarray(values, dtype=np.int64), low, high)
