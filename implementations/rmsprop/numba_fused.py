"""rmsprop in Numba, fused across the steps: each parameter is swept in blocks of 512
values; a block's p, v, gbar and buf stay in L1 through all T steps while the block's row of
each step's gradient streams in, so the state is read and written once per call instead of
once per step. Every value still takes the steps in order (same bits when stopped and
resumed). The step on a block is a loop over 1-D views, which LLVM unswitches on the
option flags and vectorises (indexing into the whole arrays from an offset kept it scalar,
2-4x slower); the flags stay runtime values, so one compile per dtype covers every option."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.rmsprop import RmspropOptions, check, group_options

BLOCK = 512


@numba.njit(cache=False, error_model="numpy")
def _block(p: Any, g: Any, v: Any, gbar: Any, buf: Any, lr: Any, sign: Any, wd: Any, a: Any,
    c: Any, eps: Any, mu: Any, centered: bool, momentum: bool,
    tf1: bool) -> None:  # fmt: skip  # pragma: no cover - compiled
    """One step on one block (1-D views from 0: LLVM unswitches the flags and vectorises)."""
    for j in range(p.size):
        gj = sign * g[j]
        if wd != 0:
            gj += wd * p[j]
        vj = a * v[j] + c * (gj * gj)
        v[j] = vj
        if centered:
            mj = a * gbar[j] + c * gj
            gbar[j] = mj
            vj = vj - mj * mj
        d = np.sqrt(vj + eps) if tf1 else np.sqrt(vj) + eps
        if momentum:
            bj = mu * buf[j] + (lr * gj / d if tf1 else gj / d)
            buf[j] = bj
            p[j] -= bj if tf1 else lr * bj
        else:
            p[j] -= lr * gj / d


@numba.njit(cache=False, error_model="numpy")
def _run(p: Any, g: Any, v: Any, gbar: Any, buf: Any, lrs: Any, sign: Any, wd: Any, a: Any,
    c: Any, eps: Any, mu: Any, centered: bool, momentum: bool,
    tf1: bool) -> None:  # fmt: skip  # pragma: no cover - compiled
    for s in range(0, p.size, BLOCK):
        e = min(s + BLOCK, p.size)
        for k in range(g.shape[0]):
            _block(p[s:e], g[k, s:e], v[s:e], gbar[s:e], buf[s:e], lrs[k], sign, wd, a, c,
                   eps, mu, centered, momentum, tf1)  # fmt: skip


@implementation("rmsprop", "numba", "fused")
def rmsprop(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, group: Any, hyper: Any, centered: Any,
    opts: RmspropOptions) -> None:  # fmt: skip
    """One compiled call per parameter for all T steps, with its group's settings and
    learning rates; scalars in the parameters' dtype."""
    steps = check(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step, group,
                  hyper, centered)  # fmt: skip
    settings = group_options(opts, hyper, centered)
    for i, p in enumerate(params):
        if p.size == 0 or steps == 0:
            continue
        f, j = p.dtype.type, int(group[i])
        o = settings[j]
        flats = [x[i].reshape(-1) for x in (params, square_avg, grad_avg, momentum_buffer)]
        _run(
            flats[0],
            np.ascontiguousarray(grads[i]).reshape(steps, -1),
            flats[1],
            flats[2],
            flats[3],
            np.ascontiguousarray(lrs[:, j], dtype=p.dtype),
            f(-1.0 if o.maximize else 1.0),
            f(o.weight_decay),
            f(o.alpha),
            f(1.0 - o.alpha),
            f(o.eps),
            f(o.momentum),
            o.centered,
            o.momentum > 0,
            o.convention == "tf1",
        )
        for x, flat in zip((params, square_avg, grad_avg, momentum_buffer), flats, strict=True):
            if not np.shares_memory(x[i], flat):  # a non-contiguous input was copied
                x[i][...] = flat.reshape(x[i].shape)
    step += steps
