"""Fast evaluation of a simulated-quantized module for the bit-width search.

The search evaluates hundreds of strategies (effective bits per edge) on the
same samples. Two things make that affordable (DESIGN.md point 6):
- batching: the module is prepared once and the whole sample set flows
  through each op as one stacked batch (in chunks, to bound memory), instead
  of one interpreter call per sample;
- reuse: every op's output is cached per chunk; after changing the bits of
  some simulated quantize ops, only the ops downstream of them are recomputed
  (upstream activations cannot have changed). Greedy search changes one edge
  at a time, so it recomputes only the part of the graph below that edge.

Op semantics are the interpreter's (`QsimFunctions`, through `run_op`), so the
simulator and `hago-run` cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from hago_ir.dialects import qsim
from hago_ir.dialects.qsim import int_attr
from hago_ir.interpreter import make_interpreter
from hago_ir.model_io import find_function


class Simulator:
    """Evaluate one module on a fixed sample set, many times, with different bits."""

    def __init__(self, module: ModuleOp, inputs: dict[str, np.ndarray], chunk_size: int = 64,
                 reuse: bool = True) -> None:
        self.function: func.FuncOp = find_function(module)
        self.interpreter = make_interpreter(module)
        self.ops: list[Operation] = [op for op in self.function.body.block.ops if not isinstance(op, func.ReturnOp)]
        self.return_op = self.function.body.block.last_op
        self.position = {op: index for index, op in enumerate(self.ops)}
        self.users = self._users()
        self.reuse = reuse
        arrays = [np.asarray(inputs[key], dtype=np.float64) for key in inputs]
        if len(arrays) != len(self.function.args):
            raise ValueError(f"expected {len(self.function.args)} input arrays, got {len(arrays)}")
        count = arrays[0].shape[0]
        self.chunks = [
            [array[start : start + chunk_size] for array in arrays] for start in range(0, count, chunk_size)
        ]
        self.sample_count = count
        self.cache: list[dict[SSAValue, np.ndarray]] = [{} for _ in self.chunks]
        self.dirty: set[Operation] | None = None  # None: everything must be computed
        self.ops_run = 0

    def _users(self) -> dict[Operation, list[Operation]]:
        users: dict[Operation, list[Operation]] = {op: [] for op in self.ops}
        for op in self.ops:
            for operand in op.operands:
                owner = operand.owner
                if isinstance(owner, Operation) and owner in users:
                    users[owner].append(op)
        return users

    def set_bits(self, changes: Iterable[tuple[qsim.SimulatedQuantizeOp, int]]) -> None:
        """Change effective bits; the changed ops and everything below them become dirty."""
        changed = []
        for op, bits in changes:
            if op.effective_bits.value.data != bits:
                op.effective_bits = int_attr(bits)
                changed.append(op)
        if self.dirty is None:
            return
        self.dirty |= self._downstream(changed)

    def mark_all_dirty(self) -> None:
        self.dirty = None

    def _downstream(self, roots: list[Operation]) -> set[Operation]:
        seen: set[Operation] = set()
        stack = list(roots)
        while stack:
            op = stack.pop()
            if op in seen:
                continue
            seen.add(op)
            stack.extend(self.users[op])
            # A bias quantizer depends on the scales of its consumer's input and
            # weight quantizers: changing those bits changes the bias grid.
            for user in self.users[op]:
                if isinstance(user, (qsim.Conv2dOp, qsim.DenseOp)) and user.bias is not None:
                    bias_owner = user.bias.owner
                    if isinstance(bias_owner, Operation) and bias_owner in self.users:
                        stack.append(bias_owner)
        return seen

    def run(self) -> list[np.ndarray]:
        """The function's outputs for all samples (stacked along the batch dimension)."""
        recompute_all = self.dirty is None or not self.reuse
        outputs_per_chunk = []
        for chunk, cache in zip(self.chunks, self.cache):
            for arg, array in zip(self.function.args, chunk):
                cache[arg] = array
            for op in self.ops:
                if not recompute_all and op not in self.dirty and op.results[0] in cache:
                    continue
                args = tuple(cache[operand] for operand in op.operands)
                results = self.interpreter.run_op(op, args)
                self.ops_run += 1
                for result, value in zip(op.results, results):
                    cache[result] = value
            outputs_per_chunk.append([cache[v] for v in self.return_op.operands])
            if not self.reuse:
                # Nothing is read back: holding every op's output of every
                # chunk took 21 GB for 10,000 Fashion-MNIST images.
                cache.clear()
        self.dirty = set()
        return [np.concatenate(parts, axis=0) for parts in zip(*outputs_per_chunk)]

