"""batchnorm_forward_running_stats: the suite catches the classic batch-norm mistakes.

Every wrong variant is a small NumPy batch norm with one deliberate mistake, run through
``harness.verify.verify`` on one of the suite's own cases; the correct one passes them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.batchnorm_forward_running_stats import (
    SUITE,
    BatchNormOptions,
    batch_weight,
    check_batch,
)


def bn(
    x: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,
    num_batches_tracked: int,
    opts: BatchNormOptions,
    *,
    validate: bool = True,
    unbiased_normalise: bool = False,  # y normalised by the unbiased variance
    unbiased_running: bool | None = None,  # None: as opts says
    keras_as_torch: bool = False,  # momentum always weights the batch
    cumulative_ignored: bool = False,  # momentum=None read as torch's 0.1
    batch_stats_in_eval: bool = False,
    eps_outside_sqrt: bool = False,  # (x - mean)/(sqrt(var) + eps)
    naive_var: bool = False,  # E[x^2] - E[x]^2, in the statistics dtype
    compute: Any = None,  # dtype of the arithmetic (None: float64 for x's statistics)
    channels: int = 0,  # > 0: only the first block of channels is normalised
    empty_shape: bool = False,  # an empty batch gives y of shape (0,)
    in_place: bool = False,  # the running buffers updated in place and returned
) -> Any:
    """A straightforward batch norm; each keyword argument switches one mistake on."""
    if validate:
        n, c, l = check_batch(x, weight, bias, running_mean, running_var,
                              num_batches_tracked, opts)  # fmt: skip
    else:
        n, c, l = x.shape[0], x.shape[1], int(np.prod(x.shape[2:], dtype=np.int64))
    if empty_shape and x.size == 0:
        return np.zeros(0, x.dtype), running_mean.copy(), running_var.copy()
    work = np.float64 if compute is None else compute
    x3 = x.reshape(n, c, l).astype(work)
    sd = running_mean.dtype
    mean_run, var_run = running_mean.astype(work), running_var.astype(work)
    f = batch_weight(opts, num_batches_tracked)
    if keras_as_torch and opts.momentum is not None:
        f = opts.momentum
    if cumulative_ignored and opts.momentum is None:
        f = 0.1
    training = opts.training or batch_stats_in_eval
    if training and x3.size:
        k = n * l
        mean = x3.mean(axis=(0, 2))
        if naive_var:
            var = (x3 * x3).mean(axis=(0, 2)) - mean * mean
        else:
            var = ((x3 - mean[None, :, None]) ** 2).mean(axis=(0, 2))
        unbiased = var * k / (k - 1) if k > 1 else var
        if opts.training:
            keep_unbiased = (
                opts.unbiased_running_var if unbiased_running is None else unbiased_running
            )
            new_mean = (1 - f) * mean_run + f * mean
            new_var = (1 - f) * var_run + f * (unbiased if keep_unbiased else var)
        else:
            new_mean, new_var = mean_run, var_run
        norm_var = unbiased if unbiased_normalise else var
    else:
        mean, norm_var, new_mean, new_var = mean_run, var_run, mean_run, var_run
    g, b = weight.astype(work), bias.astype(work)
    if eps_outside_sqrt:
        scale = g / (np.sqrt(norm_var) + opts.eps)
    else:
        scale = g / np.sqrt(norm_var + opts.eps)
    y = (x3 - mean[None, :, None]) * scale[None, :, None] + b[None, :, None]
    if channels:
        y[:, channels:] = x3[:, channels:]
    y = y.astype(x.dtype).reshape(x.shape)
    if in_place:
        running_mean[...] = new_mean
        running_var[...] = new_var
        return y, running_mean, running_var
    return y, new_mean.astype(sd), new_var.astype(sd)


def run(case_name: str, **mistake: Any) -> Verdict:
    def fn(*args: Any) -> Any:
        return bn(*args, **mistake)

    name = "test_" + ("_".join(mistake) or "ok")
    impl = Implementation("batchnorm_forward_running_stats", "numpy", name, fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def assert_flagged(verdict: Verdict, *words: str) -> None:
    assert verdict.status in ("fail", "error"), verdict
    for word in words:
        assert word in verdict.detail, verdict.detail


@pytest.mark.parametrize(
    "name", [c.name for c in SUITE.cases] + [e.name for e in (*SUITE.errors, *SUITE.error_cases)]
)
def test_the_straightforward_batch_norm_passes_every_case(name: str) -> None:
    verdict = run(name)
    assert verdict.status == "pass", verdict.detail


PITFALLS = [
    # (case, mistake, words the diagnosis must contain)
    ("train_4d_f64", {"unbiased_normalise": True}, "y"),
    ("train_4d_f32", {"unbiased_running": False}, "new_running_var"),
    ("biased_running_var_f64", {"unbiased_running": True}, "new_running_var"),
    ("keras_defaults_f32", {"keras_as_torch": True}, "new_running_mean"),
    ("momentum_none_after_steps", {"cumulative_ignored": True}, "new_running_mean"),
    ("eval_mode", {"batch_stats_in_eval": True}, "y"),
    ("eps_1e-3_f32", {"eps_outside_sqrt": True}, "y"),
    ("large_offset_f32", {"naive_var": True, "compute": np.float32}, "y"),
    ("train_4d_f64", {"compute": np.float32}, ""),
    ("multi_block", {"channels": 256}, "y"),
    ("empty_batch_training", {"empty_shape": True}, "shape"),
    ("train_4d_f32", {"in_place": True}, ""),
    ("single_value_per_channel_4d", {"validate": False}, ""),
]


@pytest.mark.parametrize(("case_name", "mistake", "words"), PITFALLS, ids=str)
def test_the_suite_flags_each_pitfall(case_name: str, mistake: dict[str, Any], words: str) -> None:
    assert_flagged(run(case_name, **mistake), words)


def test_the_blocked_mistake_hides_in_the_first_block() -> None:
    assert run("train_4d_f32", channels=256).status == "pass"
