"""Suite for polygon_iou: IoU of paired simple polygons, (P, K, 2) with (P, L, 2) -> (P,)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class PolygonIouOptions(Options):
    kind: str = option(
        "simple",
        "convex",
        meaning="any simple polygon, or convex ones only (non-convex input then raises "
        "ValueError): the batched fixed-size kernels clip convex polygons only",
    )


def _proper_crossings(xp: Any, x: Any) -> Any:
    """(P, pairs): edges i < j (not neighbours) cross at a point inside both. Touching at
    a vertex, duplicated vertices and a closing vertex equal to the first do not count."""
    k = x.shape[1]
    pairs = [(i, j) for i in range(k) for j in range(i + 2, k) if (i, j) != (0, k - 1)]
    if not pairs:  # triangles: no two edges apart
        return xp.zeros(x.shape[:1], dtype=xp.bool)
    dev = getattr(x, "device", None)
    ii = xp.asarray([i for i, _ in pairs], device=dev)
    jj = xp.asarray([j for _, j in pairs], device=dev)
    vx, vy = x[..., 0], x[..., 1]
    wx, wy = xp.roll(vx, -1, axis=1), xp.roll(vy, -1, axis=1)
    ax, ay, bx, by = (xp.take(v, ii, axis=1) for v in (vx, vy, wx, wy))
    cx, cy, dx, dy = (xp.take(v, jj, axis=1) for v in (vx, vy, wx, wy))

    def orient(px: Any, py: Any, qx: Any, qy: Any, rx: Any, ry: Any) -> Any:
        return (qx - px) * (ry - py) - (qy - py) * (rx - px)

    d1, d2 = orient(ax, ay, bx, by, cx, cy), orient(ax, ay, bx, by, dx, dy)
    d3, d4 = orient(cx, cy, dx, dy, ax, ay), orient(cx, cy, dx, dy, bx, by)
    return (d1 * d2 < 0) & (d3 * d4 < 0)


def _bow_tie(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)  # polygon 0 becomes a bow tie: edges 0 and 2 cross
    out[0, :4] = out[0, :1] + np.array([[0.0, 0.0], [4.0, 4.0], [4.0, 0.0], [0.0, 4.0]])
    out[0, 4:] = out[0, 3]
    return out


def _infinite(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out[0, 0, 0] = np.inf
    return out


SIMPLE = Rule("a simple polygon (no two edges cross)", _proper_crossings, _bow_tie)
FINITE = Rule("finite coordinates", lambda xp, x: ~xp.isfinite(x), _infinite)

ARGS = Args(
    Arg("polygons_a", ("P", "K", 2), "float", rules=(FINITE, SIMPLE)),
    Arg("polygons_b", ("P", "L", 2), "float", rules=(FINITE, SIMPLE)),
    nonempty=("K", "L"),
)

#: A turn counts as straight within this fraction of |e_i| |e_i+1| (sin of the angle):
#: collinear vertices rounded to float32 turn by ~1e-7.
CONVEX_SLACK = 1e-5


def signed_area(xp: Any, x: Any) -> Any:
    """(P,) shoelace area, positive for counter-clockwise rings."""
    nxt = xp.roll(x, -1, axis=1)
    return xp.sum(x[..., 0] * nxt[..., 1] - x[..., 1] * nxt[..., 0], axis=1) / 2


def check(polygons_a: Any, polygons_b: Any, opts: PolygonIouOptions) -> Any:
    """ARGS.check, at least 3 vertices per polygon, convexity under kind='convex'; the
    result dtype. Every implementation calls this one line."""
    dtype = ARGS.check(polygons_a, polygons_b)
    from array_api_compat import array_namespace

    for name, x in (("polygons_a", polygons_a), ("polygons_b", polygons_b)):
        x = np.asarray(x) if isinstance(x, list | tuple) else x
        if len(x.shape) < 3:  # a plain empty list: no polygon to check
            continue
        if x.shape[1] < 3:
            raise ValueError(f"{name}: a polygon needs at least 3 vertices, got {x.shape[1]}")
        if opts.kind != "convex" or x.shape[0] == 0:
            continue
        xp = array_namespace(x)
        e = xp.roll(x, -1, axis=1) - x
        en = xp.roll(e, -1, axis=1)
        turn = e[..., 0] * en[..., 1] - e[..., 1] * en[..., 0]
        size = xp.sqrt(xp.sum(e * e, axis=-1) * xp.sum(en * en, axis=-1))
        sense = xp.where(signed_area(xp, x) < 0, -1.0, 1.0)[:, None]
        if bool(xp.any(turn * sense < -CONVEX_SLACK * size)):
            raise ValueError(f"{name}: kind='convex' but a polygon turns both ways")
    return dtype


def convex_overlap(p: Any, q: Any) -> Any:
    """Areas of p[t] ∩ q[t] for convex counter-clockwise polygons (T, k, 2), (T, l, 2).

    The vertices of the intersection are among: vertices of one inside the other, and
    crossings of an edge of p with an edge of q. Collect them (masked fixed slots), sort by
    angle around their mean, and take the shoelace area; repeated points add nothing."""
    tol = 1e-9
    ep, eq = np.roll(p, -1, axis=1) - p, np.roll(q, -1, axis=1) - q
    reach = np.max(np.abs(np.concatenate([p, q], axis=1)), axis=(1, 2))
    slack = (tol * reach * reach)[:, None, None]

    def inside(points: Any, poly: Any, edges: Any) -> Any:
        d = points[:, :, None, :] - poly[:, None, :, :]
        side = edges[:, None, :, 0] * d[..., 1] - edges[:, None, :, 1] * d[..., 0]
        return np.all(side >= -slack, axis=2)

    r, e = ep[:, :, None, :], eq[:, None, :, :]
    d = q[:, None, :, :] - p[:, :, None, :]
    denom = r[..., 0] * e[..., 1] - r[..., 1] * e[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (d[..., 0] * e[..., 1] - d[..., 1] * e[..., 0]) / denom
        u = (d[..., 0] * r[..., 1] - d[..., 1] * r[..., 0]) / denom
    hit = (denom != 0) & (t >= -tol) & (t <= 1 + tol) & (u >= -tol) & (u <= 1 + tol)
    cross_pts = p[:, :, None, :] + np.where(hit, t, 0.0)[..., None] * r
    n = p.shape[0]
    pts = np.concatenate([p, q, cross_pts.reshape(n, -1, 2)], axis=1)
    ok = np.concatenate([inside(p, q, eq), inside(q, p, ep), hit.reshape(n, -1)], axis=1)
    count = ok.sum(axis=1)
    centre = (pts * ok[..., None]).sum(axis=1) / np.maximum(count, 1)[:, None]
    rel = pts - centre[:, None, :]
    angle = np.where(ok, np.arctan2(rel[..., 1], rel[..., 0]), np.inf)
    order = np.argsort(angle, axis=1, kind="stable")
    rel = np.take_along_axis(rel, order[..., None], axis=1)
    ok = np.take_along_axis(ok, order, axis=1)
    rel = np.where(ok[..., None], rel, rel[:, :1, :])
    nxt = np.roll(rel, -1, axis=1)
    area = 0.5 * (rel[..., 0] * nxt[..., 1] - rel[..., 1] * nxt[..., 0]).sum(axis=1)
    return np.where(count >= 3, np.abs(area), 0.0)


def fan(x: Any) -> tuple[Any, Any]:
    """Triangles (x0, xi, xi+1), i = 1..K-2, each made counter-clockwise, and their
    orientation signs: a simple polygon's indicator is the signed sum of its fan's
    (the winding number), whatever the polygon's shape."""
    o = np.broadcast_to(x[:, :1, :], x[:, 1:-1, :].shape)
    tri = np.stack([o, x[:, 1:-1, :], x[:, 2:, :]], axis=2)  # (P, K-2, 3, 2)
    u, v = tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0]
    sign = np.sign(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    ccw = np.where((sign < 0)[..., None, None], tri[:, :, ::-1, :], tri)
    return ccw, sign


#: Triangle pairs per block of the oracle.
BLOCK = 1 << 15


def polygon_iou(polygons_a: Any, polygons_b: Any, opts: PolygonIouOptions) -> Any:
    """Oracle: float64, signed fan triangulations of both polygons; the intersection area
    is |sum over triangle pairs of s_i s_j area(T_i ∩ T_j)| (convex clipping of each pair),
    valid for any simple polygon, either orientation, open or closed rings."""
    check(polygons_a, polygons_b, opts)
    a = np.asarray(polygons_a, dtype=np.float64)
    b = np.asarray(polygons_b, dtype=np.float64)
    origin = a.mean(axis=1, keepdims=True)  # centred pairs keep their digits far out
    a, b = a - origin, b - origin
    ta, sa = fan(a)
    tb, sb = fan(b)
    p, i, j = (g.ravel() for g in np.indices((a.shape[0], ta.shape[1], tb.shape[1])))
    weights = sa[p, i] * sb[p, j]
    overlap = np.zeros(p.shape)
    for s in range(0, p.size, BLOCK):
        sl = slice(s, s + BLOCK)
        overlap[sl] = convex_overlap(ta[p[sl], i[sl]], tb[p[sl], j[sl]])
    inter = np.abs(np.bincount(p, weights * overlap, minlength=a.shape[0]))
    union = np.abs(signed_area(np, a)) + np.abs(signed_area(np, b)) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union == 0, 0.0, inter / union)


def _angles(rng: np.random.Generator, p: int, k: int) -> np.ndarray:
    """(p, k) increasing angles, one in each k-th of the turn (never closer than a tenth of
    it, never a gap of half a turn): rings around the centre stay simple."""
    return (np.arange(k) + rng.uniform(0.05, 0.95, size=(p, k))) * (2 * math.pi / k)


def _ellipse(rng: np.random.Generator, p: int, k: int) -> np.ndarray:
    """(p, k, 2) convex polygons: k points of an ellipse at increasing angles, rotated."""
    ang = _angles(rng, p, k)
    axes = rng.uniform(3.0, 12.0, size=(p, 1, 2))
    pts = np.stack([np.cos(ang), np.sin(ang)], axis=-1) * axes
    turn = rng.uniform(0.0, math.pi, size=(p, 1))
    c, s = np.cos(turn)[..., None], np.sin(turn)[..., None]
    x, y = pts[..., :1], pts[..., 1:]
    pts = np.concatenate([c * x - s * y, s * x + c * y], axis=-1)
    return pts + rng.uniform(0.0, 16.0, size=(p, 1, 2))


def _star(rng: np.random.Generator, p: int, k: int) -> np.ndarray:
    """(p, k, 2) simple, mostly non-convex polygons, star-shaped about their centre."""
    ang = _angles(rng, p, k)
    radius = rng.uniform(2.0, 12.0, size=(p, k))
    pts = np.stack([np.cos(ang), np.sin(ang)], axis=-1) * radius[..., None]
    return pts + rng.uniform(0.0, 16.0, size=(p, 1, 2))


def make_inputs(case: Case) -> Inputs:
    par = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    p, k, m = int(par.get("p", 0)), int(par.get("k", 4)), int(par.get("m", 4))
    pattern = par.get("pattern", "random")
    convex = PolygonIouOptions.build(case.options).kind == "convex"
    make = _ellipse if (convex or pattern == "convex") and pattern != "star" else _star
    a, b = make(rng, p, k), make(rng, p, m)
    if pattern == "cw_and_closed":  # a clockwise; b closed (last vertex repeats the first)
        a = a[:, ::-1]
        b[:, -1] = b[:, 0]
    elif pattern == "collinear_duplicated":  # midpoints on edges, repeated vertices
        a[:, 1] = (a[:, 0] + a[:, 2]) / 2
        b[:, 2] = b[:, 1]
    elif pattern == "zero_area":  # every vertex on one horizontal line, back and forth
        a[:, :, 1] = a[:, :1, 1]
    elif pattern == "identical" and k == m:
        b = a.copy()
    elif pattern == "nested":  # b is a shrunk copy of a about a's vertex mean
        centre = a.mean(axis=1, keepdims=True)
        b = centre + 0.5 * (a - centre) if k == m else b
    elif pattern == "touching_vertex" and k >= m:  # every other b: a's mirror image in
        b[::2] = (2 * a[::2, :1] - a[::2])[:, :m]  # its first vertex, meeting it there only
    elif pattern == "far":
        a, b = a + 1e4, b + 1e4
    return {"polygons_a": a.astype(dtype), "polygons_b": b.astype(dtype)}


def cost(case: Case) -> Cost:
    """About 20 k l flops per pair (spec); inputs read once, one IoU written per pair."""
    par = case.params
    p, k, m = int(par.get("p", 0)), int(par.get("k", 4)), int(par.get("m", 4))
    b = np.dtype(case.dtype).itemsize
    return Cost(20.0 * k * m * p, 2.0 * b * (k + m) * p + b * p, p, "pairs")


CONVEX = {"kind": "convex"}

CASES = [
    case("star_f32", p=40, k=7, m=6),
    case("star_f64", p=40, k=7, m=6, dtype="float64"),
    case("convex_f32", p=40, k=6, m=5, options=CONVEX),
    case("convex_f64", p=40, k=6, m=5, dtype="float64", options=CONVEX),
    case("convex_as_simple_f64", p=40, k=8, m=5, dtype="float64", pattern="convex"),
    case("quads_f32", p=60, k=4, m=4, options=CONVEX),
    case("gon32_f64", p=12, k=32, m=32, dtype="float64", options=CONVEX),
    case("star32_f64", p=8, k=32, m=24, dtype="float64"),
    # several hundred pairs: past the first block of a blocked or threaded kernel
    case("multi_block", p=300, k=5, m=4, options=CONVEX),
    case("multi_block_star", p=300, k=6, m=5),
    edge("empty", p=0, k=5, m=7),
    edge("empty_convex", p=0, k=5, m=7, options=CONVEX),
    edge("cw_and_closed", p=30, k=6, m=7, pattern="cw_and_closed", dtype="float64"),
    edge("cw_and_closed_convex", p=30, k=6, m=7, pattern="cw_and_closed", options=CONVEX),
    edge("collinear_duplicated", p=30, k=6, m=6, pattern="collinear_duplicated", options=CONVEX),
    edge(
        "collinear_duplicated_star", p=30, k=6, m=6, pattern="collinear_duplicated", dtype="float64"
    ),
    edge("zero_area", p=20, k=5, m=4, pattern="zero_area", dtype="float64"),
    edge("identical", p=20, k=6, m=6, pattern="identical", dtype="float64", options=CONVEX),
    edge("identical_star", p=20, k=6, m=6, pattern="identical"),
    edge("nested", p=20, k=6, m=6, pattern="nested", dtype="float64", options=CONVEX),
    edge("touching_vertex", p=20, k=5, m=5, pattern="touching_vertex", options=CONVEX),
    edge("far_coordinates_f32", p=30, k=5, m=6, pattern="far", options=CONVEX),
]

ERRORS = [
    error("too_few_vertices", ValueError, "polygons_a", p=3, k=2, m=4),
    error("not_convex", ValueError, "polygons_a", p=5, k=7, m=4, pattern="star", options=CONVEX),
]

BENCH = {
    "smoke": [bench("bench_quads_1000", p=1000, k=4, m=4, options=CONVEX)],
    "quick": [bench("bench_quads_10000", p=10_000, k=4, m=4, options=CONVEX)],
    "full": [
        bench("bench_gon32_1000", p=1000, k=32, m=32, options=CONVEX),
        bench("bench_star32_1000", p=1000, k=32, m=32),
        bench("bench_quads_1000000", p=1_000_000, k=4, m=4, options=CONVEX),
    ],
}


def _float32_tolerance(case: Case) -> Tolerance | None:
    if case.dtype != "float32":
        return None
    # Clipping in float32 puts each vertex ~eps x the coordinates off, and a crossing of
    # nearly parallel edges further along its edge; the worst seen over the float32 cases
    # was ~2e-6 (about 15 eps); 2e-5 leaves a margin of ten.
    return Tolerance(2e-5, 2e-5, "float32 clipped polygon areas: ~15 eps seen, x10 margin")


def float64_polygons(inputs: Inputs) -> bool:
    """Float64 inputs: a fixed-point clipper (pyclipper's 1e-6 grid) is ~1e-7 off there,
    past the float64 tolerance (its documented divergence); a fuzz case of float64
    polygons is the same situation."""
    return bool(np.asarray(inputs["polygons_a"]).dtype == np.float64)


def _fuzz_case(p: int, k: int, m: int, seed: int, dtype: str, pattern: str, kind: str) -> Case:
    params = dict(p=p, k=k, m=m, seed=seed, dtype=dtype, pattern=pattern)
    return Case("fuzz", params, {"kind": kind}, "fuzz")


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        _fuzz_case,
        st.integers(0, 20),
        st.integers(3, 9),
        st.integers(3, 9),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(
            [
                "random",
                "cw_and_closed",
                "collinear_duplicated",
                "identical",
                "nested",
                "touching_vertex",
                "far",
            ]
        ),
        st.sampled_from(["simple", "convex"]),
    )


SUITE = Suite(
    algorithm="polygon_iou",
    family="detection-geometry",
    summary="IoU of polygon i of polygons_a (P, K, 2) with polygon i of polygons_b (P, L, 2) "
    "-> (P,).",
    conventions=(
        "Each polygon is a ring of K (or L) >= 3 vertices, clockwise or counter-clockwise "
        "(areas are absolute), open or closed (a last vertex equal to the first is a "
        "repeated vertex); collinear and repeated vertices are allowed. IoU = |A n B| / "
        "(|A| + |B| - |A n B|); a zero union gives 0. kind='simple' (default) takes any "
        "simple polygon; kind='convex' takes convex ones only. Output dtype equals the input "
        "dtype. Must raise ValueError: two edges that cross (self-intersection; touching at a "
        "vertex is allowed), fewer than 3 vertices, a NaN or infinite coordinate, a polygon "
        "that turns both ways under kind='convex', a shape other than (P, K, 2), and "
        "different P; TypeError for a non-float dtype."
    ),
    args=ARGS,
    options=PolygonIouOptions,
    make_inputs=make_inputs,
    oracle=polygon_iou,
    compare=Close(reduction=lambda case: 16, override=_float32_tolerance),
    cost=cost,
    defaults={"seed": 5, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_quads_10000",
    multi_block={"P": 300},
    backends=("python", "numpy", "numba", "torch_cpu", "torch_cuda", "library"),
    fuzz=fuzz_strategy,
    divergent_inputs={"star_f64": float64_polygons},
    reference="shapely (GEOS) polygon intersection; pyclipper (1e-6 fixed point)",
)
