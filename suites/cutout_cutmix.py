"""Suite for cutout_cutmix: CutOut (zero a square per image) and CutMix (paste a box from a
permuted batch, mix the labels by the pasted area), every random draw injected."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Outputs, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class CutOptions(Options):
    op: str = option(
        "cutmix",
        "cutout",
        meaning="cutmix: paste box i from image perm[i] and mix the labels; cutout: zero a "
        "length x length square in each image, labels unchanged (perm and lam are not read)",
    )
    box_side: str = option(
        "even",
        "exact",
        meaning="rows [c − s//2, c + s//2) (the official CutOut and CutMix code, timm, "
        "torchvision v2: side 2·(s//2), odd sides lose one) or [c − s//2, c − s//2 + s) (side s "
        "exactly); then clipped to the image",
    )
    correct_lam: bool = option(
        True,
        False,
        meaning="cutmix: λ recomputed after clipping as 1 − pasted area/(H·W) (the reference "
        "code, timm's correct_lam=True) or the drawn λ kept (timm correct_lam=False)",
    )


def _out_of_unit(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = 1.5
    return out


IN_UNIT = Rule("0 <= lam <= 1", lambda xp, x: ~((x >= 0) & (x <= 1)), _out_of_unit)

ARGS = Args(
    Arg("images", ("N", "C", "H", "W"), "real"),
    Arg("labels", ("N", "K"), "float"),
    Arg("perm", ("N",), "int"),
    Arg("lam", ("N",), "float", rules=(IN_UNIT,)),
    Arg("centres", ("N", 2), "int"),
    Scalar("length", "int", low=0),
    nonempty=("H", "W"),  # lambda's area ratio needs pixels
)


def check_cut(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int
) -> tuple[Any, Any]:
    """ARGS.check plus the permutation rule; returns the output dtypes (images', labels')."""
    ARGS.check(images, labels, perm, lam, centres, length)
    from array_api_compat import array_namespace, device

    xp = array_namespace(perm)
    n = perm.shape[0]
    if n and bool(xp.any(xp.sort(perm) != xp.arange(n, dtype=perm.dtype, device=device(perm)))):
        raise ValueError(f"perm is not a permutation of 0..{n - 1}")
    return images.dtype, labels.dtype


def box_sides(lam: float, h: int, w: int, length: int, opts: CutOptions) -> tuple[int, int]:
    """(s_h, s_w): length for cutout; int(H·sqrt(1 − λ)), int(W·sqrt(1 − λ)) in float64 for
    cutmix (int truncates, as the reference code)."""
    if opts.op == "cutout":
        return length, length
    ratio = math.sqrt(1.0 - float(lam))
    return int(h * ratio), int(w * ratio)


def box_span(centre: int, side: int, size: int, opts: CutOptions) -> tuple[int, int]:
    """[lo, hi) along one axis: c − s//2 to c + s//2 (even) or to c − s//2 + s, clipped."""
    lo = centre - side // 2
    hi = centre + side // 2 if opts.box_side == "even" else lo + side
    return min(max(lo, 0), size), min(max(hi, 0), size)


def cutout_cutmix(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> tuple[Any, Any]:
    """Oracle: per image, one box from its centre and side, assigned (a NaN or inf inside a
    CutOut hole becomes 0); CutMix mixes the labels by λ (float64) and casts to their dtype."""
    img_dtype, lab_dtype = check_cut(images, labels, perm, lam, centres, length)
    x, y = np.asarray(images), np.asarray(labels, dtype=np.float64)
    n, _, h, w = x.shape
    out, mixed = x.copy(), y.copy()
    for i in range(n):
        sh, sw = box_sides(lam[i], h, w, length, opts)
        y1, y2 = box_span(int(centres[i, 0]), sh, h, opts)
        x1, x2 = box_span(int(centres[i, 1]), sw, w, opts)
        if opts.op == "cutout":
            out[i, :, y1:y2, x1:x2] = 0
            continue
        out[i, :, y1:y2, x1:x2] = x[int(perm[i]), :, y1:y2, x1:x2]
        kept = 1.0 - (y2 - y1) * (x2 - x1) / (h * w) if opts.correct_lam else float(lam[i])
        mixed[i] = kept * y[i] + (1.0 - kept) * y[int(perm[i])]
    return out.astype(img_dtype), mixed.astype(lab_dtype)


def _near_integer_side(rng: Any, n: int, w: int) -> np.ndarray:
    """float32 λ whose W·sqrt(1 − λ) sits just below an integer in float64 but rounds up to
    it in float32: the side's truncation then depends on the precision it is formed in."""
    out: np.ndarray = rng.uniform(0.2, 0.8, n).astype(np.float32)
    for i in range(n):
        k = int(rng.integers(w // 4, 3 * w // 4))
        lam = np.float32(1.0 - (k / w) ** 2)
        for _ in range(200):  # walk ulp by ulp from the exact value
            exact = w * math.sqrt(1.0 - float(lam))
            single = np.float32(w) * np.sqrt(np.float32(1.0) - lam)
            if int(exact) == k - 1 and int(single) == k:
                out[i] = lam
                break
            lam = np.nextafter(lam, np.float32(1.0))
    return out


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, c, h, w, k = (int(p[key]) for key in ("N", "C", "H", "W", "K"))
    dtype = np.dtype(case.dtype)
    label_dtype = dtype if dtype.kind == "f" else np.dtype(np.float32)
    if dtype.kind in "iu":
        images = rng.integers(0, 256, size=(n, c, h, w)).astype(dtype)
    else:
        images = rng.standard_normal((n, c, h, w)).astype(dtype)
    if p.get("pattern") == "nonfinite" and images.size:
        images[0, 0] = np.nan  # whole planes: every hole and box meets them
        images[-1, -1] = np.inf
    labels = np.eye(max(k, 1))[rng.integers(0, max(k, 1), n)][:, :k]  # one-hot
    if p.get("soft_labels"):
        labels = rng.dirichlet(np.ones(max(k, 1)), n)[:, :k]
    perm = rng.permutation(n)
    if p.get("perm") == "broken" and n > 1:
        perm[0] = perm[1]
    lam = rng.beta(float(p.get("alpha", 1.0)), float(p.get("alpha", 1.0)), n)
    if "lam" in p:
        lam = np.full(n, float(p["lam"]))
    margin = int(p.get("margin", 0))  # centres up to this far outside the image
    centres = np.stack(
        [rng.integers(-margin, h + margin, n), rng.integers(-margin, w + margin, n)], axis=1
    )
    if p.get("batch_box"):  # the reference code: one λ and one box for the whole batch
        lam[:], centres[:] = lam[0], centres[0]
    lam = lam.astype(label_dtype)
    if p.get("pattern") == "side_threshold":
        lam = _near_integer_side(rng, n, w).astype(label_dtype)
    return {
        "images": images,
        "labels": labels.astype(label_dtype),
        "perm": perm,
        "lam": lam,
        "centres": centres,
        "length": int(p.get("length", 0)),
    }


def cost(case: Case) -> Cost:
    """Out of place: every image read and written once (2b·N·C·H·W), labels read twice and
    written (3 flops per label: λ·y_a + (1 − λ)·y_b), plus the per-image box arithmetic."""
    p = case.params
    n, c, h, w, k = (int(p[key]) for key in ("N", "C", "H", "W", "K"))
    b = np.dtype(case.dtype).itemsize
    lb = b if np.dtype(case.dtype).kind == "f" else 4
    return Cost(
        flops=3.0 * n * k + 20.0 * n,
        bytes=2.0 * b * n * c * h * w + 3.0 * lb * n * k + 8.0 * 4 * n,
        items=n,
        item_unit="images",
    )


@dataclass(frozen=True)
class _Typed(Close):
    """Close, with the output's dtype read from the case (images keep theirs; labels are
    float32 next to uint8 images)."""

    labels: bool = False

    def expected_dtype(self, case: Case) -> str | None:
        return "float32" if self.labels and "int" in case.dtype else case.dtype


def _label_tolerance(case: Case) -> Tolerance:
    dtype = case.dtype if "float" in case.dtype else "float32"
    base = default_tolerance(dtype, 2)  # λ·y_a + (1 − λ)·y_b: two terms
    return Tolerance(base.rtol, base.atol, base.reason + " (two-term label mix)")


COMPARE = Outputs(
    {
        "images": _Typed(override=lambda case: Tolerance(0.0, 0.0, "pixels are moved, exact")),
        "labels": _Typed(override=_label_tolerance, labels=True),
    }
)

F64: dict[str, Any] = {"dtype": "float64"}
CUTOUT = {"op": "cutout"}
EXACT = {"box_side": "exact"}
CASES = [
    case("cutmix_f32", margin=3),
    case("cutmix_f64", soft_labels=True, margin=3, **F64),
    case("cutmix_batch_box", batch_box=True, alpha=0.4),
    case("cutmix_exact_side_f64", options=EXACT, alpha=0.3, **F64),
    case("cutmix_drawn_lam", options={"correct_lam": False}, margin=5, soft_labels=True),
    case("cutmix_uint8", dtype="uint8", alpha=0.5, margin=2),
    # the error base: every size distinct and >= 2 (and not the literal 2 of centres)
    case("cutout_f32", N=3, C=4, H=9, W=11, K=5, length=4, margin=2, options=CUTOUT),
    case("cutout_odd_length_f64", length=5, margin=2, options=CUTOUT, **F64),
    case("cutout_odd_exact", length=5, margin=2, options={**CUTOUT, **EXACT}),
    case("cutout_uint8", dtype="uint8", length=6, options=CUTOUT),
    # wide images: past the first block of a tiled kernel
    case("multi_block", N=5, C=1, H=5, W=300, K=4, lam=0.05),
    edge("cutmix_side_threshold", pattern="side_threshold", N=6, H=40, W=224, K=3, C=1),
    edge("cutmix_lam_0", lam=0.0, margin=4),
    edge("cutmix_lam_1", lam=1.0),
    edge("cutmix_batch_of_1", N=1, C=3, H=7, W=9, K=4),
    edge("cutout_length_0", length=0, options=CUTOUT),
    edge("cutout_length_above_size", length=40, options=CUTOUT, **F64),
    edge("cutout_nonfinite_pixels", pattern="nonfinite", length=6, options=CUTOUT, **F64),
    edge("cutmix_nonfinite_pixels", pattern="nonfinite", **F64),
    # one empty symbol each; every other size nonzero, distinct and not 2
    edge("empty_batch", N=0, C=4, H=9, W=11, K=5),
    edge("empty_channels", N=3, C=0, H=9, W=11, K=5),
    edge("no_classes", N=3, C=4, H=9, W=11, K=0),
]
BASE: dict[str, Any] = {"N": 3, "C": 4, "H": 9, "W": 11, "K": 5}
ERRORS = [
    error(
        "perm_not_a_permutation", ValueError, r"perm is not a permutation", perm="broken", **BASE
    ),
    error(
        "perm_not_a_permutation_cutout",
        ValueError,
        r"perm is not a permutation",
        perm="broken",
        options=CUTOUT,
        **BASE,
    ),
]
# The spec's standard, 64x3x224x224 float32 (39 MB in, 39 MB out): a few tens of ms per
# call, within the quick profile's budget, so quick times it as it is.
BENCH = {
    "smoke": [bench("bench_small", N=8, C=3, H=32, W=32, K=10)],
    "quick": [bench("bench_spec_standard", N=64, C=3, H=224, W=224, K=1000)],
    "full": [
        bench(
            "bench_cutout_spec_standard",
            N=64,
            C=3,
            H=224,
            W=224,
            K=1000,
            length=112,
            options=CUTOUT,
        ),
        bench("bench_large", N=256, C=3, H=512, W=512, K=1000),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 5),
            "C": st.integers(1, 3),
            "H": st.integers(1, 20),
            "W": st.integers(1, 20),
            "K": st.integers(1, 6),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64", "uint8"]),
            "length": st.integers(0, 25),
            "margin": st.integers(0, 5),
            "alpha": st.sampled_from([0.2, 1.0]),
            "batch_box": st.booleans(),
        }
    )
    return fuzz_cases(params, CutOptions.strategy())


SUITE = Suite(
    algorithm="cutout_cutmix",
    family="dense-image-ops",
    summary="CutOut zeroes a length x length square at centres[i] in each image; CutMix "
    "pastes image perm[i]'s box of sides int(H·sqrt(1 − lam[i])), int(W·sqrt(1 − lam[i])) at "
    "centres[i] and mixes labels by the pasted area: images (N, C, H, W), labels (N, K), "
    "perm (N,), lam (N,), centres (N, 2) (row, col), length -> (images, labels).",
    conventions=(
        "cutout_cutmix(images, labels, perm, lam, centres, length, opts); every draw is an "
        "input (λ ~ Beta(α, α), the centres, the permutation), one per image (the reference "
        "code's single batch box is lam and centres equal across the batch); α is the "
        "sampler's parameter, not an input. Box side s: CutOut length; CutMix int(H·sqrt(1 − "
        "λ)) and int(W·sqrt(1 − λ)), evaluated in float64 and truncated (reference code). "
        "Rows [c − s//2, c + s//2) (box_side='even', the reference code) or [c − s//2, "
        "c − s//2 + s) ('exact'), then clipped to [0, H) (columns likewise); centres may lie "
        "outside the image. CutOut assigns 0 in the hole (a NaN or inf pixel there becomes "
        "0, unlike a multiplication by a 0/1 mask) and returns the labels unchanged (a new "
        "array). CutMix: out[i] in the box = images[perm[i]] (the input batch, never an "
        "already-pasted image); λ_i = 1 − clipped area/(H·W) (correct_lam) or the drawn "
        "λ_i; labels[i] = λ_i·y_i + (1 − λ_i)·y_perm[i] in float64, cast to the labels' dtype. "
        "Images keep their dtype (uint8 included) and are compared exactly; labels are "
        "float. Out of place: the inputs are never modified. Raises ValueError for perm "
        "not a permutation of 0..N − 1 (in both ops), lam outside [0, 1], length < 0, H or "
        "W = 0."
    ),
    args=ARGS,
    options=CutOptions,
    make_inputs=make_inputs,
    oracle=cutout_cutmix,
    compare=COMPARE,
    cost=cost,
    outputs=("images", "labels"),
    defaults={"seed": 9, "dtype": "float32", "N": 5, "C": 3, "H": 13, "W": 17, "K": 6},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_spec_standard",
    error_base="cutout_f32",
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy"),
    reference="the oracle with injected draws (the spec names no library; torchvision's "
    "CutMix draws from its own generator and does not install here)",
)
