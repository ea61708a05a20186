"""nms_greedy in CuPy: a RawKernel fills an N x ceil(N/64) suppression bitmask, then a
single-block RawKernel sweeps it on the device (torchvision's CUDA scheme, sweep included).

Thread i of a 64 x 64 tile tests sorted box i against the tile's 64 later boxes held in
shared memory; the sweep ORs each kept row into a removed-bitset, 64 boxes per word.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.nms_greedy import ARGS, NmsOptions

_SOURCE = r"""
template <typename T>
__device__ bool suppresses(const T* a, const T* b, T thr, bool ge) {
    T iw = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    T ih = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    T inter = (iw > T(0) && ih > T(0)) ? iw * ih : T(0);
    T uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    T iou = uni != T(0) ? inter / uni : T(0);  // zero union: IoU 0
    return ge ? iou >= thr : iou > thr;
}

template <typename T>
__global__ void nms_mask(const T* boxes, int n, T thr, bool ge, unsigned long long* mask) {
    const int row_block = blockIdx.y, col_block = blockIdx.x;
    if (row_block > col_block) return;  // only later boxes (j > i) are ever needed
    __shared__ T tile[64 * 4];
    const int col0 = col_block * 64, ncols = min(n - col0, 64);
    if (threadIdx.x < ncols)
        for (int k = 0; k < 4; ++k) tile[threadIdx.x * 4 + k] = boxes[(col0 + threadIdx.x) * 4 + k];
    __syncthreads();
    const int i = row_block * 64 + threadIdx.x;
    if (i >= n) return;
    unsigned long long bits = 0;
    for (int c = (row_block == col_block) ? threadIdx.x + 1 : 0; c < ncols; ++c)
        if (suppresses(boxes + (long long)i * 4, tile + c * 4, thr, ge)) bits |= 1ULL << c;
    mask[(long long)i * ((n + 63) / 64) + col_block] = bits;
}

extern "C" __global__ void nms_sweep(const unsigned long long* mask, int n,
                                     volatile unsigned long long* removed, bool* keep) {
    const int words = (n + 63) / 64;  // one block; ``removed`` starts zeroed
    for (int i = 0; i < n; ++i) {
        const bool dead = (removed[i >> 6] >> (i & 63)) & 1ULL;
        __syncthreads();  // everyone has read bit i before anyone ORs row i in
        if (!dead) {
            if (threadIdx.x == 0) keep[i] = true;
            const unsigned long long* row = mask + (long long)i * words;
            for (int w = (i >> 6) + threadIdx.x; w < words; w += blockDim.x) removed[w] |= row[w];
        }
        __syncthreads();
    }
}
"""
_MODULE: list[Any] = []


def _kernels(dtype: Any) -> tuple[Any, Any]:
    if not _MODULE:
        _MODULE.append(
            cp.RawModule(
                code=_SOURCE,
                options=("-std=c++14",),
                name_expressions=("nms_mask<float>", "nms_mask<double>"),
            )
        )
    module = _MODULE[0]
    name = "nms_mask<float>" if dtype == cp.float32 else "nms_mask<double>"
    return module.get_function(name), module.get_function("nms_sweep")


@implementation("nms_greedy", "cupy", "bitmask")
def nms(boxes: Any, scores: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Stable argsort on the device, bitmask kernel over 64 x 64 tiles, device-side sweep."""
    dtype, n = ARGS.check(boxes, scores, iou_threshold), int(boxes.shape[0])
    # CuPy's argsort is stable (equal scores: lower index first); 0 - s also folds -0.0 into
    # +0.0, which a radix sort would otherwise order apart
    order = cp.argsort(0.0 - scores)
    if n == 0:
        return order.astype(cp.int64)
    dtype = cp.float64 if dtype == cp.float64 else cp.float32  # the kernel's two types
    b = cp.ascontiguousarray(boxes[order], dtype=dtype)
    words = (n + 63) // 64
    mask = cp.empty((n, words), dtype=cp.uint64)  # words left of the diagonal are never read
    removed = cp.zeros(words, dtype=cp.uint64)
    keep = cp.zeros(n, dtype=cp.bool_)
    mask_kernel, sweep_kernel = _kernels(dtype)
    mask_kernel(
        (words, words),
        (64,),
        (b, cp.int32(n), dtype(iou_threshold), cp.bool_(opts.suppress_if == "ge"), mask),
    )
    sweep_kernel((1,), (256,), (mask, cp.int32(n), removed, keep))
    return order[cp.flatnonzero(keep)].astype(cp.int64)
