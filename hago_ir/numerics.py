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


def quantize(x: np.ndarray, scale: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Integers (as float64) of x on the grid `scale`, clipped to the range."""
    low, high = integer_range(bits, signed)
    return np.clip(np.rint(x / scale), low, high)


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
