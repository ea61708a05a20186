"""The results schema (harness/schema/results.schema.json): valid itself, in step with the
records the harness writes, and enforced when a results file is read."""

from __future__ import annotations

import copy
import dataclasses
import json
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.measurement import Measurement
from harness.results import SCHEMA_FILE, SCHEMA_VERSION, ResultsError, Run, load_results
from harness.verdict import STATUSES, Verdict

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "results_small.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
JSON_TYPES = {str: "string", float: "number", int: "integer", bool: "boolean"}


def test_the_schema_is_a_valid_draft_7_schema_of_this_version() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


def test_the_committed_fixture_validates(conforms: Callable[[Any], None]) -> None:
    conforms(json.loads(FIXTURE.read_text()))
    load_results(FIXTURE)  # and the harness's own check agrees


def _types(definition: dict[str, Any]) -> set[str]:
    if "$ref" in definition:
        definition = SCHEMA["definitions"][definition["$ref"].rsplit("/", 1)[1]]
    if "enum" in definition:
        return {"string"}
    found = definition["type"]
    return {found} if isinstance(found, str) else set(found)


def _expected(hint: Any) -> set[str]:
    """The JSON types a field of this Python type is written as."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    optional = type(None) in typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (Mapping, dict):
        out = {"object"}
    elif origin is tuple:
        out = {"array"}
    elif args and len(args) == 1 and optional:
        out = _expected(args[0])
    else:
        out = {JSON_TYPES[hint]}
    return out | ({"null"} if optional else set())


@pytest.mark.parametrize(("record", "name"), [(Verdict, "verdict"), (Measurement, "measurement")])
def test_every_field_of_a_record_is_in_the_schema_with_its_type(record: type, name: str) -> None:
    properties = SCHEMA["definitions"][name]["properties"]
    hints = typing.get_type_hints(record)
    fields = {f.name for f in dataclasses.fields(record)}
    assert set(properties) == fields, "the schema and the record name different fields"
    for field in fields:
        wanted = _expected(hints[field])
        assert wanted <= _types(properties[field]), field


def test_statuses_in_the_schema_are_the_harness_statuses() -> None:
    verdict = SCHEMA["definitions"]["verdict"]["properties"]["status"]["enum"]
    measurement = SCHEMA["definitions"]["measurement"]["properties"]["status"]["enum"]
    assert verdict == list(STATUSES)
    assert set(measurement) == {"ok", *STATUSES} - {"pass"}


def test_every_key_of_a_run_document_is_described(tmp_path: Path) -> None:
    document = Run(command="shootout verify", profile=None, threads={}).document(complete=True)
    assert set(document) <= set(SCHEMA["properties"])


# ---- malformed files are refused in one line ----------------------------------------------


def _fixture() -> dict[str, Any]:
    return copy.deepcopy(json.loads(FIXTURE.read_text()))


def _median_text(d: dict[str, Any]) -> None:
    d["measurements"][3]["median_s"] = "fast"


def _entry_not_object(d: dict[str, Any]) -> None:
    d["measurements"][1] = "oops"


def _unknown_status(d: dict[str, Any]) -> None:
    d["verdicts"][2]["status"] = "great"


def _sample_text(d: dict[str, Any]) -> None:
    d["measurements"][0]["samples"][4] = "1e-3"


def _no_variant(d: dict[str, Any]) -> None:
    del d["verdicts"][0]["variant"]


def _bad_hash(d: dict[str, Any]) -> None:
    d["implementations"] = {"nms_greedy/numpy/x": {"origin": "project", "sha256": "abc"}}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_median_text, 'measurements[3].median_s is "fast"; expected number or null'),
        (_entry_not_object, 'measurements[1] is "oops"; expected object'),
        (_unknown_status, 'verdicts[2].status is "great"; expected one of "pass", "xfail"'),
        (_sample_text, 'measurements[0].samples[4] is "1e-3"; expected number'),
        (_no_variant, "verdicts[0] lacks 'variant'"),
        (_bad_hash, "sha256 must match pattern"),
    ],
)
def test_a_hand_edited_file_is_refused_naming_the_place(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    document = _fixture()
    edit(document)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsError) as caught:
        load_results(path)
    text = str(caught.value)
    assert "edited.json" in text and message in text and "\n" not in text
    with pytest.raises(jsonschema.ValidationError):  # the reference validator agrees
        jsonschema.validate(document, SCHEMA)


def test_nan_and_infinity_are_numbers(tmp_path: Path) -> None:
    document = _fixture()
    document["verdicts"][0]["max_rel"] = float("nan")
    document["verdicts"][0]["error_ratio"] = float("inf")
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(document))
    assert load_results(path)["verdicts"][0]["error_ratio"] == float("inf")
