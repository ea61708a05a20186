"""gather through the array API (NumPy, torch, CuPy): one flat take with linear addresses.

The address of out[i, j, k] in x is index·stride(dim) plus the other two coordinates times
their strides in a C-contiguous x, built by broadcasting three small aranges; one
xp.take on the flattened x does the copy.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.topk_gather import gather_check


@implementation("topk_gather.gather", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "gather_linear")
def gather(x: Any, dim: int, index: Any) -> Any:
    """Linear addresses from index and broadcast aranges, then take on reshape(x, (-1,))."""
    axis = gather_check(x, dim, index)
    xp, dev = array_namespace(x, index), device(x)
    shape = tuple(x.shape)
    strides = (shape[1] * shape[2], shape[2], 1)
    address = xp.astype(index, xp.int64) * strides[axis]
    for a in range(3):
        if a != axis:
            coord = xp.arange(index.shape[a], dtype=xp.int64, device=dev) * strides[a]
            address = address + xp.reshape(coord, tuple(-1 if b == a else 1 for b in range(3)))
    if address.size == 0:  # take on an empty x refuses even an empty index
        return xp.empty(tuple(index.shape), dtype=x.dtype, device=dev)
    return xp.reshape(xp.take(xp.reshape(x, (-1,)), xp.reshape(address, (-1,))), index.shape)
