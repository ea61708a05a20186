"""Suite for syncbn_stat_merge: SyncBatchNorm's statistics of a batch split into shards.

Each shard k reduces its n_k values per channel to a mean μ_k and a biased variance σ²_k;
the shards' statistics merge (Chan et al.'s parallel form) into the whole batch's:
N = Σ n_k, μ = Σ n_k·μ_k / N, σ² = (Σ n_k·σ²_k + Σ n_k·(μ_k − μ)²) / N, empty shards
skipped. The running statistics then update as batch norm's (the options and the update
rule are batchnorm_forward_running_stats'), the running variance with N/(N − 1).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.args import Arg, Args, ArrayList, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Outputs, default_tolerance
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.batchnorm_forward_running_stats import BatchNormOptions, batch_weight

ARGS = Args(
    ArrayList("shards"),  # each (n_k, C, *S), *S the same 0 to 2 spatial sizes in every shard
    Arg("running_mean", ("C",), "float"),
    Arg("running_var", ("C",), "float"),
    Scalar("num_batches_tracked", "int", low=0),
)


def check(shards: Any, running_mean: Any, running_var: Any, num_batches_tracked: Any,
          opts: BatchNormOptions) -> tuple[int, int]:  # fmt: skip
    """ARGS, then every shard (n_k, C, *S) with the running statistics' C and one *S and one
    dtype; returns (C, L), L the product of the spatial sizes. Training needs N·L > 1."""
    ARGS.check(shards, running_mean, running_var, num_batches_tracked)
    c = int(running_mean.shape[0])
    if not shards:
        raise ValueError("shards must hold at least one shard")
    tails = {tuple(int(v) for v in s.shape[1:]) for s in shards}
    if len(tails) > 1 or not 2 <= shards[0].ndim <= 4 or next(iter(tails))[0] != c:
        shown = [tuple(s.shape) for s in shards]
        raise ValueError(f"shards must be (n_k, C={c}, *S) with one C and *S, got {shown}")
    if len({str(s.dtype) for s in shards}) > 1:
        raise TypeError(f"shards must share one dtype, got {[str(s.dtype) for s in shards]}")
    l = math.prod(next(iter(tails))[1:])
    total = sum(int(s.shape[0]) for s in shards) * l
    if opts.training and total <= 1:
        raise ValueError(f"shards hold {total} value(s) per channel; training needs more than 1")
    return c, l


def merge(counts: Any, means: Any, variances: Any) -> tuple[Any, Any, int]:
    """Chan's merge of per-shard (n_k, μ_k (K, C), biased σ²_k (K, C)), float64; shards with
    n_k = 0 are dropped first. Returns (μ, σ², N)."""
    n = np.asarray(counts, dtype=np.float64)
    keep = n > 0
    n, mu_k, var_k = n[keep], np.asarray(means)[keep], np.asarray(variances)[keep]
    total = float(n.sum())
    mu = (n[:, None] * mu_k).sum(axis=0) / total
    var = ((n[:, None] * var_k).sum(axis=0) + (n[:, None] * (mu_k - mu) ** 2).sum(axis=0)) / total
    return mu, var, int(total)


def update_running(mean: Any, var: Any, total: int, running_mean: Any, running_var: Any,
                   num_batches_tracked: int,
                   opts: BatchNormOptions) -> tuple[Any, Any]:  # fmt: skip
    """Batch norm's running update with the merged statistics (float64)."""
    f = batch_weight(opts, num_batches_tracked)
    unbiased = var * total / (total - 1) if opts.unbiased_running_var else var
    rm, rv = np.asarray(running_mean, np.float64), np.asarray(running_var, np.float64)
    return (1 - f) * rm + f * mean, (1 - f) * rv + f * unbiased


def syncbn_stat_merge(shards: Any, running_mean: Any, running_var: Any, num_batches_tracked: Any,
                      opts: BatchNormOptions) -> tuple[Any, ...]:  # fmt: skip
    """Oracle, float64: each shard's two-pass (μ_k, σ²_k), Chan's merge, the running update.
    Eval (training=False): the running statistics are the statistics, nothing updates."""
    c, l = check(shards, running_mean, running_var, num_batches_tracked, opts)
    rm, rv = np.asarray(running_mean, np.float64), np.asarray(running_var, np.float64)
    if not opts.training:
        return rm.copy(), rv.copy(), rm.copy(), rv.copy()
    counts, means, variances = [], [], []
    for s in shards:
        v3 = np.asarray(s, dtype=np.float64).reshape(s.shape[0], c, l)
        v = v3.transpose(1, 0, 2).reshape(c, s.shape[0] * l)
        counts.append(v.shape[1])
        mu = v.mean(axis=1) if v.shape[1] else np.zeros(c)
        means.append(mu)
        variances.append(((v - mu[:, None]) ** 2).mean(axis=1) if v.shape[1] else np.zeros(c))
    mean, var, total = merge(counts, means, variances)
    new_mean, new_var = update_running(mean, var, total, rm, rv, num_batches_tracked, opts)
    return mean, var, new_mean, new_var


def make_inputs(case: Case) -> Inputs:
    """Shards of sizes `counts` (some 0), (n_k, C, *S); channel c ~ loc_c + offset + std_c·z
    with a per-shard shift `drift`·N(0, 1) (so the shards' means differ); running stats near
    the batch's."""
    p, rng = case.params, np.random.default_rng(case.seed)
    counts = [int(v) for v in p.get("counts", (4, 0, 7, 3))]
    c, spatial = int(p["C"]), tuple(int(v) for v in p.get("S", (5, 5)))
    loc = rng.uniform(-2, 2, c) + float(p.get("offset", 0.0))
    std = rng.uniform(0.5, 2.0, c)
    bshape = (1, c, *([1] * len(spatial)))
    draw = np.float64 if case.dtype == "float64" else np.float32
    shards = []
    for n in counts:
        shift = float(p.get("drift", 0.5)) * rng.standard_normal(c)
        z = rng.standard_normal((n, c, *spatial), dtype=draw)
        z *= std.reshape(bshape).astype(draw)
        z += (loc + shift).reshape(bshape).astype(draw)
        shards.append(z.astype(case.dtype, copy=False))
    if "bad_c" in p:  # the error case: one shard with another channel count
        shards[-1] = shards[-1][:, :-1]
    rm = (loc + rng.uniform(-0.2, 0.2, c)).astype(case.dtype)
    rv = (std**2 * rng.uniform(0.8, 1.25, c)).astype(case.dtype)
    return {"shards": shards, "running_mean": rm, "running_var": rv,
            "num_batches_tracked": int(p.get("tracked", 3))}  # fmt: skip


def _values(case: Case) -> int:
    counts = case.params.get("counts", (4, 0, 7, 3))
    return int(sum(counts) * math.prod(case.params.get("S", (5, 5))))


def cost(case: Case) -> Cost:
    """Two passes over every value (the shard's mean, then its centred square): ≈ 4 flops,
    2b bytes per value (read twice); the merge is O(K·C)."""
    n, c = _values(case), int(case.params["C"])
    b = np.dtype(case.dtype).itemsize
    return Cost(4.0 * n * c + 1, 2.0 * b * n * c + 4 * b * c, n * c, "values")


def _tolerance(case: Case) -> Tolerance:
    """Sums of K = N·L values per channel: rtol 10·sqrt(K)·eps. The mean's atol is rtol
    times its magnitude bound |loc| + |offset| + 3·std."""
    base = default_tolerance(case.dtype, max(_values(case), 1))
    scale = 2.0 + abs(float(case.params.get("offset", 0.0))) + 6.0
    return Tolerance(base.rtol, base.rtol * scale, base.reason + f"; mean atol = rtol·{scale:g}")


def _var_tolerance(case: Case) -> Tolerance:
    """The variance's atol is rtol times std² (4) plus 2·|μ_k − μ|·|μ| (|μ_k − μ| <= 3·drift):
    a shard mean kept in the inputs' dtype (as SyncBN all-gathers it) is off by eps·|μ|, which
    the between-shard term n_k·(μ_k − μ)² carries. A variance that loses digits to the mean
    itself (the naive Σn(σ² + μ²)/N − μ², off by eps·μ²) still fails."""
    base = default_tolerance(case.dtype, max(_values(case), 1))
    mu = 2.0 + abs(float(case.params.get("offset", 0.0)))
    scale = 4.0 + 6.0 * float(case.params.get("drift", 0.5)) * mu
    why = f"; variance atol = rtol·{scale:.3g} (std² and the shard means' rounding)"
    return Tolerance(base.rtol, base.rtol * scale, base.reason + why)


MEAN, VAR = Close(override=_tolerance), Close(override=_var_tolerance)
COMPARE = Outputs({"mean": MEAN, "var": VAR, "running_mean": MEAN, "running_var": VAR})

F64 = "float64"
KERAS = {"momentum_convention": "keras", "momentum": 0.99, "eps": 1e-3,
         "unbiased_running_var": False}  # fmt: skip

CASES = [
    case("unequal_shards"),
    case("unequal_shards_f64", dtype=F64),
    case("equal_shards", counts=(5, 5, 5, 5)),
    case("flat_2d_f64", S=(), counts=(9, 4, 0, 12), dtype=F64),
    case("spatial_1d", S=(11,), counts=(3, 6)),
    case("keras_f64", dtype=F64, options=KERAS),
    case("cumulative_average", options={"momentum": None}, tracked=4),
    case("eval_f64", dtype=F64, options={"training": False}),
    # 300 channels and 2,500 values each: per-channel kernels run several 256-wide blocks
    case("multi_block", C=300, counts=(40, 60), S=(5, 5)),
]
EDGES = [
    edge("one_shard", counts=(6,)),
    edge("empty_shards_f64", counts=(0, 5, 0, 0, 2), dtype=F64),
    edge("means_1e4", offset=1e4, drift=0.05),  # the naive formula cancels ~8 digits
    edge("means_1e4_f64", offset=1e4, drift=0.05, dtype=F64),
    edge("many_shards", counts=tuple(range(1, 65)), S=(2,), C=3),
    edge("two_values", counts=(1, 1), S=(), C=4),
    edge("zero_channels", C=0),
]
ERRORS = [
    error("one_value", ValueError, r"\bshards\b", counts=(1, 0), S=()),
    error("channel_mismatch", ValueError, r"\bshards\b", bad_c=True),
]
DEFAULTS = {"seed": 59, "dtype": "float32", "C": 6}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "counts": st.lists(st.integers(0, 6), min_size=1, max_size=5).filter(
                lambda v: sum(v) >= 2
            ),
            "C": st.integers(0, 5),
            "S": st.sampled_from([(), (3,), (2, 3)]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "offset": st.sampled_from([0.0, 100.0]),
        }
    )
    return fuzz_cases(params, BatchNormOptions.strategy(omit=("momentum_convention",),
                                               optional=True))  # fmt: skip


CONVENTIONS = (
    "shards: a non-empty list of (n_k, C, *S) arrays (0 to 2 spatial axes, the same C and *S "
    "and dtype in every shard; n_k = 0 allowed and skipped); running_mean, running_var (C,); "
    "num_batches_tracked for momentum=None. Options are batch norm's (BatchNormOptions; eps "
    "is not used here). training=True: the whole batch's mean and biased variance per "
    "channel as the shards' (n_k, μ_k, σ²_k) merged by Chan's parallel form (the naive "
    "Σn_k(σ²_k + μ²_k)/N − μ² cancels at large means and fails the tolerance), then "
    "running = (1 − f)·running + f·batch with f = momentum (torch), 1 − momentum (keras) or "
    "1/(tracked + 1) (None), the variance made unbiased by N/(N − 1) when "
    "unbiased_running_var. training=False: the running statistics are returned as the "
    "statistics and as the new running ones (copies). Returns (mean, var, running_mean, "
    "running_var), each (C,) in the inputs' dtype. ValueError: N·L <= 1 in training, shards "
    "that disagree on C or *S, no shard; TypeError: mixed dtypes."
)

SUITE = Suite(
    algorithm="syncbn_stat_merge",
    family="training-math",
    summary="SyncBatchNorm statistics of a batch split into shards (per-shard mean and "
    "variance, Chan's merge, running update) -> (mean, var, running_mean, running_var).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=BatchNormOptions,
    make_inputs=make_inputs,
    oracle=syncbn_stat_merge,
    compare=COMPARE,
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    outputs=("mean", "var", "running_mean", "running_var"),
    bench={
        "smoke": [bench("bench_2x4x16x8x8", counts=(4, 4), C=16, S=(8, 8))],
        # the spec's standard, 8 shards of 4 x 256 x 56 x 56 (25.7M values, 103 MB of
        # float32), is in "full"; 8 shards of 4 x 64 x 56 x 56 keep the quick profile short
        "quick": [bench("bench_8x4x64x56x56", counts=(4,) * 8, C=64, S=(56, 56))],
        "full": [
            bench("bench_8x4x256x56x56", counts=(4,) * 8, C=256, S=(56, 56)),
            bench("bench_64x4x256x56x56", counts=(4,) * 64, C=256, S=(56, 56)),
        ],
    },
    standard="bench_8x4x64x56x56",
    multi_block={"C": 300},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="F.batch_norm(training=True) on the concatenated shards (running statistics) "
    "and torch.var_mean of the concatenation",
)

SUITES = [SUITE]
