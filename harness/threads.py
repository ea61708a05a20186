"""Thread pools: pinned to one explicit count for every library, and recorded with the run."""

from __future__ import annotations

import os
import sys
from typing import Any

_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMBA_NUM_THREADS",
    "OPENCV_FOR_THREADS_NUM",  # OpenCV's own pthreads pool (cv2.getNumThreads), read at import
)
_LIMITS: list[Any] = []  # keeps the threadpoolctl limiter alive for the whole process


def pin_environment(threads: int) -> None:
    """Set every pool's variable before NumPy, torch or Numba is imported."""
    for var in _ENV_VARS:
        os.environ[var] = str(threads)
    # Idle OpenMP workers spin by default and steal the core the next library needs.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("KMP_BLOCKTIME", "0")


def apply(threads: int) -> dict[str, Any]:
    """Enforce the count on libraries already loaded and return what each one reports."""
    from threadpoolctl import threadpool_info, threadpool_limits

    _LIMITS.append(threadpool_limits(limits=threads))
    record: dict[str, Any] = {"requested": threads}
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        record["torch"] = torch.get_num_threads()
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        record["numba"] = numba.get_num_threads()
    record["pools"] = sorted(
        {f"{p.get('internal_api')}:{p.get('num_threads')}" for p in threadpool_info()}
    )
    record["env"] = {var: os.environ.get(var) for var in _ENV_VARS}
    return record
