"""Numpy definitions of the qsim ops: the one place their arithmetic is written.

The reference interpreter (hago_ir.interpreter) calls these for every op, and
constant folding (hago-canonicalize) calls them to evaluate ops on constants, so
the folded and the interpreted model cannot disagree. Arrays are float64: the
oracle must be more precise than any runtime it checks (onnxruntime computes in
float32), and later the integer-valued sums of simulated quantization stay exact
up to 2^53.

Each kernel follows the ONNX operator of the same name; the docstring says where
it deviates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hago_ir.numerics import broadcast_along, fake_quantize, scale_of


def conv2d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
    strides: Sequence[int], pads: Sequence[int], dilations: Sequence[int], groups: int,
) -> np.ndarray:
    """ONNX Conv on NCHW input, OIHW weight; pads are [top, left, bottom, right]."""
    batch, channels, _, _ = x.shape
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    stride_h, stride_w = strides
    dil_h, dil_w = dilations
    out_h = (padded.shape[2] - dil_h * (kernel_h - 1) - 1) // stride_h + 1
    out_w = (padded.shape[3] - dil_w * (kernel_w - 1) - 1) // stride_w + 1

    def tap(kh: int, kw: int) -> np.ndarray:
        """The input pixels that kernel tap (kh, kw) sees, for every output pixel."""
        top, left = kh * dil_h, kw * dil_w
        return padded[
            :, :,
            top : top + stride_h * (out_h - 1) + 1 : stride_h,
            left : left + stride_w * (out_w - 1) + 1 : stride_w,
        ]

    out = np.zeros((batch, out_channels, out_h, out_w), dtype=np.float64)
    if groups == channels and group_channels == 1:
        # Depthwise (with channel multiplier m): output channel o reads input o // m.
        multiplier = out_channels // channels
        for kh in range(kernel_h):
            for kw in range(kernel_w):
                window = np.repeat(tap(kh, kw), multiplier, axis=1)
                out += window * weight[:, 0, kh, kw][None, :, None, None]
    else:
        # im2col per group: columns [batch, out_h, out_w, group_channels * kh * kw].
        columns = np.stack(
            [tap(kh, kw) for kh in range(kernel_h) for kw in range(kernel_w)], axis=-1
        )  # [N, C, OH, OW, KH*KW]
        out_per_group = out_channels // groups
        for group in range(groups):
            cols = columns[:, group * group_channels : (group + 1) * group_channels]
            cols = cols.transpose(0, 2, 3, 1, 4).reshape(batch, out_h, out_w, -1)
            w = weight[group * out_per_group : (group + 1) * out_per_group]
            result = cols @ w.reshape(out_per_group, -1).T  # [N, OH, OW, O/g]
            out[:, group * out_per_group : (group + 1) * out_per_group] = result.transpose(0, 3, 1, 2)
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """x @ weight^T + bias, weight [out, in]."""
    out = x @ weight.T
    return out + bias if bias is not None else out


def matmul(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.matmul(lhs, rhs)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def clip(x: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip(x, low, high)


def sigmoid(x: np.ndarray) -> np.ndarray:
    # Split by sign so that exp never overflows.
    positive = x >= 0
    out = np.empty_like(x)
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])
    out[~positive] = exp_x / (1.0 + exp_x)
    return out


def erf(x: np.ndarray) -> np.ndarray:
    return _erf_vectorized(x)


_erf_vectorized = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def power(x: np.ndarray, exponent: float) -> np.ndarray:
    if exponent == 2.0:  # torch's LayerNorm: exact and fast
        return x * x
    return np.power(x, exponent)


def _pool_taps(
    x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int],
    dilations: Sequence[int], ceil_mode: bool, pad_value: float, overhang_value: float,
) -> list[np.ndarray]:
    """Every kernel tap's view over the padded input, one array per tap.

    Explicit pads hold `pad_value`; with ceil_mode the last window may hang past
    the padded input, and that overhang holds `overhang_value`.
    """
    from hago_ir.dialects.qsim import window_output_size

    height, width = x.shape[2:]
    out_h = window_output_size(height, kernel[0], strides[0], pads[0], pads[2], dilations[0], ceil_mode)
    out_w = window_output_size(width, kernel[1], strides[1], pads[1], pads[3], dilations[1], ceil_mode)
    need_h = (out_h - 1) * strides[0] + dilations[0] * (kernel[0] - 1) + 1
    need_w = (out_w - 1) * strides[1] + dilations[1] * (kernel[1] - 1) + 1
    extra_h = max(0, need_h - (height + pads[0] + pads[2]))
    extra_w = max(0, need_w - (width + pads[1] + pads[3]))
    padded = np.pad(
        x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=pad_value
    )
    padded = np.pad(
        padded, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)), constant_values=overhang_value
    )
    taps = []
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            top, left = kh * dilations[0], kw * dilations[1]
            taps.append(
                padded[
                    :, :,
                    top : top + strides[0] * (out_h - 1) + 1 : strides[0],
                    left : left + strides[1] * (out_w - 1) + 1 : strides[1],
                ]
            )
    return taps


def max_pool2d(
    x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int],
    dilations: Sequence[int], ceil_mode: bool,
) -> np.ndarray:
    """ONNX MaxPool: padding never wins the max."""
    taps = _pool_taps(x, kernel, strides, pads, dilations, ceil_mode, -np.inf, -np.inf)
    return np.maximum.reduce(taps)


def avg_pool2d(
    x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int],
    ceil_mode: bool, count_include_pad: bool,
) -> np.ndarray:
    """ONNX AveragePool: the divisor counts explicit pads iff count_include_pad;
    the part of a ceil_mode window past the padded input never counts."""
    no_dilation = (1, 1)
    total = np.add.reduce(_pool_taps(x, kernel, strides, pads, no_dilation, ceil_mode, 0.0, 0.0))
    # Count the cells that contribute by pooling an indicator of them.
    indicator = np.ones((1, 1, *x.shape[2:]))
    counted_pad = 1.0 if count_include_pad else 0.0
    divisor = np.add.reduce(
        _pool_taps(indicator, kernel, strides, pads, no_dilation, ceil_mode, counted_pad, 0.0)
    )
    return total / divisor


def global_avg_pool2d(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=(2, 3), keepdims=True)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    exp_x = np.exp(shifted)
    return exp_x / exp_x.sum(axis=axis, keepdims=True)


def reduce_mean(x: np.ndarray, axes: Sequence[int], keepdims: bool) -> np.ndarray:
    return x.mean(axis=tuple(axes), keepdims=keepdims)


def batch_norm(
    x: np.ndarray, scale: np.ndarray, bias: np.ndarray, mean: np.ndarray,
    var: np.ndarray, epsilon: float,
) -> np.ndarray:
    """Inference-mode batch normalization over axis 1."""
    channel_shape = (1, -1) + (1,) * (x.ndim - 2)
    multiplier = scale / np.sqrt(var + epsilon)
    return (x - mean.reshape(channel_shape)) * multiplier.reshape(channel_shape) + bias.reshape(
        channel_shape
    )


def layer_norm(
    x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None, axis: int, epsilon: float
) -> np.ndarray:
    axes = tuple(range(axis, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    out = (x - mean) / np.sqrt(var + epsilon) * scale
    return out + bias if bias is not None else out


def pad(x: np.ndarray, pads: Sequence[int], value: float) -> np.ndarray:
    rank = x.ndim
    widths = [(pads[i], pads[i + rank]) for i in range(rank)]
    return np.pad(x, widths, constant_values=value)


def simulated_quantize(
    x: np.ndarray, threshold: np.ndarray | None, effective_bits: int, signed: bool,
    axis: int | None,
) -> np.ndarray:
    """qsim.simulated_quantize without an accumulator: see hago_ir.numerics.

    Without a threshold (not calibrated yet) the op is the identity.
    """
    if threshold is None:
        return x
    scale = broadcast_along(scale_of(threshold, effective_bits, signed), axis, x.ndim)
    return fake_quantize(x, scale, effective_bits, signed)
