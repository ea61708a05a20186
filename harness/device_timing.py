"""Timing on a device: clocks that read the GPU's own events, L2 flushes, and a bench runner.

pytest-benchmark times with a host clock; for a CUDA cell that clock sees the launch, the
wait and the host round trip. Here every round is bracketed by two events recorded on the
current stream (``torch.cuda.Event`` or ``cupy.cuda.Event``) and read after the end event
has completed, so a sample is the device's time between the two (the call, its kernels and
any gap the host left between them). Cells on CPU arrays get a plain ``perf_counter``
clock. The same ``Clock`` interface serves all three, so the round logic is tested with
fakes on machines without a GPU.

**L2 flush.** Between rounds, outside the timed region, a memory-bound kernel's inputs
still sit in the L2 cache from the previous round (an H100/H200 has 50-60 MiB of it) and
the kernel would report more than the HBM bandwidth. ``L2Flush`` writes a device buffer of
twice the L2 size before each round: every line of the inputs is evicted whatever the
replacement policy, at the price of one memset per round. Under ``auto`` only cells whose
cost model puts them below the device's ridge point (flops per byte under peak FLOP/s ÷
bandwidth) are flushed: compute-bound kernels are timed warm, as they run in a model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

FLUSH_MODES = ("auto", "on", "off")
#: Flops per byte below which a cell counts as memory-bound when the device's ridge point
#: was not measured: an H100's fp32 ridge is ~20, an A100's ~10; memory-bound kernels of
#: this project (IoU, element-wise updates, softmax) sit well below 5.
DEFAULT_RIDGE = 10.0
#: The L2 size assumed when the library does not report one (H100/H200 have 50-60 MiB).
DEFAULT_L2_BYTES = 64 * 2**20


class Clock(Protocol):
    """Times one round: ``start()`` just before the call, ``stop()`` returns its seconds."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> float: ...


@dataclass
class WallClock:
    """``perf_counter`` around the call; ``sync`` waits for the device first (CPU: nothing)."""

    sync: Callable[[], None] = lambda: None
    name: str = "perf_counter"
    _at: float = 0.0

    def start(self) -> None:
        self._at = time.perf_counter()

    def stop(self) -> float:
        self.sync()
        return time.perf_counter() - self._at


@dataclass
class TorchEventClock:
    """Two ``torch.cuda.Event(enable_timing=True)`` on the current stream; milliseconds in."""

    torch: Any
    name: str = "torch.cuda.Event"
    _start: Any = None

    def start(self) -> None:
        self._start = self.torch.cuda.Event(enable_timing=True)
        self._start.record()

    def stop(self) -> float:
        end = self.torch.cuda.Event(enable_timing=True)
        end.record()
        end.synchronize()  # elapsed_time needs both events completed
        return float(self._start.elapsed_time(end)) / 1e3


@dataclass
class CupyEventClock:
    """Two ``cupy.cuda.Event()`` (timing is on by default) read by ``get_elapsed_time``."""

    cupy: Any
    name: str = "cupy.cuda.Event"
    _start: Any = None

    def start(self) -> None:
        self._start = self.cupy.cuda.Event()
        self._start.record()

    def stop(self) -> float:
        end = self.cupy.cuda.Event()
        end.record()
        end.synchronize()
        return float(self.cupy.cuda.get_elapsed_time(self._start, end)) / 1e3


def clock_for(library: str | None, module: Any = None) -> Clock:
    """The clock for cells whose arrays a library provides on a device (``torch`` or
    ``cupy``; ``module`` is that library, imported by the caller); anything else on CPU."""
    if library == "torch":
        return TorchEventClock(module)
    if library == "cupy":
        return CupyEventClock(module)
    return WallClock()


@dataclass
class L2Flush:
    """Evicts the device's L2 cache: ``fill()`` writes a buffer of ``2 × l2_bytes``."""

    buffer: Any
    fill: Callable[[], None]
    nbytes: int

    def __call__(self) -> None:
        self.fill()


def l2_bytes(library: str, module: Any) -> int:
    """The L2 size the library reports for the current device (a default when it cannot)."""
    try:
        if library == "torch":
            props = module.cuda.get_device_properties(module.cuda.current_device())
            size = int(getattr(props, "L2_cache_size", 0))
        else:
            device = module.cuda.Device().id
            size = int(module.cuda.runtime.getDeviceProperties(device).get("l2CacheSize", 0))
    except Exception:
        size = 0
    return size if size > 0 else DEFAULT_L2_BYTES


def make_flush(library: str, module: Any) -> L2Flush:
    """A flush for the current device of ``torch`` or ``cupy``, buffer allocated once."""
    nbytes = 2 * l2_bytes(library, module)
    if library == "torch":
        buf = module.empty(nbytes, dtype=module.uint8, device="cuda")

        def fill() -> None:
            buf.zero_()
            module.cuda.synchronize()

    else:
        buf = module.empty(nbytes, dtype=module.uint8)

        def fill() -> None:
            buf.fill(0)
            module.cuda.Device().synchronize()

    return L2Flush(buf, fill, nbytes)


def memory_bound(flops: float, nbytes: float, ridge: float | None) -> bool:
    """Whether the cost model puts a cell below the ridge point (flops per byte)."""
    if nbytes <= 0:
        return False
    return flops / nbytes < (ridge if ridge and math.isfinite(ridge) else DEFAULT_RIDGE)


def ridge_point(cuda_ceilings: dict[str, Any] | None) -> float | None:
    """Peak float32 FLOP/s ÷ bandwidth from a measured ``ceilings["cuda"]`` record."""
    if not cuda_ceilings or cuda_ceilings.get("unavailable"):
        return None
    gflops = (cuda_ceilings.get("matmul_gflops") or {}).get("float32")
    gbps = cuda_ceilings.get("memory_gbps")
    if not gflops or not gbps:
        return None
    return float(gflops) / float(gbps)


def wants_flush(mode: str, device: str, flops: float, nbytes: float, ridge: float | None) -> bool:
    """The flush decision of one cell: never on the CPU; ``auto`` flushes memory-bound cells."""
    if mode not in FLUSH_MODES:
        raise ValueError(f"unknown L2 flush mode {mode!r} (known: {', '.join(FLUSH_MODES)})")
    if device != "cuda" or mode == "off":
        return False
    return mode == "on" or memory_bound(flops, nbytes, ridge)


@dataclass
class RoundPlan:
    """How many rounds to take: warm-up calls (untimed, after the verified first call),
    at least ``min_rounds``, then more until ``max_time`` seconds of samples or
    ``max_rounds``. Whatever the minimum, no call starts once the cell has spent
    ``cell_budget`` seconds (warm-up and rounds, setup and flushes included) or past
    ``deadline`` (``time.monotonic()``), except the first round: a slow CPU reference then
    gets one sample instead of the minimum, and the record says it was cut short."""

    warmup: int = 2
    min_rounds: int = 5
    max_rounds: int = 200
    max_time: float = 0.5
    cell_budget: float = 10.0
    deadline: float = math.inf
    now: Callable[[], float] = time.monotonic


@dataclass
class Rounds:
    """What a timing loop produced: one sample per round, in seconds."""

    samples: list[float] = field(default_factory=list)
    flushed: bool = False
    clock: str = ""
    cut_short: bool = False  # stopped by the deadline before min_rounds


def time_rounds(
    target: Callable[[], Any],
    clock: Clock,
    plan: RoundPlan,
    setup: Callable[[], None] | None = None,
    flush: Callable[[], None] | None = None,
) -> Rounds:
    """Warm up, then time rounds of one call each: ``setup`` (a stateful cell's reset) and
    ``flush`` run before every round, outside the clock."""
    begin = plan.now()
    stop = min(plan.deadline, begin + plan.cell_budget)
    for _ in range(plan.warmup):
        if plan.now() >= stop:
            break
        if setup is not None:
            setup()
        target()
    out = Rounds(flushed=flush is not None, clock=clock.name)
    while len(out.samples) < plan.max_rounds:
        enough = len(out.samples) >= plan.min_rounds and sum(out.samples) >= plan.max_time
        if enough or (out.samples and plan.now() >= stop):
            break
        if setup is not None:
            setup()
        if flush is not None:
            flush()
        clock.start()
        target()
        out.samples.append(clock.stop())
    out.cut_short = len(out.samples) < plan.min_rounds
    return out


#: harness.bench.Runner's shape: (target, setup, first-call seconds) -> (samples, iterations)
Runner = Callable[[Callable[[], Any], Callable[[], None] | None, float | None], Any]


def device_runner(
    clock: Clock, plan: RoundPlan, flush: Callable[[], None] | None, sink: list[Rounds]
) -> Runner:
    """A ``harness.bench.measure`` runner that times with ``clock``; each call's ``Rounds``
    is appended to ``sink`` (the caller reads the flush and clock used from there)."""

    def run(
        target: Callable[[], Any], setup: Callable[[], None] | None, first: float | None
    ) -> tuple[list[float], int]:
        rounds = time_rounds(target, clock, plan, setup, flush)
        sink.append(rounds)
        return rounds.samples, 1

    return run


def tf32_state(torch: Any) -> dict[str, Any]:
    """torch's TF32 switches as they stand (they decide what a float32 matmul/conv runs on)."""
    reads: dict[str, Callable[[], Any]] = {
        "cuda.matmul.allow_tf32": lambda: torch.backends.cuda.matmul.allow_tf32,
        "cudnn.allow_tf32": lambda: torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": lambda: torch.get_float32_matmul_precision(),
    }
    state: dict[str, Any] = {}
    for key, read in reads.items():
        try:
            value = read()
        except Exception as exc:  # an older or stripped-down torch
            value = f"unreadable: {type(exc).__name__}"
        state[key] = value if isinstance(value, bool | str) else str(value)
    return state
