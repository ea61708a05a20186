"""Tests of harness.measurement: the record of a timed cell and its results-file form."""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.measurement import Measurement

# The keys of a results file's measurement objects (schema version 1).
SCHEMA_KEYS = {
    "algorithm", "backend", "variant", "kind", "case", "case_kind", "standard", "device",
    "params", "options", "dtype", "status", "reason", "verdict", "first_call_s", "samples",
    "rounds", "iterations", "median_s", "iqr_s", "mean_s", "min_s", "stddev_s", "noisy",
    "gflops", "gbps", "items_per_s", "flops", "bytes", "items", "item_unit",
    "flagged", "warning", "peak_rss_mb", "device_peak_mb", "fresh_s", "threads",
}  # fmt: skip


def timed() -> Measurement:
    return Measurement(
        algorithm="a",
        backend="numpy",
        variant="v",
        case="c",
        params={"n": 4},
        samples=(1e-3, 2e-3),
        rounds=2,
        median_s=1.5e-3,
    )


def test_as_dict_is_the_results_file_object() -> None:
    data = timed().as_dict()
    assert set(data) == SCHEMA_KEYS
    assert data["samples"] == [1e-3, 2e-3] and data["params"] == {"n": 4}
    assert json.loads(json.dumps(data)) == data


def test_from_dict_reads_back_and_ignores_unknown_keys() -> None:
    record = timed()
    assert Measurement.from_dict(record.as_dict()) == record
    assert Measurement.from_dict({**record.as_dict(), "later_key": 1}) == record
    old = Measurement.from_dict({"algorithm": "a", "backend": "cupy", "variant": "v", "case": "c"})
    assert (old.device, old.standard, old.samples) == ("", False, ())


def test_a_measurement_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        timed().status = "fail"  # type: ignore[misc]
    assert timed().cell_id == "a/numpy/v/c"
