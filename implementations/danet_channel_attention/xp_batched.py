"""danet_channel_attention through the array API: two batched GEMMs around a C x C softmax.

One code for NumPy, torch (CPU and CUDA) and CuPy via array-api-compat. softmax(rowmax(E) - E)
is computed as its equal softmax(-E), max-subtracted: exp(rowmin(E) - E), in place on the
energy. The division by the row sums goes where it is cheaper: on the C x C weights (C²
divisions) or on the (C, N) product (C·N). Everything stays in the input dtype.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.danet_channel_attention import ARGS


@implementation("danet_channel_attention", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "batched")
def channel_attention(x: Any, gamma: Any) -> Any:
    """E = A·Aᵀ (batched), exp(rowmin(E) - E) in place, (weights·A) / row sums, gamma·it + A."""
    ARGS.check(x, gamma)
    xp = array_namespace(x)
    b, c, h, w = x.shape
    if b * c * h * w == 0:
        return xp.zeros_like(x)
    a = xp.reshape(x, (b, c, h * w))
    energy = xp.matmul(a, xp.matrix_transpose(a))  # (B, C, C)
    energy -= xp.min(energy, axis=-1, keepdims=True)
    energy = -energy  # rowmin(E) - E <= 0: the max-subtracted logits of softmax(-E)
    xp.exp(energy, out=energy)  # numpy, torch and cupy all take out= (beyond the standard)
    sums = xp.sum(energy, axis=-1, keepdims=True)
    if c <= h * w:
        energy /= sums
        out = xp.matmul(energy, a)
    else:
        out = xp.matmul(energy, a)
        out /= sums
    out *= float(gamma)
    out += a
    return xp.reshape(out, (b, c, h, w))
