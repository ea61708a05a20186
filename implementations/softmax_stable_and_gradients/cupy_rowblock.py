"""softmax_stable_and_gradients in CuPy: one thread block per slice (RawModule kernels).

Forward: a block-wide max (warp shuffles, then one warp over the warp results), a block-wide
sum of exp(x - max), then one write pass; the row is read three times, from L2 after the
first. Backward: one block-wide dot (or sum) and one write pass over the saved forward
output. float16 is worked in float32; slices along axis 0 are transposed once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from harness import implementation
from suites.softmax_stable_and_gradients import SoftmaxOptions, check_backward, check_forward

try:
    import cupy as cp
except ImportError:  # registered all the same: the cells skip with the cupy backend's reason
    cp = None

_THREADS = 256

_SOURCE = r"""
// j walks one row, the block's threads side by side
#define ROW_LOOP(j) for (long long j = threadIdx.x; j < length; j += blockDim.x)

__device__ inline float ex(float v) { return expf(v); }
__device__ inline double ex(double v) { return exp(v); }
__device__ inline float lg(float v) { return logf(v); }
__device__ inline double lg(double v) { return log(v); }
__device__ inline float minus_inf(float) { return __int_as_float(0xff800000); }
__device__ inline double minus_inf(double) { return __longlong_as_double(0xfff0000000000000ULL); }

template <typename T>
__device__ inline T nan_max(T a, T b) { return (b > a || b != b) ? b : a; }  // NaN wins

// Reduce one value per thread to one per block; every thread gets the result.
template <typename T>
__device__ T block_max(T v, T* shared) {
    for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = threadIdx.x < (blockDim.x >> 5) ? shared[threadIdx.x] : minus_inf(v);
    if (warp == 0) {
        for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (lane == 0) shared[0] = v;
    }
    __syncthreads();
    v = shared[0];
    __syncthreads();  // shared is reused by the next reduction
    return v;
}

template <typename T>
__device__ T block_sum(T v, T* shared) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = threadIdx.x < (blockDim.x >> 5) ? shared[threadIdx.x] : T(0);
    if (warp == 0) {
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0) shared[0] = v;
    }
    __syncthreads();
    v = shared[0];
    __syncthreads();
    return v;
}

template <typename T>
__global__ void softmax_rows(const T* x, T* out, long long length, int log_softmax, T fill) {
    __shared__ T shared[32];
    const T* row = x + (long long)blockIdx.x * length;
    T* dst = out + (long long)blockIdx.x * length;
    T top = minus_inf(fill);
    ROW_LOOP(j) top = nan_max(top, row[j]);
    top = block_max(top, shared);
    if (top != top || top == minus_inf(fill)) {  // a NaN entry; or every entry -inf
        const T value = top != top ? top : fill;
        ROW_LOOP(j) dst[j] = value;
        return;
    }
    T s = T(0);  // a +inf max: exp(inf - inf) = NaN makes the whole row NaN
    ROW_LOOP(j) s += ex(row[j] - top);
    s = block_sum(s, shared);
    if (log_softmax) {
        const T lse = lg(s);
        ROW_LOOP(j) dst[j] = (row[j] - top) - lse;
    } else {
        const T inv = T(1) / s;
        ROW_LOOP(j) dst[j] = ex(row[j] - top) * inv;
    }
}

template <typename T>
__global__ void softmax_vjp_rows(const T* saved, const T* g, const bool* dead, T* out,
                                 long long length, int log_softmax, T fill) {
    __shared__ T shared[32];
    const long long base = (long long)blockIdx.x * length;
    const T* s = saved + base;
    const T* gr = g + base;
    T* dst = out + base;
    if (dead[blockIdx.x]) {
        ROW_LOOP(j) dst[j] = fill;
        return;
    }
    T c = T(0);
    ROW_LOOP(j) c += log_softmax ? gr[j] : gr[j] * s[j];
    c = block_sum(c, shared);
    if (log_softmax) {  // saved log-probabilities: g - exp(saved)·Σg
        ROW_LOOP(j) dst[j] = gr[j] - ex(s[j]) * c;
    } else {  // s·(g - <g, s>)
        ROW_LOOP(j) dst[j] = s[j] * (gr[j] - c);
    }
}
"""
_NAMES = [f"{k}<{t}>" for k in ("softmax_rows", "softmax_vjp_rows") for t in ("float", "double")]


@functools.cache
def _module() -> Any:
    return cp.RawModule(code=_SOURCE, options=("-std=c++14",), name_expressions=_NAMES)


def _rows(x: Any, axis: int, work: Any) -> Any:
    return cp.ascontiguousarray((x.T if axis == 0 else x).astype(work, copy=False))


def _launch(name: str, rows: Any, *args: Any) -> None:
    if rows.size:
        ctype = "float" if rows.dtype == np.float32 else "double"
        _module().get_function(f"{name}<{ctype}>")((rows.shape[0],), (_THREADS,), args)


def _forward(z: Any, log: bool, fill: float) -> Any:
    out = cp.empty_like(z)
    _launch("softmax_rows", z, z, out, np.int64(z.shape[1]), np.int32(log), z.dtype.type(fill))
    return out


@implementation(
    "softmax_stable_and_gradients",
    "cupy",
    "rowblock",
    supports={"function": ("softmax", "log_softmax")},
)
def softmax(x: Any, opts: SoftmaxOptions) -> Any:
    """One block per slice: block max, block sum of exp, one write pass."""
    dtype, axis = check_forward(x, opts)
    work = np.dtype(np.float32 if dtype == np.float16 else dtype)
    fill = np.nan if opts.all_neg_inf == "nan" else 0.0
    out = _forward(_rows(x, axis, work), opts.function == "log_softmax", fill)
    out = out.astype(dtype, copy=False)
    return out.T if axis == 0 else out


@implementation(
    "softmax_stable_and_gradients.backward",
    "cupy",
    "rowblock",
    prepare=True,
    supports={"function": ("softmax", "log_softmax")},
)
def softmax_backward(x: Any, g: Any, opts: SoftmaxOptions) -> Callable[[], Any]:
    """Setup: the forward's output and the all -inf slices; timed: one block per slice,
    a block-wide dot (or sum) and one write pass."""
    dtype, axis = check_backward(x, g, opts)
    work = np.dtype(np.float32 if dtype == np.float16 else dtype)
    log = opts.function == "log_softmax"
    z = _rows(x, axis, work)
    saved = _forward(z, log, np.nan)
    dead = cp.all(z == -np.inf, axis=1) if z.shape[1] else cp.zeros(z.shape[0], dtype=bool)
    fill = work.type(np.nan if opts.all_neg_inf == "nan" else 0.0)

    def vjp() -> Any:
        gz = _rows(g, axis, work)
        out = cp.empty_like(gz)
        _launch("softmax_vjp_rows", gz, saved, gz, dead, out, np.int64(gz.shape[1]),
                np.int32(log), fill)  # fmt: skip
        out = out.astype(dtype, copy=False)
        return out.T if axis == 0 else out

    return vjp
