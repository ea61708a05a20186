"""Tests of harness.device_timing with stand-ins for CUDA: the clocks read events the right
way round, rounds keep setup and L2 flushes outside the clock, and the runner fits
harness.bench.measure. Nothing here times anything for real."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from harness.bench import measure
from harness.device_timing import (
    DEFAULT_L2_BYTES,
    DEFAULT_RIDGE,
    CupyEventClock,
    RoundPlan,
    Rounds,
    TorchEventClock,
    WallClock,
    clock_for,
    device_runner,
    l2_bytes,
    make_flush,
    memory_bound,
    ridge_point,
    tf32_state,
    time_rounds,
    wants_flush,
)
from harness.registry import load_registry


class FakeEvent:
    """Records when it was recorded on a fake device clock, and what was asked of it."""

    def __init__(self, device: FakeDevice, **kwargs: Any) -> None:
        self.device, self.kwargs, self.at, self.synced = device, kwargs, None, False
        device.log.append("new event")

    def record(self) -> None:
        self.at = self.device.now_ms
        self.device.log.append("record")

    def synchronize(self) -> None:
        self.synced = True
        self.device.log.append("sync")

    def elapsed_time(self, end: FakeEvent) -> float:
        assert end.synced, "elapsed_time read before the end event completed"
        assert self.at is not None and end.at is not None
        return end.at - self.at


class FakeDevice:
    def __init__(self) -> None:
        self.now_ms = 0.0
        self.log: list[str] = []

    def torch(self) -> Any:
        return SimpleNamespace(cuda=SimpleNamespace(Event=lambda **kw: FakeEvent(self, **kw)))

    def cupy(self) -> Any:
        def elapsed(start: FakeEvent, end: FakeEvent) -> float:
            return start.elapsed_time(end)

        cuda = SimpleNamespace(Event=lambda **kw: FakeEvent(self, **kw), get_elapsed_time=elapsed)
        return SimpleNamespace(cuda=cuda)


@pytest.mark.parametrize("library", ["torch", "cupy"])
def test_event_clocks_read_device_milliseconds_after_the_end_event_completes(
    library: str,
) -> None:
    device = FakeDevice()
    module = device.torch() if library == "torch" else device.cupy()
    clock = clock_for(library, module)
    assert isinstance(clock, TorchEventClock if library == "torch" else CupyEventClock)
    clock.start()
    device.now_ms += 2.5  # the kernel ran 2.5 ms on the device
    assert clock.stop() == pytest.approx(2.5e-3)
    assert device.log == ["new event", "record", "new event", "record", "sync"]
    if library == "torch":
        assert clock._start.kwargs == {"enable_timing": True}


def test_the_wall_clock_waits_for_the_device_before_reading() -> None:
    order: list[str] = []
    clock = WallClock(sync=lambda: order.append("sync"))
    clock.start()
    seconds = clock.stop()
    assert order == ["sync"] and seconds >= 0
    assert isinstance(clock_for(None), WallClock)


class FakeClock:
    """A clock whose rounds last the given seconds; logs start/stop."""

    name = "fake"

    def __init__(self, durations: list[float], log: list[str]) -> None:
        self.durations, self.log = iter(durations), log

    def start(self) -> None:
        self.log.append("start")

    def stop(self) -> float:
        self.log.append("stop")
        return next(self.durations)


def test_rounds_keep_warm_up_setup_and_flush_outside_the_clock() -> None:
    log: list[str] = []
    plan = RoundPlan(warmup=2, min_rounds=3, max_time=1.0)
    rounds = time_rounds(
        lambda: log.append("call"),
        FakeClock([0.1, 0.2, 0.3, 0.4, 0.5], log),
        plan,
        setup=lambda: log.append("setup"),
        flush=lambda: log.append("flush"),
    )
    warm = ["setup", "call"] * 2
    timed = ["setup", "flush", "start", "call", "stop"]
    # 0.1 + 0.2 + 0.3 < 1.0 after the minimum 3 rounds, so a 4th: 1.0 reached, stop
    assert log == warm + timed * 4
    assert rounds.samples == [0.1, 0.2, 0.3, 0.4] and rounds.flushed and not rounds.cut_short
    assert rounds.clock == "fake"


def test_rounds_stop_at_max_rounds_and_at_the_deadline() -> None:
    many = time_rounds(lambda: None, FakeClock([1e-6] * 100, []), RoundPlan(max_rounds=7))
    assert len(many.samples) == 7
    ticks = iter([0.0, 0.0, 5.0, 11.0])  # start, warm-up, before round 2, before round 3
    late = RoundPlan(warmup=1, min_rounds=5, deadline=10.0, now=lambda: next(ticks))
    cut = time_rounds(lambda: None, FakeClock([0.5] * 5, []), late)
    # the deadline passes after two rounds: cut short of the minimum, and said so
    assert cut.samples == [0.5, 0.5] and cut.cut_short and not cut.flushed
    spent = RoundPlan(warmup=3, deadline=0.0, now=lambda: 1.0)
    assert len(time_rounds(lambda: None, FakeClock([0.5], []), spent).samples) == 1


def test_a_slow_cell_stops_at_its_own_budget() -> None:
    calls: list[int] = []
    ticks = iter([100.0, 100.0, 104.0, 108.0, 112.0])  # each call takes 4 s of wall time
    plan = RoundPlan(warmup=2, min_rounds=5, cell_budget=10.0, now=lambda: next(ticks))
    rounds = time_rounds(lambda: calls.append(1), FakeClock([4.0] * 5, []), plan)
    # warm-ups start at 100 and 104, the first round always runs, the second starts at 108;
    # at 112 the cell's 10 s are spent: 2 samples of the 5 wanted
    assert len(calls) == 4 and rounds.samples == [4.0, 4.0] and rounds.cut_short


def test_flush_decisions() -> None:
    assert not wants_flush("on", "cpu", 1.0, 1e9, None)
    assert not wants_flush("off", "cuda", 1.0, 1e9, None)
    assert wants_flush("on", "cuda", 1e12, 1.0, None)
    # auto: below the ridge point (flops per byte) is memory-bound
    assert wants_flush("auto", "cuda", 12.0 * 4e6, 3e7, ridge=20.0)
    assert not wants_flush("auto", "cuda", 2.0 * 4096**3, 3 * 4 * 4096**2, ridge=20.0)
    assert memory_bound(DEFAULT_RIDGE - 1, 1.0, None) and not memory_bound(5.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="unknown L2 flush mode 'always'"):
        wants_flush("always", "cuda", 1.0, 1.0, None)


def test_ridge_point_from_measured_ceilings() -> None:
    cuda = {"memory_gbps": 4000.0, "matmul_gflops": {"float32": 60000.0}}
    assert ridge_point(cuda) == pytest.approx(15.0)
    assert ridge_point({"unavailable": True, "note": "no device"}) is None
    assert ridge_point(None) is None


def _fake_torch(l2: int | None) -> Any:
    calls: list[str] = []

    class Buffer:
        def __init__(self, n: int) -> None:
            self.n = n

        def zero_(self) -> None:
            calls.append("zero_")

    def props(device: int) -> Any:
        if l2 is None:
            raise RuntimeError("no properties")
        return SimpleNamespace(L2_cache_size=l2)

    cuda = SimpleNamespace(
        get_device_properties=props,
        current_device=lambda: 0,
        synchronize=lambda: calls.append("synchronize"),
    )
    return SimpleNamespace(
        cuda=cuda, uint8="uint8", empty=lambda n, dtype, device: Buffer(n), calls=calls
    )


def test_the_flush_writes_twice_the_l2_and_waits() -> None:
    torch = _fake_torch(50 * 2**20)
    flush = make_flush("torch", torch)
    assert flush.nbytes == flush.buffer.n == 100 * 2**20
    flush()
    assert torch.calls == ["zero_", "synchronize"]
    assert l2_bytes("torch", _fake_torch(None)) == DEFAULT_L2_BYTES


def test_tf32_state_records_each_switch_or_why_not() -> None:
    torch = SimpleNamespace(
        backends=SimpleNamespace(
            cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False)),
            cudnn=SimpleNamespace(allow_tf32=True),
        ),
        get_float32_matmul_precision=lambda: "highest",
    )
    assert tf32_state(torch) == {
        "cuda.matmul.allow_tf32": False,
        "cudnn.allow_tf32": True,
        "float32_matmul_precision": "highest",
    }
    assert tf32_state(SimpleNamespace())["cudnn.allow_tf32"] == "unreadable: AttributeError"


def test_the_runner_feeds_harness_bench_measure() -> None:
    registry = load_registry()
    suite = registry.suite("box_iou_axis_aligned")
    impl = registry.implementations["box_iou_axis_aligned/numpy/xp"]
    case = suite.cases_for_profile("smoke")[0]
    sink: list[Rounds] = []
    plan = RoundPlan(warmup=1, min_rounds=3, max_time=0.0)
    clock = FakeClock([0.25, 0.5, 0.75], [])
    verdict, record = measure(suite, impl, case, device_runner(clock, plan, None, sink))
    assert verdict.status == "pass"
    assert record.samples == (0.25, 0.5, 0.75) and record.iterations == 1
    assert record.median_s == 0.5 and record.rounds == 3
    assert record.gbps == pytest.approx(record.bytes / 0.5 / 1e9)
    assert len(sink) == 1 and sink[0].samples == [0.25, 0.5, 0.75]
    assert np.isfinite(record.first_call_s or np.nan)
