"""rmsprop in NumPy, blocked across the steps: each parameter goes through chunks of 16,384
values, and each chunk takes all T steps before the next one starts, so the chunk's state
(p, v, gbar, buf and two scratch rows: ~400 KB in float32) stays in L2 between the ~10
in-place ufunc passes of a step and across the steps; only the gradients stream from memory.
A chunk this size keeps the ~µs cost of a ufunc call small next to its work. Scalars are
Python floats, so the arrays keep their dtype (NumPy's weak scalars)."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.rmsprop import RmspropOptions, check, group_options

CHUNK = 1 << 14


def _steps(p: Any, v: Any, gbar: Any, buf: Any, g: Any, rates: list[float],
    opts: RmspropOptions, a: Any, b: Any) -> None:  # fmt: skip
    """All steps on one chunk (g: its (T, n) rows); a and b are scratch of the chunk's size."""
    alpha, wd, mu, eps = opts.alpha, opts.weight_decay, opts.momentum, opts.eps
    tf1 = opts.convention == "tf1"
    for k, lr in enumerate(rates):
        gk = g[k]
        if wd:  # g' = wd*p -/+ g, built in b
            np.multiply(p, wd, out=b)
            (np.subtract if opts.maximize else np.add)(b, gk, out=b)
            gk = b
        elif opts.maximize:
            gk = np.negative(gk, out=b)
        np.multiply(gk, gk, out=a)  # v = alpha*v + (1 - alpha)*g^2
        a *= 1.0 - alpha
        v *= alpha
        v += a
        if opts.centered:  # gbar = alpha*gbar + (1 - alpha)*g; variance v - gbar^2 in a
            np.multiply(gk, 1.0 - alpha, out=a)
            gbar *= alpha
            gbar += a
            np.multiply(gbar, gbar, out=a)
            np.subtract(v, a, out=a)
            var = a
        else:
            var = v
        if tf1:
            np.add(var, eps, out=a)
            np.sqrt(a, out=a)
        else:
            np.sqrt(var, out=a)
            a += eps
        with np.errstate(divide="ignore", invalid="ignore"):  # eps = 0, v = 0: NaN, as torch
            np.divide(gk, a, out=a)
        if mu > 0:
            if tf1:
                a *= lr
            buf *= mu
            buf += a
            if tf1:
                p -= buf
            else:
                np.multiply(buf, lr, out=a)
                p -= a
        else:
            a *= lr
            p -= a


@implementation("rmsprop", "numpy", "blocked")
def rmsprop(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, group: Any, hyper: Any, centered: Any,
    opts: RmspropOptions) -> None:  # fmt: skip
    """Per parameter and 16K-value chunk: all T steps, ~10 in-place ufunc passes each, with
    the parameter's group's settings and learning rates."""
    steps = check(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step, group,
                  hyper, centered)  # fmt: skip
    settings, columns = group_options(opts, hyper, centered), lrs.T.tolist()
    lists = (params, square_avg, grad_avg, momentum_buffer)
    for i, p in enumerate(params):
        j = int(group[i])
        flats = [x[i].reshape(-1) for x in lists]
        g = grads[i].reshape(steps, p.size)
        a, b = np.empty(min(CHUNK, p.size), p.dtype), np.empty(min(CHUNK, p.size), p.dtype)
        for s in range(0, p.size, CHUNK):
            c = slice(s, min(s + CHUNK, p.size))
            n = c.stop - s
            p_, v_, m_, b_ = (f[c] for f in flats)
            _steps(p_, v_, m_, b_, g[:, c], columns[j], settings[j], a[:n], b[:n])
        for x, flat in zip(lists, flats, strict=True):
            if x[i].size and not np.shares_memory(x[i], flat):  # a non-contiguous input
                x[i][...] = flat.reshape(x[i].shape)
    step += steps
