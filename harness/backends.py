"""Backends as data: how each array world is detected, fed, read back and synchronised."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Backend:
    """One array world. ``probe`` returns None when usable, else the reason it is not."""

    name: str
    description: str
    probe: Callable[[], str | None]
    from_numpy: Callable[[Any], Any]
    to_numpy: Callable[[Any], Any]
    synchronize: Callable[[], None]
    typed: bool = True  # False when outputs carry no dtype (plain Python numbers)
    device: str = "cpu"  # where its arrays live: "cpu" or "cuda" (whose ceilings bound it)
    library: str | None = None  # the module that provides the arrays (None: plain Python)
    interpreted: bool = False  # pure-Python loops: orders of magnitude slower than the rest
    # the probe that imports nothing, where ``probe`` would (None: ``probe`` imports nothing)
    quick_probe: Callable[[], str | None] | None = None
    jit: bool = False  # compiles each new argument signature on its first call (Numba)

    def unavailable_reason(self, quick: bool = False) -> str | None:
        """Why the backend cannot be used here, or None. ``quick``: decide without importing
        its library (a listing); where that cannot rule it out, it is predicted usable."""
        if quick and self.quick_probe is not None and self.name not in _PROBES:
            return _cached_probe(f"{self.name} (quick)", self.quick_probe)
        return _cached_probe(self.name, self.probe)

    def native(self, value: Any) -> Any:
        """A NumPy input in this world; a list of arrays (parameter groups) element-wise."""
        if isinstance(value, list):
            return [self.native(v) for v in value]
        return self.from_numpy(value)

    def host(self, value: Any) -> Any:
        """An output or input back in NumPy; lists of native arrays element-wise (a plain
        Python list is already an array of the python world)."""
        if isinstance(value, tuple):
            return tuple(self.host(v) for v in value)
        if isinstance(value, list) and self.typed:
            return [self.host(v) for v in value]
        return self.to_numpy(value)


_PROBES: dict[str, str | None] = {}


def _cached_probe(name: str, probe: Callable[[], str | None]) -> str | None:
    if name not in _PROBES:
        try:
            _PROBES[name] = probe()
        except Exception as exc:  # a probe must never crash the listing
            _PROBES[name] = f"{name}: probe failed: {exc}"
    return _PROBES[name]


def _installed(*modules: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        for module in modules:
            if importlib.util.find_spec(module) is None:
                return f"{module} not installed"
        return None

    return probe


def _nothing() -> None:
    return None


# ---- python: plain lists and floats, converted outside the timed region ----------------


def _np() -> Any:
    return importlib.import_module("numpy")


def _to_python(value: Any) -> Any:
    np = _np()
    if isinstance(value, list):
        return [_to_python(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _python_to_numpy(value: Any) -> Any:
    np = _np()
    if isinstance(value, tuple):
        return tuple(_python_to_numpy(v) for v in value)
    try:
        return np.asarray(value)
    except ValueError:  # ragged: a list of parameter arrays of different shapes
        return [_python_to_numpy(v) for v in value]


# ---- numpy ----------------------------------------------------------------------------


def _scipy_sparse(value: Any) -> bool:
    """A scipy.sparse matrix or array (scipy is imported already wherever one exists)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(value))


def _numpy_copy(value: Any) -> Any:
    np = _np()
    return value.copy() if isinstance(value, np.ndarray) or _scipy_sparse(value) else value


def _numpy_out(value: Any) -> Any:
    np = _np()
    if isinstance(value, tuple):
        return tuple(_numpy_out(v) for v in value)
    return np.asarray(value)


# ---- torch ----------------------------------------------------------------------------


def _cuda_ruled_out() -> str | None:
    """Why no CUDA device can be here, where that is certain without importing anything:
    macOS, or Linux with no NVIDIA (or WSL GPU) device node. None: there may be one."""
    if sys.platform == "darwin":
        return "no CUDA device"
    nodes = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg")
    if sys.platform.startswith("linux") and not any(os.path.exists(p) for p in nodes):
        return "no CUDA device"
    return None


def _torch_without_cuda() -> bool:
    """Whether the installed torch is a CPU-only build, read from its version file."""
    spec = importlib.util.find_spec("torch")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            text = Path(folder, "version.py").read_text(encoding="utf-8")
        except OSError:
            continue
        found = re.search(r"^cuda\b[^=\n]*=\s*(\S+)", text, re.MULTILINE)
        return found is not None and found.group(1) == "None"
    return False


def _torch_probe(device: str, quick: bool = False) -> Callable[[], str | None]:
    def probe() -> str | None:
        if importlib.util.find_spec("torch") is None:
            return "torch not installed"
        if device == "cuda":
            reason = _cuda_ruled_out()
            if reason:
                return reason
            if _torch_without_cuda():
                return "no CUDA device (this torch is a CPU-only build)"
            if quick:
                return None
            torch = importlib.import_module("torch")
            if not torch.cuda.is_available():
                return "no CUDA device"
        return None

    return probe


def _torch_from_numpy(device: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        np = _np()
        if isinstance(value, np.ndarray):
            torch = importlib.import_module("torch")
            return torch.from_numpy(np.array(value, copy=True)).to(device)
        if _scipy_sparse(value):  # an uncoalesced COO tensor: repeated entries and stored
            torch = importlib.import_module("torch")  # zeros kept as they are
            coo = value.tocoo(copy=True)
            ids = np.stack([coo.row, coo.col]).astype(np.int64)
            return torch.sparse_coo_tensor(
                torch.from_numpy(ids), torch.from_numpy(np.array(coo.data, copy=True)),
                coo.shape, check_invariants=False,
            ).to(device)  # fmt: skip
        return value

    return convert


def _torch_to_numpy(value: Any) -> Any:
    np = _np()
    if isinstance(value, tuple):
        return tuple(_torch_to_numpy(v) for v in value)
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _torch_cuda_sync() -> None:
    importlib.import_module("torch").cuda.synchronize()


# ---- cupy -----------------------------------------------------------------------------


def _cupy_probe(quick: bool = False) -> Callable[[], str | None]:
    def probe() -> str | None:
        cuda = _cuda_ruled_out()
        if importlib.util.find_spec("cupy") is None:
            return cuda or "cupy not installed"
        if cuda or quick:
            return cuda
        cupy = importlib.import_module("cupy")
        try:
            if cupy.cuda.runtime.getDeviceCount() < 1:
                return "no CUDA device"
        except Exception:
            return "no CUDA device"
        return None

    return probe


def _cupy_from_numpy(value: Any) -> Any:
    np = _np()
    if isinstance(value, np.ndarray):
        return importlib.import_module("cupy").asarray(value)
    if _scipy_sparse(value):  # cupyx's CSR, repeated entries and stored zeros kept
        csr = value.tocsr(copy=True)
        return importlib.import_module("cupyx.scipy.sparse").csr_matrix(csr)
    return value


def _cupy_to_numpy(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_cupy_to_numpy(v) for v in value)
    cupy = importlib.import_module("cupy")
    return cupy.asnumpy(value) if isinstance(value, cupy.ndarray) else _np().asarray(value)


def _cupy_sync() -> None:
    importlib.import_module("cupy").cuda.Device().synchronize()


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend(
            "python",
            "plain Python lists and loops",
            _nothing,
            _to_python,
            _python_to_numpy,
            _nothing,
            typed=False,
            interpreted=True,
        ),
        Backend(
            "numpy",
            "NumPy arrays",
            _installed("numpy"),
            _numpy_copy,
            _numpy_out,
            _nothing,
            library="numpy",
        ),
        Backend(
            "numba",
            "NumPy arrays into Numba-compiled kernels",
            _installed("numba"),
            _numpy_copy,
            _numpy_out,
            _nothing,
            library="numba",
            jit=True,
        ),
        Backend(
            "torch_cpu",
            "torch tensors on the CPU",
            _torch_probe("cpu"),
            _torch_from_numpy("cpu"),
            _torch_to_numpy,
            _nothing,
            library="torch",
        ),
        Backend(
            "torch_cuda",
            "torch tensors on a CUDA device",
            _torch_probe("cuda"),
            _torch_from_numpy("cuda"),
            _torch_to_numpy,
            _torch_cuda_sync,
            device="cuda",
            library="torch",
            quick_probe=_torch_probe("cuda", quick=True),
        ),
        Backend(
            "cupy",
            "CuPy arrays on a CUDA device",
            _cupy_probe(),
            _cupy_from_numpy,
            _cupy_to_numpy,
            _cupy_sync,
            device="cuda",
            library="cupy",
            quick_probe=_cupy_probe(quick=True),
        ),
    )
}

#: ``library`` is a reporting token, not an array world: a library reference names the
#: array backend it consumes (``arrays=``) and is converted and synchronised through it.
BACKEND_TOKENS: tuple[str, ...] = (*BACKENDS, "library")
#: The reference array world (plain NumPy): first choice where one typical backend is wanted.
DEFAULT_BACKEND = "numpy"


def device_of(token: str) -> str:
    """The device whose ceilings bound an implementation fed by this array backend
    ("cpu" for a token that is not an array world, such as ``library``)."""
    backend = BACKENDS.get(token)
    return backend.device if backend is not None else "cpu"


def is_interpreted(token: str) -> bool:
    """Whether the backend runs pure-Python loops (False for ``library``)."""
    backend = BACKENDS.get(token)
    return backend is not None and backend.interpreted


def libraries(device: str | None = None) -> tuple[str, ...]:
    """The modules that provide the backends' arrays (on ``device``), once each, in order."""
    found = [b.library for b in BACKENDS.values() if device in (None, b.device)]
    return tuple(dict.fromkeys(name for name in found if name is not None))


@functools.cache
def module_reason(module: str) -> str | None:
    """Why an optional library cannot be used here, or None (imports nothing)."""
    return None if importlib.util.find_spec(module) is not None else f"{module} not installed"


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        known = ", ".join(BACKENDS)
        raise ValueError(f"unknown array backend {name!r} (known: {known})") from None


def shares_memory(a: Any, b: Any) -> bool:
    """Whether two native values share memory, decided by their types (no backend names).

    NumPy: overlapping buffers; torch: the same storage; CuPy: the same allocation;
    plain Python: the same list object (or a nested one).
    """
    np = _np()
    if _torch_sparse(a) or _torch_sparse(b):  # no storage to ask; outputs are dense
        return False
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if not np.may_share_memory(a, b):
            return False
        try:
            return bool(np.shares_memory(a, b, max_work=10_000))
        except np.exceptions.TooHardError:
            return True
    if hasattr(a, "untyped_storage") and hasattr(b, "untyped_storage"):
        sa, sb = a.untyped_storage(), b.untyped_storage()
        return bool(sa.nbytes() and sb.nbytes() and sa.data_ptr() == sb.data_ptr())
    mem_a, mem_b = (
        getattr(getattr(a, "data", None), "mem", None),
        getattr(getattr(b, "data", None), "mem", None),
    )
    if mem_a is not None and mem_b is not None:
        return bool(mem_a.ptr == mem_b.ptr and mem_a.size and mem_b.size)
    if isinstance(a, list) and isinstance(b, list) and not _holds_arrays(a, b):
        return not _list_ids(a).isdisjoint(_list_ids(b))
    if isinstance(a, list) and isinstance(b, list):
        lists = _lists_share_memory(a, b)
        if lists is not None:
            return lists
    if isinstance(a, list):
        return any(shares_memory(x, b) for x in a)
    if isinstance(b, list):
        return any(shares_memory(a, y) for y in b)
    return False


def _torch_sparse(value: Any) -> bool:
    return str(getattr(value, "layout", "")).startswith("torch.sparse")


def _lists_share_memory(a: list[Any], b: list[Any]) -> bool | None:
    """``any(shares_memory(x, y))`` over two flat lists of NumPy arrays (or of torch
    tensors; None entries share nothing), without comparing every pair: a parameter group
    of hundreds of tensors would otherwise cost ~1e5 comparisons per pair of lists. Only
    pairs that may overlap (NumPy: intersecting byte bounds; torch: the same storage) are
    compared. None for any other mix of values: the caller compares pair by pair."""
    np = _np()
    xs, ys = [x for x in a if x is not None], [y for y in b if y is not None]
    if not xs or not ys:
        return None
    if all(isinstance(v, np.ndarray) for v in (*xs, *ys)):
        bounds = getattr(np.lib, "array_utils", np).byte_bounds  # NumPy 2 | 1.26
        # sweep over [low, high] intervals (closed: conservative for empty arrays)
        events = sorted(
            ((*bounds(v), side, k) for side, vs in enumerate((xs, ys)) for k, v in enumerate(vs)),
            key=lambda e: e[0],
        )
        active: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        for low, high, side, k in events:
            for act in active:
                act[:] = [(h, j) for h, j in act if h >= low]
            for _, j in active[1 - side]:
                x, y = (xs[k], ys[j]) if side == 0 else (xs[j], ys[k])
                if shares_memory(x, y):
                    return True
            active[side].append((high, k))
        return False
    if all(hasattr(v, "untyped_storage") for v in (*xs, *ys)):
        by_ptr: dict[int, list[Any]] = {}
        for x in xs:
            by_ptr.setdefault(x.untyped_storage().data_ptr(), []).append(x)
        return any(
            shares_memory(x, y) for y in ys for x in by_ptr.get(y.untyped_storage().data_ptr(), [])
        )
    return None


def _holds_arrays(*lists: list[Any]) -> bool:
    """Lists of native arrays (parameter groups), as opposed to plain Python nested lists."""
    return any(x is not None and hasattr(x, "shape") for lst in lists for x in lst)


def _list_ids(value: list[Any]) -> set[int]:
    """The ids of a list and of every list nested in it."""
    ids, stack = set(), [value]
    while stack:
        item = stack.pop()
        ids.add(id(item))
        stack.extend(x for x in item if isinstance(x, list))
    return ids


def seed_all(seed: int) -> None:
    """Seed every generator an implementation may draw from with its library's own RNG
    (NumPy's and Python's global ones, and torch's, CuPy's and Numba's when they are
    loaded: compiled Numba code draws from a generator of its own)."""
    import contextlib
    import random
    import sys

    random.seed(seed)
    _np().random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "cupy" in sys.modules:
        with contextlib.suppress(Exception):  # no device: nothing of CuPy's runs anyway
            sys.modules["cupy"].random.seed(seed)
    if "numba" in sys.modules:
        _numba_seeder()(seed % 2**32)


@functools.cache
def _numba_seeder() -> Callable[[int], None]:
    """np.random.seed compiled once: the only way to reach Numba's own generator."""
    import numba

    np = _np()

    @numba.njit(cache=False)
    def seed(value: int) -> None:
        np.random.seed(value)

    return seed
