"""adaptive_avg_pool_area_resize through the array API (NumPy, CuPy, torch CPU/CUDA):
separable, each axis a short weighted gather. The (Out, T) band of every axis (T the
widest bin, about In/Out + 1) turns the average into T take-multiply-adds along that
axis; rows first, then columns (the shrinking axis first halves the second pass).
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.adaptive_avg_pool_area_resize import AreaOptions, band, check


def _axis(xp: Any, a: Any, n_out: int, axis: int, method: str, dtype: Any, dev: Any) -> Any:
    idx, wts = band(a.shape[axis], n_out, method)
    out = None
    shape = [1, 1, 1, 1]
    shape[axis] = n_out
    for t in range(idx.shape[1]):
        w = xp.reshape(xp.asarray(wts[:, t], dtype=dtype, device=dev), tuple(shape))
        term = xp.take(a, xp.asarray(idx[:, t], device=dev), axis=axis) * w
        out = term if out is None else out + term
    return out


@implementation(
    "adaptive_avg_pool_area_resize", ("numpy", "cupy", "torch_cpu", "torch_cuda"), "band"
)
def resize(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> Any:
    """Weighted gathers along H, then along W."""
    dtype = check(x, out_h, out_w, opts)
    xp, dev = array_namespace(x), device(x)
    n, c = x.shape[:2]
    if n * c == 0:
        return xp.zeros((n, c, out_h, out_w), dtype=dtype, device=dev)
    src = x if x.dtype == dtype else xp.astype(x, dtype)
    rows = _axis(xp, src, out_h, 2, opts.method, dtype, dev)
    return _axis(xp, rows, out_w, 3, opts.method, dtype, dev)
