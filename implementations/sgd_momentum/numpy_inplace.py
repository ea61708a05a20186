"""sgd_momentum in NumPy, blocked across the steps: each parameter is cut into blocks of
32,768 elements and every block takes all T steps before the next one starts, so its values,
buffer and scratch stay in L2 while the gradients stream through; each step is at most five
in-place ufunc passes (out= into scratch, no temporaries). The element-wise operations and
their order are the step-by-step ones, so stopping and resuming changes no bit."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.sgd_momentum import SgdOptions, check_sgd

BLOCK = 32768


def _block(
    p: Any, buf: Any, g_all: Any, steps: Any, rates: list[float], first: bool, opts: SgdOptions
) -> None:
    """All steps with a gradient on one block of a parameter, in place."""
    mu, keep, wd = opts.momentum, 1 - opts.dampening, opts.weight_decay
    scratch, decay = np.empty_like(p), np.empty_like(p)
    for step in steps:
        g = g_all[step]
        if opts.maximize:
            g = np.negative(g, out=scratch)
        if wd != 0:
            g = np.add(g, np.multiply(p, wd, out=decay), out=scratch)
        if mu != 0:
            if first:
                buf[...] = g
            else:
                buf *= mu
                if keep == 1:
                    buf += g
                else:
                    buf += np.multiply(g, keep, out=decay)
            g = np.add(g, np.multiply(buf, mu, out=decay), out=scratch) if opts.nesterov else buf
        p -= np.multiply(g, rates[step], out=scratch)
        first = False


@implementation("sgd_momentum", "numpy", "blocked")
def sgd(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
    steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
    """Blocks of 32,768 elements through all steps; Python-float coefficients keep the
    arithmetic in the params' dtype."""
    t, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
    rates = [float(lr) for lr in lrs]
    for i in range(n):
        p, buf = params[i], momentum_buffers[i]
        steps = np.flatnonzero(has_grad[:, i])
        if p.size == 0 or steps.size == 0:
            continue
        contiguous = p.flags.c_contiguous and buf.flags.c_contiguous
        flat_p, flat_b = (
            (p.reshape(-1), buf.reshape(-1)) if contiguous else (p.ravel(), buf.ravel())
        )
        g_all = grads[i].reshape(t, -1)
        for lo in range(0, flat_p.size, BLOCK):
            block = slice(lo, lo + BLOCK)
            first = bool(steps_done[i] == 0)
            _block(flat_p[block], flat_b[block], g_all[:, block], steps, rates, first, opts)
        if not contiguous:  # worked on copies: write them back
            p[...], buf[...] = flat_p.reshape(p.shape), flat_b.reshape(buf.shape)
    steps_done += has_grad.sum(axis=0)
