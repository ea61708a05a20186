"""Suite for lstm_cell: an LSTM cell iterated over a sequence.

gates = x_t·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh, split into four blocks of H; i, f, o = sigmoid,
g = tanh; c' = f·c + i·g; h' = o·tanh(c'). The blocks' order is the convention: PyTorch and
Keras stack i, f, g (Keras "c"), o; ONNX stacks i, o, f, c. Weights in PyTorch's layout
(Keras' kernel is W_ihᵀ and its single bias is b_ih + b_hh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Outputs
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class LstmOptions(Options):
    gate_order: str = option(
        "ifgo",
        "iofc",
        meaning="the order of the four H-row blocks of the weights and biases: i, f, g, o "
        "(PyTorch, Keras' i, f, c, o) or i, o, f, c (ONNX)",
    )


ARGS = Args(
    Arg("x", ("T", "B", "I"), "float"),
    Arg("h0", ("B", "H"), "float"),
    Arg("c0", ("B", "H"), "float"),
    Arg("w_ih", ("G", "I"), "float"),  # G = 4H
    Arg("w_hh", ("G", "H"), "float"),
    Arg("b_ih", ("G",), "float"),
    Arg("b_hh", ("G",), "float"),
    nonempty=("H", "G"),
    same_dtype=("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"),
)


def check(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple[int, int]:
    """ARGS, then G = 4H; returns (T, H)."""
    ARGS.check(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    g, h = int(w_ih.shape[0]), int(h0.shape[1])
    if g != 4 * h:
        raise ValueError(f"w_ih, w_hh, b_ih, b_hh must have 4H = {4 * h} rows (H = {h}), got {g}")
    return int(x.shape[0]), h


def blocks(opts: LstmOptions) -> tuple[int, int, int, int]:
    """Positions (in blocks of H) of i, f, g, o in the stacked weights."""
    return (0, 1, 2, 3) if opts.gate_order == "ifgo" else (0, 2, 3, 1)  # ONNX: i, o, f, c


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * z))  # no exp overflow at large |z|
    return out


def lstm_cell(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
              opts: LstmOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Oracle, float64, step by step: (output (T, B, H) of every h, h_T, c_T)."""
    t_len, hid = check(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    xs, h, c, wi, wh = (np.asarray(a, dtype=np.float64) for a in (x, h0, c0, w_ih, w_hh))
    b = np.asarray(b_ih, dtype=np.float64) + np.asarray(b_hh, dtype=np.float64)
    pi, pf, pg, po = (slice(k * hid, (k + 1) * hid) for k in blocks(opts))
    out = np.empty((t_len, *h.shape))
    for t in range(t_len):
        z = xs[t] @ wi.T + h @ wh.T + b
        c = _sigmoid(z[:, pf]) * c + _sigmoid(z[:, pi]) * np.tanh(z[:, pg])
        h = _sigmoid(z[:, po]) * np.tanh(c)
        out[t] = h
    return out, h.copy(), c.copy()


def make_inputs(case: Case) -> Inputs:
    """Weights U(-1/sqrt(H), 1/sqrt(H)) as nn.LSTM initialises them, times `wscale`
    (large: saturated gates); x ~ N(0, xscale²); h0, c0 ~ N(0, 0.5²) (or zero)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    t, b, i, h = (int(p[k]) for k in ("T", "B", "I", "H"))
    g = int(p.get("G", 4 * h))
    k = float(p.get("wscale", 1.0)) / math.sqrt(h)
    x = float(p.get("xscale", 1.0)) * rng.standard_normal((t, b, i))
    zero = p.get("state") == "zero"
    h0 = np.zeros((b, h)) if zero else 0.5 * rng.standard_normal((b, h))
    c0 = np.zeros((b, h)) if zero else 0.5 * rng.standard_normal((b, h))
    w = [rng.uniform(-k, k, s) for s in ((g, i), (g, h), (g,), (g,))]
    return {
        name: np.asarray(v).astype(case.dtype)
        for name, v in zip(ARGS.names, (x, h0, c0, *w), strict=True)
    }


def cost(case: Case) -> Cost:
    """Per step 8·B·H·(I + H) flops for the two products plus ~20·B·H for the gates; bytes:
    x, the states and the weights read once, the outputs written."""
    t, b, i, h = (int(case.params[k]) for k in ("T", "B", "I", "H"))
    size = np.dtype(case.dtype).itemsize
    flops = t * (8.0 * b * h * (i + h) + 20.0 * b * h)
    traffic = t * b * i + 4 * b * h + 4 * h * (i + h + 2) + t * b * h
    return Cost(max(flops, 1.0), float(size * traffic), t * b, "cell steps")


def tolerance(case: Case) -> Tolerance:
    """Each gate is a sum of I + H + 2 products: 10·sqrt(I + H)·eps relative. The states
    carry their rounding forward: c accumulates T steps (f < 1 damps it), h follows, so
    K = (I + H)·T; h and c are O(1) (|h| < 1, |c| <= |c0| + T), so atol = rtol."""
    t, i, h = (max(int(case.params[k]), 1) for k in ("T", "I", "H"))
    k = (i + h) * t
    rtol = max(10.0 * math.sqrt(k) * EPS[case.dtype], 1e-10 if case.dtype == "float64" else 0.0)
    return Tolerance(rtol, rtol, f"{case.dtype}: 10·sqrt((I + H)·T)·eps, K={k}; atol = rtol "
                     "(h, c of order 1)")  # fmt: skip


_CLOSE = Close(override=tolerance)
COMPARE = Outputs({"output": _CLOSE, "h_n": _CLOSE, "c_n": _CLOSE})

F64, ONNX = "float64", {"gate_order": "iofc"}

CASES = [
    case("random"),
    case("random_f64", dtype=F64),
    case("onnx_order", options=ONNX),
    case("onnx_order_f64", dtype=F64, options=ONNX),
    case("wide", T=3, B=5, I=40, H=24),
    # H = 72: 4H = 288 gate rows, I = 300, B = 260: a GEMM or a kernel tiled by 256 runs
    # several tiles along the batch, the inputs and the gate rows
    case("multi_block", T=2, B=260, I=300, H=72),
]
EDGES = [
    edge("single_step", T=1),
    edge("zero_state_f64", state="zero", dtype=F64),
    edge("long_sequence", T=60, B=3, I=5, H=7),
    edge("saturated_f64", T=20, wscale=8.0, xscale=4.0, dtype=F64),  # gates at 0 or 1
    edge("batch_1", B=1),
    edge("h_1", H=1, I=6, B=5, T=3),
    edge("empty_sequence", T=0, B=5, I=3, H=2),  # output (0, B, H); h_n, c_n = h0, c0
    edge("empty_batch", T=4, B=0, I=3, H=2),
    edge("no_inputs", T=4, B=5, I=0, H=2),  # gates from the recurrence and the biases
]
ERRORS = [error("g_not_4h", ValueError, r"\b4H\b", G=12, H=4)]
DEFAULTS = {"seed": 53, "dtype": "float32", "T": 6, "B": 5, "I": 7, "H": 4}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "T": st.integers(0, 8),
            "B": st.integers(0, 6),
            "I": st.integers(0, 9),
            "H": st.integers(1, 8),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "wscale": st.sampled_from([1.0, 4.0]),
            "state": st.sampled_from(["random", "zero"]),
        }
    )
    return fuzz_cases(params, LstmOptions.strategy(optional=True))  # fmt: skip


CONVENTIONS = (
    "x (T, B, I), h0 and c0 (B, H), w_ih (4H, I), w_hh (4H, H), b_ih and b_hh (4H,), one "
    "floating dtype (PyTorch's layout: Keras' kernel is w_ihᵀ, its one bias b_ih + b_hh "
    "with b_hh = 0). Per step z = x_t·w_ihᵀ + b_ih + h·w_hhᵀ + b_hh, cut into four blocks of "
    "H columns in gate_order ('ifgo': i, f, g, o as PyTorch and Keras; 'iofc': i, o, f, c as "
    "ONNX); i, f, o = sigmoid, g = tanh; c = f·c + i·g; h = o·tanh(c). Returns (output (T, "
    "B, H), every step's h; h_n; c_n), in the inputs' dtype; T = 0 gives an empty output "
    "and h_n = h0, c_n = c0 (copies). Inputs are never modified. ValueError: 4H rows "
    "violated, H = 0, sizes that disagree; TypeError: mixed dtypes."
)

SUITE = Suite(
    algorithm="lstm_cell",
    family="attention-and-layers",
    summary="An LSTM cell over a sequence x (T, B, I) from (h0, c0) with PyTorch-layout "
    "weights, gate order declared -> (output (T, B, H), h_n, c_n).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=LstmOptions,
    make_inputs=make_inputs,
    oracle=lstm_cell,
    compare=COMPARE,
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    outputs=("output", "h_n", "c_n"),
    bench={
        "smoke": [bench("bench_t4_b8_h32", T=4, B=8, I=32, H=32)],
        # the spec's standard (T = 100, B = 64, I = H = 512: 27 GFLOP) takes seconds per
        # call on two cores; the quick profile's 6 s allow T = 10 at B = 64, I = H = 128
        "quick": [bench("bench_t10_b64_h128", T=10, B=64, I=128, H=128)],
        "full": [bench("bench_t100_b64_h512", T=100, B=64, I=512, H=512)],
    },
    standard="bench_t10_b64_h128",
    multi_block={"B": 260, "I": 300, "G": 288},
    fuzz=fuzz_strategy,
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="torch.nn.LSTM with copied weights (gate order i, f, g, o)",
    divergent_inputs={"no_inputs": lambda inputs: inputs["x"].shape[2] == 0},
)

SUITES = [SUITE]
