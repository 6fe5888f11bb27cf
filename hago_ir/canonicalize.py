"""Graph clean-up before quantization: the patterns behind hago-canonicalize.

Runs right after import. Each pattern does one thing:
- `FoldBatchNormIntoConv`: conv2d followed by batch_norm becomes one conv2d with
  scaled weights and a shifted bias (so BN never gets quantized on its own);
- `BatchNormToAffine`: any other batch_norm becomes mul + add by constants;
- `FoldDenseBias`: dense followed by the addition of a per-feature constant
  becomes dense with that bias (torch exports Linear as MatMul + Add);
- `FuseErfGelu`: torch's exact GELU, x * 0.5 * (1 + erf(x / sqrt 2)), becomes
  qsim.gelu (one float op instead of five edges to quantize);
- `FoldConstantOps`: an op whose operands are all constants is evaluated with
  the reference kernels and replaced by a constant;
- `RemoveIdentities`: reshapes, transposes and pads that change nothing, clips
  with infinite bounds, x + 0, x - 0, x * 1 and x / 1.
Dead constants are removed afterwards.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.transforms.dead_code_elimination import region_dce

from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import ints


def constant_of(value: SSAValue | None) -> np.ndarray | None:
    """The value's array if a qsim.constant defines it."""
    if value is None:
        return None
    owner = value.owner
    if isinstance(owner, qsim.ConstantOp):
        return owner.to_array()
    return None


def constant_name(value: SSAValue) -> str | None:
    owner = value.owner
    if isinstance(owner, qsim.ConstantOp) and owner.sym_name is not None:
        return owner.sym_name.data
    return None


def _new_constant(rewriter: PatternRewriter, array: np.ndarray, name: str | None) -> SSAValue:
    op = qsim.ConstantOp.from_array(np.ascontiguousarray(array.astype(np.float32)), name)
    op.output.name_hint = qsim.ssa_name_hint(name)
    rewriter.insert(op)
    return op.output


def _single_use(value: SSAValue) -> bool:
    return value.has_one_use()


def _batch_norm_affine(op: qsim.BatchNormOp) -> tuple[np.ndarray, np.ndarray] | None:
    """(multiplier, shift) per channel such that bn(x) = x * multiplier + shift."""
    params = [constant_of(v) for v in (op.scale, op.bias, op.mean, op.var)]
    if any(p is None for p in params):
        return None
    scale, bias, mean, var = (p.astype(np.float64) for p in params)  # type: ignore[union-attr]
    multiplier = scale / np.sqrt(var + op.epsilon.value.data)
    return multiplier, bias - mean * multiplier


class FoldBatchNormIntoConv(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qsim.BatchNormOp, rewriter: PatternRewriter) -> None:
        conv = op.input.owner
        if not isinstance(conv, qsim.Conv2dOp) or not _single_use(conv.output):
            return
        weight = constant_of(conv.weight)
        affine = _batch_norm_affine(op)
        if weight is None or affine is None:
            return
        bias = constant_of(conv.bias) if conv.bias is not None else np.zeros(weight.shape[0])
        if bias is None:
            return
        multiplier, shift = affine
        weight_name = constant_name(conv.weight) or "conv.weight"
        bias_name = (constant_name(conv.bias) if conv.bias is not None else None) or (
            weight_name.removesuffix(".weight") + ".bias"
        )
        new_weight = _new_constant(
            rewriter, weight.astype(np.float64) * multiplier[:, None, None, None], weight_name
        )
        new_bias = _new_constant(rewriter, bias.astype(np.float64) * multiplier + shift, bias_name)
        folded = qsim.Conv2dOp(
            conv.input, new_weight, new_bias, ints(conv.strides), ints(conv.pads),
            ints(conv.dilations), conv.groups.value.data,
        )
        folded.output.name_hint = conv.output.name_hint
        rewriter.replace(op, folded)
        rewriter.erase(conv)


class BatchNormToAffine(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qsim.BatchNormOp, rewriter: PatternRewriter) -> None:
        if isinstance(op.input.owner, qsim.Conv2dOp) and _single_use(op.input):
            return  # FoldBatchNormIntoConv's case
        affine = _batch_norm_affine(op)
        if affine is None:
            return
        multiplier, shift = affine
        rank = len(qsim.shape_of(op.input))
        channel_shape = (-1,) + (1,) * (rank - 2)
        base = constant_name(op.scale) or "bn"
        base = base.removesuffix(".weight")
        scale = _new_constant(rewriter, multiplier.reshape(channel_shape), f"{base}.multiplier")
        shift_value = _new_constant(rewriter, shift.reshape(channel_shape), f"{base}.shift")
        product = qsim.MulOp(op.input, scale)
        rewriter.insert(product)
        total = qsim.AddOp(product.output, shift_value)
        total.output.name_hint = op.output.name_hint
        rewriter.replace(op, total)


class FoldDenseBias(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qsim.AddOp, rewriter: PatternRewriter) -> None:
        for dense_value, other in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            dense = dense_value.owner
            if not isinstance(dense, qsim.DenseOp) or dense.bias is not None:
                continue
            if not _single_use(dense.output):
                continue
            bias = constant_of(other)
            out_shape = qsim.shape_of(dense.output)
            features = out_shape[-1]
            if bias is None or bias.shape[-1:] != (features,) or math.prod(bias.shape) != features:
                continue
            if qsim.shape_of(op.output) != out_shape:
                continue
            new_bias = _new_constant(rewriter, bias.reshape(features), constant_name(other))
            fused = qsim.DenseOp(dense.input, dense.weight, new_bias)
            fused.output.name_hint = op.output.name_hint or dense.output.name_hint
            rewriter.replace(op, fused)
            rewriter.erase(dense)
            return


def _is_scalar_constant(value: SSAValue, expected: float, rel: float = 1e-6) -> bool:
    array = constant_of(value)
    return array is not None and array.size == 1 and math.isclose(
        float(array.reshape(-1)[0]), expected, rel_tol=rel
    )


def _other(op: qsim._BinaryElementwise, value: SSAValue) -> SSAValue:
    return op.rhs if op.lhs is value else op.lhs


class FuseErfGelu(RewritePattern):
    """erf(x / sqrt 2) + 1, multiplied by x and by 0.5 (in either order): torch's exact GELU."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qsim.ErfOp, rewriter: PatternRewriter) -> None:
        scaled = op.input.owner
        if isinstance(scaled, qsim.DivOp) and _is_scalar_constant(scaled.rhs, math.sqrt(2.0)):
            x = scaled.lhs
        elif isinstance(scaled, qsim.MulOp) and _is_scalar_constant(scaled.rhs, 1 / math.sqrt(2.0)):
            x = scaled.lhs
        else:
            return
        if not _single_use(op.output):
            return
        plus_one = op.output.get_user_of_unique_use()
        if not isinstance(plus_one, qsim.AddOp) or not _is_scalar_constant(_other(plus_one, op.output), 1.0):
            return
        if not _single_use(plus_one.output):
            return
        first = plus_one.output.get_user_of_unique_use()
        if not isinstance(first, qsim.MulOp) or not _single_use(first.output):
            return
        second = first.output.get_user_of_unique_use()
        if not isinstance(second, qsim.MulOp):
            return
        first_other, second_other = _other(first, plus_one.output), _other(second, first.output)
        # (1 + erf) * x * 0.5, or (1 + erf) * 0.5 * x.
        x_then_half = first_other is x and _is_scalar_constant(second_other, 0.5)
        half_then_x = _is_scalar_constant(first_other, 0.5) and second_other is x
        if not (x_then_half or half_then_x):
            return
        if qsim.shape_of(second.output) != qsim.shape_of(x):
            return
        gelu = qsim.GeluOp(x)
        gelu.output.name_hint = second.output.name_hint
        rewriter.replace(second, gelu)


class FuseErfGeluHalfFirst(RewritePattern):
    """torch's form: (x * 0.5) * (1 + erf(x / sqrt 2))."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qsim.MulOp, rewriter: PatternRewriter) -> None:
        for half_value, plus_value in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            half, plus_one = half_value.owner, plus_value.owner
            if not isinstance(half, qsim.MulOp) or not isinstance(plus_one, qsim.AddOp):
                continue
            if _is_scalar_constant(half.rhs, 0.5):
                x = half.lhs
            elif _is_scalar_constant(half.lhs, 0.5):
                x = half.rhs
            else:
                continue
            erf_value = plus_one.lhs if isinstance(plus_one.lhs.owner, qsim.ErfOp) else plus_one.rhs
            erf = erf_value.owner
            if not isinstance(erf, qsim.ErfOp) or not _is_scalar_constant(_other(plus_one, erf_value), 1.0):
                continue
            scaled = erf.input.owner
            if not (
                (isinstance(scaled, qsim.DivOp) and scaled.lhs is x and _is_scalar_constant(scaled.rhs, math.sqrt(2.0)))
                or (isinstance(scaled, qsim.MulOp) and scaled.lhs is x
                    and _is_scalar_constant(scaled.rhs, 1 / math.sqrt(2.0)))
            ):
                continue
            if qsim.shape_of(op.output) != qsim.shape_of(x):
                continue
            gelu = qsim.GeluOp(x)
            gelu.output.name_hint = op.output.name_hint
            rewriter.replace(op, gelu)
            return


class FoldConstantOps(RewritePattern):
    """Evaluate ops whose operands are all constants, with the interpreter's kernels."""

    def __init__(self, module: ModuleOp):
        from hago_ir.interpreter import make_interpreter

        self.interpreter = make_interpreter(module)

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.dialect_name() != "qsim" or isinstance(op, (qsim.ConstantOp, qsim.SimulatedQuantizeOp)):
            return
        if not op.operands or len(op.results) != 1:
            return
        arrays = [constant_of(v) for v in op.operands]
        if any(a is None for a in arrays):
            return
        (result,) = self.interpreter.run_op(op, tuple(a.astype(np.float64) for a in arrays))  # type: ignore[union-attr]
        folded = qsim.ConstantOp.from_array(np.asarray(result, dtype=np.float32), None)
        folded.output.name_hint = op.results[0].name_hint
        rewriter.replace(op, folded)


class RemoveIdentities(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        source = self._identity_source(op)
        if source is not None and source.type == op.results[0].type:
            if source.name_hint is None:
                source.name_hint = op.results[0].name_hint
            rewriter.replace(op, [], [source])

    @staticmethod
    def _identity_source(op: Operation) -> SSAValue | None:
        if isinstance(op, qsim.ReshapeOp):
            return op.input
        if isinstance(op, qsim.TransposeOp) and ints(op.perm) == tuple(range(len(ints(op.perm)))):
            return op.input
        if isinstance(op, qsim.PadOp) and not any(ints(op.pads)):
            return op.input
        if isinstance(op, qsim.ClipOp) and op.min.value.data == -math.inf and op.max.value.data == math.inf:
            return op.input
        if isinstance(op, (qsim.AddOp, qsim.SubOp)):
            if _all_equal(op.rhs, 0.0):
                return op.lhs
            if isinstance(op, qsim.AddOp) and _all_equal(op.lhs, 0.0):
                return op.rhs
        if isinstance(op, (qsim.MulOp, qsim.DivOp)):
            if _all_equal(op.rhs, 1.0):
                return op.lhs
            if isinstance(op, qsim.MulOp) and _all_equal(op.lhs, 1.0):
                return op.rhs
        if isinstance(op, qsim.ConcatOp) and len(op.inputs) == 1:
            return op.inputs[0]
        return None


def _all_equal(value: SSAValue, expected: float) -> bool:
    array = constant_of(value)
    return array is not None and bool(np.all(array == expected))


def canonicalize(module: ModuleOp) -> None:
    """Apply every pattern to a fixed point, then drop what became dead."""
    PatternRewriteWalker(
        GreedyRewritePatternApplier([
            FoldBatchNormIntoConv(),
            BatchNormToAffine(),
            FoldDenseBias(),
            FuseErfGeluHalfFirst(),
            FuseErfGelu(),
            FoldConstantOps(module),
            RemoveIdentities(),
        ]),
        apply_recursively=True,
    ).rewrite_module(module)
    for op in module.walk():
        for region in op.regions:
            region_dce(region)
