"""Streaming statistics of tensor edges and threshold estimation: the numbers behind hago-calibrate.

`hago-calibrate` runs the float model over the calibration set batch by batch and
feeds the values reaching each quantized edge to one `EdgeStatistics`; when the
data is exhausted, `threshold()` turns each edge's statistics into a threshold T,
from which the quantizer follows (DESIGN.md point 5):

    scale = T / 2^(bits - signed),   q = clip(round(x / scale), qmin, qmax)

with [qmin, qmax] = [-2^(bits-1), 2^(bits-1) - 1] when signed, [0, 2^bits - 1]
when not. Pure numpy: nothing here knows about the IR.

Definitions (every method returns T > 0, finite, and T <= max |x|):
- Thresholds are symmetric: the quantized range is [-T, T] (signed) or [0, T]
  (unsigned), so every statistic is about |x|. An unsigned edge is provably
  non-negative (the topology only makes an edge unsigned then), so there |x| = x
  and the same statistics serve both; `threshold` raises ValueError if an edge
  asked for unsigned has seen a negative value.
- "max": max |x| over every value seen.
- "avg_range": the mean, over `update()` calls (batches), of each batch's max |x|.
  The batching is the caller's: one call per calibration batch.
- "percentile": the value below which `percentile`% of the |x| lie, read from the
  histogram with linear interpolation inside the bin where the cumulative count
  crosses the target (values assumed uniform within a bin).
- "kl": entropy calibration as in TensorRT's 8-bit inference talk (and NVIDIA's
  pytorch-quantization, whose level boundaries are fractional too). For each cut i
  (number of histogram bins kept, i >= L with L = 2^(bits - signed) levels):
  P = the first i bins, with the mass of the clipped bins (the outliers) added to
  bin i - 1; Q = the first i bins (without the outliers) merged into L levels
  (bin k goes to level floor(k * L / i)) and spread back evenly over the bins
  where P is non-zero. T = upper edge of bin i - 1 for the i of least KL(P || Q).
  No smoothing: a cut where Q is zero under mass of P (outliers added to a bin
  whose whole level is empty, typical in a sparse tail) has infinite divergence
  and is never chosen; the cut that keeps every bin is always finite. When L
  exceeds the bins that hold data the quantizer is finer than the histogram can
  judge, and T = max |x|. Exact zeros (ReLU outputs, padding) are a category of
  their own, the same in P and Q, since every quantizer represents 0 exactly:
  left in bin 0, a ReLU's spike of zeros spread over a level would dominate the
  divergence and pull T far down (to 1.8 sigma on a ReLU of a Gaussian, 8 bits).
  Like every KL calibration the result depends on the histogram's resolution:
  cuts start at L bins, so outliers that stretch the range far beyond the bulk
  of the data push T up.
- "mse": the T of least expected squared error (rounding plus clipping) of the
  quantizer on the histogram's distribution, the values being uniform within each
  bin, except exact zeros (ReLU outputs, padding), counted apart as a point mass at
  0 that every grid represents exactly; the error is integrated exactly for that
  density. The
  magnitudes are clipped at qmax * scale = T - scale: exact for unsigned edges, and
  for signed ones the positive side (the negative side reaches -T, one step more).
  Candidates: every bin's upper edge below max |x|, and max |x| itself (edges
  whose clipping error alone exceeds the whole error at max |x| are skipped: they
  cannot win).
- Rounding: half to even (numpy's rint), as in hago_ir.numerics.
- Degenerate data: an edge whose values are all zero gets DEGENERATE_THRESHOLD
  (any threshold quantizes zeros exactly; this one is tiny, positive and finite).
  An edge that has seen no value at all is a pipeline bug: ValueError.

The histogram counts |x| in `num_bins` equal bins over [0, R]. The first non-zero
batch sets R to its max |x|. When a larger |x| arrives, R grows by the smallest
integer factor k with k * R >= the new max, and every k consecutive old bins merge
into one new bin: old bin edges fall exactly on new ones, so no count is smeared
across a bin boundary and the histogram is the one that a single pass over all
the data with the final range would count. Memory is fixed at num_bins counts; the
data always fills more than half of [0, R] (the new max exceeds (k - 1) * R_old),
so at least num_bins / 2 bins resolve it.
"""

from __future__ import annotations

import math

import numpy as np

METHODS = ("max", "avg_range", "percentile", "kl", "mse")

# Threshold of an edge whose values are all zero: positive and finite, so that the
# scale is usable; any threshold represents zero exactly.
DEGENERATE_THRESHOLD = 1e-8

# Widest quantizer a threshold is asked for (int32 accumulators and the like).
_MAX_BITS = 32

# Candidate thresholds evaluated together by the "mse" search; bounds the memory
# of its (candidates x bin edges) error table to a few MiB.
_MSE_CANDIDATE_CHUNK = 256


class EdgeStatistics:
    """Streaming statistics of one tensor edge: memory does not grow with the number of batches."""

    def __init__(self, num_bins: int = 2048) -> None:
        if num_bins < 2:
            raise ValueError(f"num_bins must be at least 2, got {num_bins}")
        self.num_bins = num_bins
        self._counts = np.zeros(num_bins, dtype=np.int64)
        self._histogram_range = 0.0  # R: the histogram covers |x| in [0, R]
        self._count = 0
        self._zeros = 0  # exact zeros, also counted in bin 0
        self._batches = 0
        self._min = math.inf
        self._max = -math.inf
        self._max_abs = 0.0
        self._sum_batch_max_abs = 0.0

    def update(self, values: np.ndarray) -> None:
        """Add one batch (any shape) of float values; an empty batch is ignored."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if values.size == 0:
            return
        if not np.all(np.isfinite(values)):
            raise ValueError("calibration values must be finite (got NaN or infinity)")
        magnitudes = np.abs(values)
        batch_max_abs = float(magnitudes.max())
        if batch_max_abs > self._histogram_range:
            self._grow_histogram(batch_max_abs)
        self._add_to_histogram(magnitudes)

        self._count += values.size
        self._zeros += int(np.count_nonzero(magnitudes == 0.0))
        self._batches += 1
        self._min = min(self._min, float(values.min()))
        self._max = max(self._max, float(values.max()))
        self._max_abs = max(self._max_abs, batch_max_abs)
        self._sum_batch_max_abs += batch_max_abs

    def _grow_histogram(self, new_max_abs: float) -> None:
        """Widen [0, R] to cover `new_max_abs` by an integer factor, merging old bins."""
        if self._histogram_range == 0.0:
            # Only zeros so far: they sit in bin 0 whatever the range.
            self._histogram_range = new_max_abs
            return
        factor = math.ceil(new_max_abs / self._histogram_range)
        while factor * self._histogram_range < new_max_abs:  # float division rounded down
            factor += 1
        merged = np.zeros_like(self._counts)
        if factor >= self.num_bins:
            merged[0] = self._counts.sum()  # the whole old range fits in the new bin 0
        else:
            groups = -(-self.num_bins // factor)
            padded = np.zeros(groups * factor, dtype=np.int64)
            padded[: self.num_bins] = self._counts
            merged[:groups] = padded.reshape(groups, factor).sum(axis=1)
        self._counts = merged
        self._histogram_range *= factor

    def _add_to_histogram(self, magnitudes: np.ndarray) -> None:
        if self._histogram_range == 0.0:
            self._counts[0] += magnitudes.size  # all zeros
            return
        bins = (magnitudes * (self.num_bins / self._histogram_range)).astype(np.int64)
        np.minimum(bins, self.num_bins - 1, out=bins)  # |x| == R lands in the last bin
        self._counts += np.bincount(bins, minlength=self.num_bins)

    @property
    def count(self) -> int:
        """Number of values seen."""
        return self._count

    @property
    def zeros(self) -> int:
        """Number of values exactly 0 (they are also in histogram bin 0)."""
        return self._zeros

    @property
    def batches(self) -> int:
        """Number of non-empty `update()` calls."""
        return self._batches

    @property
    def min(self) -> float:
        return self._min

    @property
    def max(self) -> float:
        return self._max

    @property
    def max_abs(self) -> float:
        return self._max_abs

    @property
    def mean_batch_max_abs(self) -> float:
        """Mean over `update()` calls of each call's max |x| (0 before any data)."""
        return self._sum_batch_max_abs / self._batches if self._batches else 0.0

    @property
    def histogram(self) -> np.ndarray:
        """Counts of |x| per bin (a copy), bin k covering [k, k + 1) * bin_width."""
        return self._counts.copy()

    @property
    def histogram_range(self) -> float:
        """R: the histogram covers |x| in [0, R]."""
        return self._histogram_range

    @property
    def bin_width(self) -> float:
        return self._histogram_range / self.num_bins


def threshold(
    stats: EdgeStatistics, method: str, *, bits: int, signed: bool, percentile: float = 99.999
) -> float:
    """A positive finite threshold T: the quantized range is [-T, T] (signed) or [0, T] (unsigned).

    `percentile` is used by method "percentile" only (in (0, 100]). Raises
    ValueError for an unknown method, impossible bits, a percentile out of range, no
    data, or negative values on an unsigned edge.
    """
    if method not in METHODS:
        choices = ", ".join(METHODS)
        raise ValueError(f"unknown calibration method '{method}' (choose from {choices})")
    magnitude_bits = _magnitude_bits(bits, signed)
    if stats.count == 0:
        raise ValueError("no calibration values were seen on this edge")
    if not signed and stats.min < 0:
        raise ValueError(
            f"an unsigned edge saw the negative value {stats.min}: its range cannot be [0, T]"
        )
    if stats.max_abs == 0.0:
        return DEGENERATE_THRESHOLD

    if method == "max":
        value = stats.max_abs
    elif method == "avg_range":
        value = stats.mean_batch_max_abs
    elif method == "percentile":
        value = _percentile_threshold(stats, percentile)
    elif method == "kl":
        value = _kl_threshold(stats, 2**magnitude_bits)
    else:
        value = _mse_threshold(stats, magnitude_bits)
    # Histogram methods may land on an edge above the data or, for a spike at zero,
    # on zero itself: keep T in (0, max |x|].
    value = min(float(value), stats.max_abs)
    return value if value > 0 else min(stats.bin_width, stats.max_abs)


def _magnitude_bits(bits: int, signed: bool) -> int:
    """Bits that count magnitude: the quantizer has 2^magnitude_bits steps over [0, T]."""
    magnitude_bits = bits - 1 if signed else bits
    if magnitude_bits < 1 or bits > _MAX_BITS:
        raise ValueError(
            f"{bits} {'signed' if signed else 'unsigned'} bits: need 1 to {_MAX_BITS} "
            f"magnitude bits"
        )
    return magnitude_bits


def _cumulative(values: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading 0: sum of values[a:b] is result[b] - result[a]."""
    return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))


def _used_bins(counts: np.ndarray) -> int:
    """Number of bins up to and including the last non-empty one."""
    return int(np.flatnonzero(counts)[-1]) + 1


def _percentile_threshold(stats: EdgeStatistics, percentile: float) -> float:
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile {percentile} must be in (0, 100]")
    counts = stats.histogram.astype(np.float64)
    cumulative = _cumulative(counts)
    target = percentile / 100.0 * cumulative[-1]
    # First bin whose upper edge has reached the target; its count is then non-zero.
    crossing = int(np.searchsorted(cumulative[1:], target))
    crossing = min(crossing, stats.num_bins - 1)  # guards float round-off at 100%
    if counts[crossing] == 0:  # only after that round-off: the target is the top edge
        return (crossing + 1) * stats.bin_width
    fraction = (target - cumulative[crossing]) / counts[crossing]
    return (crossing + min(max(fraction, 0.0), 1.0)) * stats.bin_width


def _xlogx(values: np.ndarray) -> np.ndarray:
    """values * log(values), with 0 log 0 = 0."""
    safe = np.where(values > 0, values, 1.0)
    return values * np.log(safe)


def kl_divergences(
    counts: np.ndarray, levels: int, zeros: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """KL(P || Q) of every cut i in [levels, len(counts)] (module docstring: "kl").

    `zeros` of the values in bin 0 are exactly 0: a category of their own, equal in
    P and Q. Returns (cuts, divergences); vectorized over cuts and levels with
    prefix sums, so that 2048 bins take milliseconds. A group's mass M over its Z
    bins where P is non-zero gives q = M / Z there, hence the sum of p log q is
    sum(M log(M / Z)) plus the outliers, which all sit in the last group.
    """
    counts = np.array(counts, dtype=np.float64)
    counts[0] -= zeros
    num_bins = counts.size
    cuts = np.arange(levels, num_bins + 1)
    cumulative = _cumulative(counts)
    cumulative_nonzero = _cumulative(counts > 0)
    cumulative_xlogx = _cumulative(_xlogx(counts))
    # The zeros add nothing to the sums of p log(p / q), only to both totals.
    total = cumulative[-1] + zeros
    kept = cumulative[cuts] + zeros

    outliers = total - kept
    last_bin = counts[cuts - 1]
    last_p = last_bin + outliers
    sum_p_log_p = cumulative_xlogx[cuts - 1] + _xlogx(last_p)

    # Level j of cut i holds bins [ceil(j * i / L), ceil((j + 1) * i / L)).
    level_edges = (cuts[:, None] * np.arange(levels + 1)[None, :] + levels - 1) // levels
    group_mass = np.diff(cumulative[level_edges], axis=1)
    group_nonzero = np.diff(cumulative_nonzero[level_edges], axis=1)
    # P is non-zero in bin i - 1 whenever outliers were added there.
    group_nonzero[:, -1] += (last_bin == 0) & (outliers > 0)

    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.where(group_mass > 0, np.log(group_mass / np.maximum(group_nonzero, 1)), 0.0)
        sum_p_log_q = (group_mass[:, :-1] * log_q[:, :-1]).sum(axis=1)
        last_mass = group_mass[:, -1]
        sum_p_log_q += (last_mass + outliers) * log_q[:, -1]
        divergences = (sum_p_log_p - sum_p_log_q) / total + np.log(kept / total)
    # Outliers under a level of Q that holds nothing: P is not representable.
    divergences[(last_mass == 0) & (outliers > 0)] = np.inf
    return cuts, divergences


def _kl_threshold(stats: EdgeStatistics, levels: int) -> float:
    counts = stats.histogram
    used = _used_bins(counts)
    if levels > used:
        return stats.max_abs
    cuts, divergences = kl_divergences(counts[:used], levels, stats.zeros)
    best = int(np.argmin(divergences))  # the smallest cut among ties
    return float(cuts[best]) * stats.bin_width


def _cube(values: np.ndarray) -> np.ndarray:
    # Two multiplies: np.power(values, 3) is several times slower on large tables.
    return values * values * values


def _squared_error_integral(
    upper: np.ndarray, scale: np.ndarray, top_level: float
) -> np.ndarray:
    """Integral from 0 to `upper` of (x - clip(rint(x / scale), 0, top_level) * scale)^2 dx.

    Rounding alone: with upper = n * scale + r, n = rint(upper / scale), each whole
    step contributes scale^3 / 12 and the partial one r^3 / 3. Beyond the clipping
    point (top_level + 1/2) * scale, the error is x - top_level * scale, which adds
    ((x - top_level * scale)^3 - (scale / 2)^3) / 3 (zero below that point).
    """
    clip_start = (top_level + 0.5) * scale
    rounded_part = np.minimum(upper, clip_start)
    steps = np.rint(rounded_part / scale)
    remainder = rounded_part - steps * scale
    beyond = np.maximum(upper, clip_start) - top_level * scale
    return steps * (_cube(scale) / 12.0) + (
        _cube(remainder) + _cube(beyond) - _cube(0.5 * scale)
    ) / 3.0


def expected_squared_error(
    stats: EdgeStatistics, thresholds: np.ndarray, *, bits: int, signed: bool
) -> np.ndarray:
    """Mean squared quantization error of the histogram's distribution, per threshold.

    The model of the "mse" method (module docstring): values uniform within each
    bin, magnitudes rounded to the grid scale = T / 2^(bits - signed) and clipped
    at the top integer 2^(bits - signed) - 1.
    """
    magnitude_bits = _magnitude_bits(bits, signed)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if stats.count == 0 or stats.max_abs == 0.0:
        return np.zeros(thresholds.shape)
    errors = _errors_in_bin_units(stats, thresholds.reshape(-1), magnitude_bits)
    return errors.reshape(thresholds.shape) * stats.bin_width**2


def _errors_in_bin_units(
    stats: EdgeStatistics, thresholds: np.ndarray, magnitude_bits: int
) -> np.ndarray:
    """Mean squared error per threshold, in units of bin_width^2.

    With the bin width as the unit of length the cubes in the integral stay in
    range whatever the scale of the data (1e-30 or 1e30).
    """
    counts = stats.histogram.astype(np.float64)
    used = _used_bins(counts)
    counts[0] -= stats.zeros  # exact zeros quantize without error
    edges = np.arange(used + 1, dtype=np.float64)
    probability = counts[:used] / stats.count  # also the density: bins are 1 wide
    steps = 2.0**magnitude_bits
    errors = np.empty(thresholds.size)
    for start in range(0, thresholds.size, _MSE_CANDIDATE_CHUNK):
        chunk = thresholds[start : start + _MSE_CANDIDATE_CHUNK, None]
        scales = chunk / stats.bin_width / steps
        integrals = _squared_error_integral(edges[None, :], scales, steps - 1.0)
        errors[start : start + chunk.shape[0]] = np.diff(integrals, axis=1) @ probability
    return errors


def _suffix_sum(values: np.ndarray) -> np.ndarray:
    """result[j] = sum of values[j:]."""
    return np.cumsum(values[::-1])[::-1]


def _clipping_error_lower_bounds(counts: np.ndarray) -> np.ndarray:
    """Per bin edge j (j = 1 .. len(counts)): a lower bound on the error of T at that edge.

    In units of bin_width^2. A value x in bin k >= j is clipped to at most T and
    so is off by at least k - j bins. The sums of counts[k] * (k - j)^2 over k >= j
    follow from suffix sums of non-negative terms only, so that no cancellation
    can make the bound exceed the true error.
    """
    tail_count = _suffix_sum(counts.astype(np.float64))  # sum of c[k], k >= j
    # sum of c[k] * (k - j), k >= j, is the sum of tail_count[k] over k > j
    tail_first = np.append(_suffix_sum(tail_count)[1:], 0.0)
    # sum of c[k] * (k - j)^2, k >= j, is the sum of 2 * tail_first[k] + tail_count[k], k > j
    tail_second = np.append(_suffix_sum(2.0 * tail_first + tail_count)[1:], 0.0)
    bounds = tail_second / tail_count[0]
    return np.append(bounds[1:], 0.0)  # edge j closes bin j - 1


def _mse_threshold(stats: EdgeStatistics, magnitude_bits: int) -> float:
    counts = stats.histogram[: _used_bins(stats.histogram)]
    edges = np.arange(1, counts.size + 1) * stats.bin_width
    error_at_max = _errors_in_bin_units(stats, np.array([stats.max_abs]), magnitude_bits)[0]
    # Skip the edges whose clipping alone costs more than T = max |x| does in all:
    # with many magnitude bits that is most of them, and the search is 2-3x faster.
    lower_bounds = _clipping_error_lower_bounds(counts)
    worth_trying = (edges < stats.max_abs) & (lower_bounds <= error_at_max * (1 + 1e-9))
    candidates = edges[worth_trying]
    errors = _errors_in_bin_units(stats, candidates, magnitude_bits)
    if candidates.size == 0 or errors.min() >= error_at_max:
        return stats.max_abs
    return float(candidates[int(np.argmin(errors))])


def round_to_power_of_two(threshold: float) -> float:
    """The smallest power of two >= threshold (so that requantization becomes a shift)."""
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"a threshold must be positive and finite, got {threshold}")
    # threshold = mantissa * 2^exponent with mantissa in [0.5, 1): exact, no log2 rounding.
    mantissa, exponent = math.frexp(threshold)
    return threshold if mantissa == 0.5 else math.ldexp(1.0, exponent)


def weight_thresholds(
    weight: np.ndarray, axis: int | None, method: str = "max", percentile: float = 99.999
) -> np.ndarray:
    """Thresholds of a constant weight: per channel along `axis`, or per tensor (axis None, shape [1]).

    "max": max |w| of each channel; "percentile": the exact `percentile` of each
    channel's |w| (numpy's linear interpolation; weights are few, no histogram is
    needed). A channel that is all zero gets DEGENERATE_THRESHOLD.
    """
    if method not in ("max", "percentile"):
        raise ValueError(f"weight thresholds support 'max' and 'percentile', not '{method}'")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile {percentile} must be in (0, 100]")
    magnitudes = np.abs(np.asarray(weight, dtype=np.float64))
    if magnitudes.size == 0:
        raise ValueError("cannot calibrate an empty weight")
    if not np.all(np.isfinite(magnitudes)):
        raise ValueError("weight values must be finite (got NaN or infinity)")
    if axis is None:
        per_channel = magnitudes.reshape(1, -1)
    else:
        per_channel = np.moveaxis(magnitudes, axis, 0).reshape(magnitudes.shape[axis], -1)
    if method == "max":
        values = per_channel.max(axis=1)
    else:
        values = np.percentile(per_channel, percentile, axis=1)
    return np.where(values > 0, values, DEGENERATE_THRESHOLD)
