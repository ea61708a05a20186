"""physarum_lp's reference: scipy.optimize.linprog with HiGHS, the LP solved to optimality
(the dynamics' step, start and stopping rule do not apply). It agrees with the dynamics
where the case runs them to convergence; elsewhere the dynamics stops early by design."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog

from harness import implementation
from suites.physarum_lp import check


@implementation(
    "physarum_lp",
    "library",
    "linprog_highs",
    arrays="numpy",
    requires=("scipy",),
    expected_failures={
        "random_f64": "linprog returns the optimum; the case stops the dynamics early",
        "random_f32": "linprog returns the optimum; the case stops the dynamics early",
        "step_09_random_start": "linprog returns the optimum; the case stops the dynamics early",
        "stop_on_tol": "linprog returns the optimum; the case stops the dynamics early",
        "multi_block": "linprog returns the optimum; the case stops the dynamics early",
        "one_step": "linprog returns the optimum; the case stops the dynamics early",
        "rank_deficient": "linprog returns the optimum; the case stops the dynamics early",
        "no_constraints": "linprog returns the optimum; the case stops the dynamics early",
        "square": "linprog returns the optimum; the case stops the dynamics early",
        "bench_20x200": "linprog returns the optimum; the bench stops after max_iter steps",
        "bench_100x1000": "linprog returns the optimum; the bench stops after max_iter steps",
        "bench_1000x10000": "linprog returns the optimum; the bench stops after max_iter steps",
    },
)
def physarum_lp(A: Any, b: Any, c: Any, x0: Any, h: Any, tol: Any, max_iter: Any) -> Any:
    """linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method='highs'); infeasible raises."""
    check(A, b, c, x0, h, tol, max_iter)
    A, b, c = (np.asarray(v, dtype=np.float64) for v in (A, b, c))
    if A.shape[1] == 0:
        if np.any(b):
            raise ValueError("infeasible: no variables and b != 0")
        return np.zeros(0)
    res = linprog(c, A_eq=A if A.shape[0] else None, b_eq=b if A.shape[0] else None,
                  bounds=(0, None), method="highs")  # fmt: skip
    if res.status == 2:
        raise ValueError(f"infeasible: linprog says {res.message}")
    if res.status != 0:
        raise ValueError(f"linprog failed: {res.message}")
    return np.asarray(res.x, dtype=np.float64)
