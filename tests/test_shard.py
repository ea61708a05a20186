"""``--shard K/N``: the shards of a run partition its cells exactly, the same way every
time, balanced by predicted cost; their results merge into one report."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from harness.partition import cell_cost, loads, partition, shard_cells, unit_costs, unit_of
from harness.pytest_plugin import State
from harness.registry import Registry, load_registry
from harness.results import Run
from harness.selection import Cell, Selection
from harness.shard import Shard, ShardError, parse_shard
from reports.history_page import HISTORY_FILE
from reports.site import render_site
from reports.table import CELL_KEY, cells, load_frames
from tests.test_cli import shootout

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def run_cells(registry: Registry, selection: Selection) -> list[Cell]:
    return State(selection, registry, Run("", None, {})).cells()


SELECTIONS = {
    "verify": Selection(mode="verify"),
    "verify_fuzz": Selection(mode="verify", fuzz=5, backends=("numpy", "python")),
    "bench_quick": Selection(mode="bench", profile="quick"),
}


@pytest.fixture(scope="module")
def unsharded(registry: Registry) -> dict[str, list[Cell]]:
    return {name: run_cells(registry, selection) for name, selection in SELECTIONS.items()}


@pytest.mark.parametrize("count", [1, 2, 3, 7])
@pytest.mark.parametrize("name", sorted(SELECTIONS))
def test_the_shards_partition_the_cells_exactly(
    unsharded: dict[str, list[Cell]], name: str, count: int
) -> None:
    cells = unsharded[name]
    whole = [c.id for c in cells]
    assert len(whole) == len(set(whole)) > 0
    fuzz = SELECTIONS[name].fuzz
    shards = [
        [c.id for c in shard_cells(cells, Shard(k, count), fuzz)] for k in range(1, count + 1)
    ]
    seen = [cell for shard in shards for cell in shard]
    assert len(seen) == len(whole)  # no cell in two shards
    assert set(seen) == set(whole)  # and none left out
    position = {cell: i for i, cell in enumerate(whole)}
    for shard in shards:  # each shard runs its cells in the run's order
        assert [position[c] for c in shard] == sorted(position[c] for c in shard)
    # whole algorithms: speedups, library errors and budget predictions stay within a run
    owner: dict[str, int] = {}
    for k, shard in enumerate(shards):
        for cell in shard:
            assert owner.setdefault(cell.rsplit("/", 3)[0], k) == k


def test_a_run_with_a_shard_selects_that_shard(registry: Registry) -> None:
    """The plumbing: Selection.shard reaches the cells a run (and pytest) generates."""
    selection = Selection(mode="verify", algorithms=("box_iou_axis_aligned", "nms_greedy"))
    whole = run_cells(registry, selection)
    for k in (1, 2):
        sharded = run_cells(registry, replace(selection, shard=Shard(k, 2)))
        assert [c.id for c in sharded] == [c.id for c in shard_cells(whole, Shard(k, 2))]
        assert sharded and len(sharded) < len(whole)


def test_the_partition_is_deterministic_whatever_the_order(registry: Registry) -> None:
    cells = run_cells(registry, Selection(mode="bench", profile="quick"))
    shuffled = list(cells)
    random.Random(3).shuffle(shuffled)
    for k in (1, 2, 3):
        first = {c.id for c in shard_cells(cells, Shard(k, 3))}
        assert first == {c.id for c in shard_cells(cells, Shard(k, 3))}
        assert first == {c.id for c in shard_cells(shuffled, Shard(k, 3))}
    costs = unit_costs(cells)
    reordered = dict(sorted(costs.items(), reverse=True))
    assert partition(costs, 4) == partition(reordered, 4)


@pytest.mark.parametrize("count", [2, 3, 7])
@pytest.mark.parametrize("mode", ["verify", "bench"])
def test_the_largest_shard_is_within_one_algorithm_of_the_ideal(
    registry: Registry, mode: str, count: int
) -> None:
    """The stated bound (harness.shard): max load <= total / N + the largest unit."""
    costs = unit_costs(run_cells(registry, Selection(mode=mode, profile="quick")))
    parts = partition(costs, count)
    total, largest = sum(costs.values()), max(costs.values())
    assert max(loads(costs, parts)) <= total / count + largest + 1e-9
    assert sorted(u for part in parts for u in part) == sorted(costs)


def test_the_partition_balances_cost_not_counts() -> None:
    costs = {"huge": 100.0, **{f"small{i}": 1.0 for i in range(10)}}
    parts = partition(costs, 2)
    assert ["huge"] in parts  # ten small algorithms together cost less than the huge one
    costs = {"a": 6.0, "b": 5.0, "c": 4.0, "d": 3.0, "e": 2.0, "f": 1.0}  # total 21
    assert loads(costs, partition(costs, 3)) == [7.0, 7.0, 7.0]
    assert partition({}, 3) == [[], [], []]
    with pytest.raises(ShardError):
        partition(costs, 0)


def test_the_cost_model_ranks_cells_by_their_work(registry: Registry) -> None:
    algorithm = "pairwise_l2_distance"
    suite = registry.suite(algorithm)
    impls = {i.key: i for i in registry.select([algorithm])}
    compiled = impls[f"{algorithm}/numpy/direct"]
    python = impls[f"{algorithm}/python/loops"]
    small, big = suite.cases[0], suite.bench["quick"][0]
    assert cell_cost(Cell("bench", suite, compiled, small)) > cell_cost(
        Cell("verify", suite, compiled, small)
    )  # a bench cell makes many calls
    assert cell_cost(Cell("verify", suite, compiled, big)) > cell_cost(
        Cell("verify", suite, compiled, small)
    )
    interpreted = replace(python, max_flops=None)
    assert cell_cost(Cell("verify", suite, interpreted, big)) > cell_cost(
        Cell("verify", suite, compiled, big)
    )
    capped = replace(python, max_flops=1.0)  # over its size cap: skipped without running
    assert cell_cost(Cell("bench", suite, capped, big)) < cell_cost(
        Cell("bench", suite, compiled, big)
    )
    fuzz = Cell("fuzz", suite, compiled, None)
    assert cell_cost(fuzz, 50) > cell_cost(fuzz, 5)
    assert unit_of(fuzz) == algorithm


@pytest.mark.parametrize(
    "text, message",
    [
        ("0/3", "between 1 and N"),
        ("4/3", "between 1 and N"),
        ("1/0", "between 1 and N"),
        ("3", "expected K/N"),
        ("a/b", "expected K/N"),
        ("-1/3", "expected K/N"),
        ("1/2/3", "expected K/N"),
        ("\u00b9/3", "expected K/N"),
    ],
)
def test_a_bad_shard_is_refused(text: str, message: str) -> None:
    with pytest.raises(ShardError, match=message):
        parse_shard(text)


def test_parse_shard() -> None:
    assert parse_shard("2/7") == Shard(2, 7) and str(Shard(2, 7)) == "2/7"
    assert parse_shard("1/1") == Shard(1, 1)


@pytest.mark.slow
def test_cli_shard_validation_and_an_empty_shard(tmp_path: Path) -> None:
    for command in ("verify", "bench"):
        proc = shootout(command, "--shard", "5/4")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "--shard" in proc.stderr and "between 1 and N" in proc.stderr
    # one algorithm, two shards: the second has nothing to do, says so and succeeds
    proc = shootout(
        "bench", "-a", "box_iou_axis_aligned", "-b", "numpy", "--profile", "smoke",
        "--shard", "2/2", "--results-dir", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "shard 2/2: no cells" in proc.stderr
    assert not list(tmp_path.iterdir())
    proc = shootout(
        "verify", "-a", "box_iou_axis_aligned", "-a", "nms_greedy", "-b", "numpy",
        "--case", "no_such_case_anywhere", "--shard", "1/2",
    )  # fmt: skip
    assert proc.returncode == 2  # a bad selection is still bad input, shard or not


@pytest.mark.slow
def test_cli_shards_of_a_verify_run_cover_it(tmp_path: Path) -> None:
    algorithms = ["-a", "box_iou_axis_aligned", "-a", "nms_greedy", "-b", "numpy"]
    ids = []
    for k in (1, 2):
        out = tmp_path / f"shard{k}.json"
        proc = shootout("verify", *algorithms, "--shard", f"{k}/2", "--results", str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"shard {k}/2:" in proc.stderr
        ids.append({"/".join(v[f] for f in ("algorithm", "variant", "case"))
                    for v in json.loads(out.read_text())["verdicts"]})  # fmt: skip
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    # -a nms_greedy takes its batched mode too
    algorithms_run = {i.split("/")[0].split(".")[0] for i in ids[0] | ids[1]}
    assert algorithms_run == {"box_iou_axis_aligned", "nms_greedy"}


# ---- shard results merge into one report -------------------------------------------------


def _split_by_algorithm(tmp_path: Path) -> list[Path]:
    """The fixture run as two shards of one run would write it: the same machine and
    commit, one algorithm each, run ids of their own."""
    document = json.loads(FIXTURE.read_text())
    algorithms = sorted({m["algorithm"] for m in document["measurements"]})
    paths = []
    for number, algorithm in enumerate(algorithms, start=1):
        shard = {
            **document,
            "run_id": f"shard{number}",
            "command": f"{document['command']} --shard {number}/{len(algorithms)}",
            "verdicts": [v for v in document["verdicts"] if v["algorithm"] == algorithm],
            "measurements": [m for m in document["measurements"] if m["algorithm"] == algorithm],
        }
        paths.append(tmp_path / f"shard{number}.json")
        paths[-1].write_text(json.dumps(shard))
    return paths


def test_shard_results_merge_into_one_report(tmp_path: Path) -> None:
    shards = load_frames(_split_by_algorithm(tmp_path))
    whole = load_frames([FIXTURE])
    merged, single = cells(shards), cells(whole)
    assert not merged.duplicated(subset=CELL_KEY).any()
    assert len(merged) == len(single)
    key = ["algorithm", "backend", "variant", "case"]
    assert sorted(map(tuple, merged[key].values)) == sorted(map(tuple, single[key].values))
    assert shards.runs["machine"].nunique() == 1  # one machine, not one per shard
    files = render_site(shards)
    # disjoint cells of one machine are not a history of runs
    assert HISTORY_FILE not in files
    assert HISTORY_FILE not in files["index.html"]
