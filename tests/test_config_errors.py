"""Config errors an operator can act on: every problem at once, each with its file, key, line
and column, "did you mean" for a misspelt key; ``rig check`` of several files; the JSON Schema
of bench configs, shipped and printed alike."""

import json
import pickle
import subprocess
from importlib import resources
from pathlib import Path

import pytest
import yaml

from rig.bench.config import load_bench_config
from rig.errors import ConfigError, Problem
from rig.launch import rig_command
from rig.scenario import load_scenario_spec
from rig.validation import read_yaml

ROOT = Path(__file__).parent.parent
SHORT = Path(__file__).parent / "data" / "bench" / "short.yaml"

MISSPELT = """\
version: 1
name: misspelt
mode: emulated
duraton_s: 10
sensors:
  - id: A1
    baudrat: 9600
  - id: A2
    family: asterix-cat048
    sac: 300
outputs:
  period_s: -1
  feedz: []
limits:
  tick_latness_ms: {p99: 5}
  ospa_m: {mean: .nan}
"""


def rig(*args):
    return subprocess.run(rig_command(*args), capture_output=True, text=True, timeout=120)


def problems_of(path) -> list[Problem]:
    with pytest.raises(ConfigError) as e:
        load_bench_config(path)
    return e.value.problems


def test_every_problem_is_reported_at_once_with_line_and_column(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text(MISSPELT)
    found = [(p.line, p.column, p.key, p.message) for p in problems_of(path)]
    assert found == [
        (4, 1, "duraton_s", "unknown key; did you mean duration_s?"),
        (7, 5, "sensors[0].baudrat", "unknown key for family serial-sensor; did you mean "
                                     "baudrate?"),
        (10, 5, "sensors[1].sac", "is 300"),
        (12, 3, "outputs.period_s", "is -1"),
        (13, 3, "outputs.feedz", "unknown key; did you mean feeds?"),
        (15, 3, "limits.tick_latness_ms", "unknown measurement; did you mean "
                                          "tick_lateness_ms?"),
        (16, 12, "limits.ospa_m.mean", "is nan"),
    ]


def test_a_misspelt_key_and_the_missing_key_it_meant_are_one_problem(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text("version: 1\nsensors: [{id: A1}]\nmode: emulated\nduraton_s: 10\n")
    with pytest.raises(ConfigError) as e:
        load_bench_config(path)
    assert str(e.value) == f"{path}:4:1: duraton_s: unknown key; did you mean duration_s?"
    assert len(e.value.problems) == 1


def test_a_missing_key_without_a_likely_misspelling_stays_and_points_at_its_mapping(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text("sensors:\n  - family: serial-sensor\n")
    found = {p.key: p for p in problems_of(path)}
    assert found["duration_s"].message == "missing" and found["duration_s"].line == 1
    assert found["sensors[0].id"].message == "missing"
    assert (found["sensors[0].id"].line, found["sensors[0].id"].column) == (2, 5)
    assert found["sensors[0].id"].expected == "this key to be given"


def test_an_unknown_key_far_from_every_field_lists_them(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text("duration_s: 5\nsensors: [{id: A1}]\nxyzzy: 1\n")
    (problem,) = problems_of(path)
    assert problem.message == "unknown key" and problem.expected.startswith("one of version")
    assert str(problem) == f"{path}:3:1: xyzzy: unknown key (expected {problem.expected})"


def test_problems_survive_pickling_and_keep_their_places():
    error = ConfigError(problems=[Problem("is 3", "a.yaml", "x", "1 or 2", 4, 7),
                                  Problem("missing", "a.yaml", "y")])
    again = pickle.loads(pickle.dumps(error))
    assert again.problems == error.problems and str(again) == str(error)
    assert str(again).splitlines() == ["a.yaml:4:7: x: is 3 (expected 1 or 2)",
                                       "a.yaml: y: missing"]
    assert again.key == "x" and again.line == 4 and again.exit_code == 2


def test_broken_yaml_names_its_line_once(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("duration_s: 5\nsensors: [\n  {id: A1\n")
    with pytest.raises(ConfigError) as e:
        read_yaml(path)
    assert e.value.line is not None and str(e.value).startswith(f"{path}:{e.value.line}:")
    assert "not valid YAML" in str(e.value)


def test_a_scenario_file_s_problems_name_their_lines(tmp_path):
    path = tmp_path / "scenario.yaml"
    spec = yaml.safe_load((ROOT / "rig" / "scenario" / "builtin" / "default.yaml").read_text())
    spec["duraton_s"] = spec.pop("duration_s", 60)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if text.startswith("duraton_s"))
    with pytest.raises(ConfigError) as e:
        load_scenario_spec(str(path))
    problem = next(p for p in e.value.problems if p.key == "duraton_s")
    assert (problem.file, problem.line, problem.column) == (str(path), line, 1)
    assert "did you mean duration_s?" in problem.message


def test_aliases_and_merge_keys_are_placed_without_walking_them_twice(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text("base: &b {id: A1, sac: 999}\n"
                    "duration_s: 5\nsensors:\n  - *b\n  - <<: *b\n    id: A2\n")
    found = {p.key: p for p in problems_of(path)}
    assert found["base"].message.startswith("unknown key") and found["base"].line == 1
    assert found["sensors[0].sac"].message == "is 999"
    assert found["sensors[1].sac"].line is not None


# --- rig check of several files ----------------------------------------------------------
def test_check_reports_every_file_and_fails_if_one_does(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MISSPELT)
    worse = tmp_path / "worse.yaml"
    worse.write_text("duration_s: 5\nsensors: [{id: A1, family: serial-sensor, "
                     "transport: emulated, parity: X}]\n")
    done = rig("check", str(SHORT), str(bad), str(worse))
    assert done.returncode == 2, done.stderr
    assert f"{SHORT}: ok" in done.stdout and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert f"{bad}:4:1: duraton_s: unknown key; did you mean duration_s?" in lines
    assert sum(line.startswith(f"{bad}:") for line in lines) == 7
    assert (f"{worse}:2:64: sensors[0].parity: is 'X' (expected 'N', 'E', 'O', 'M' or 'S')"
            in lines)
    assert lines[-1] == "rig check: 2 of 3 configs failed"
    assert rig("check", str(SHORT), str(SHORT)).returncode == 0


def test_check_without_a_config_is_a_usage_error():
    done = rig("check")
    assert done.returncode == 2 and "usage:" in done.stderr and "config" in done.stderr


# --- the JSON Schema -----------------------------------------------------------------------
def shipped_schema_text() -> str:
    return resources.files("rig.schemas").joinpath("bench_config.schema.json").read_text()


def test_the_shipped_schema_is_what_check_prints():
    done = rig("check", "--schema")
    assert done.returncode == 0, done.stderr
    assert done.stdout == shipped_schema_text(), (
        "rig/schemas/bench_config.schema.json is out of date: "
        "rig check --schema > rig/schemas/bench_config.schema.json")


def test_the_schema_knows_every_family_s_keys_and_the_limits():
    schema = json.loads(shipped_schema_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    sensor = schema["definitions"]["SensorEntry"]
    by_family = {branch["if"]["properties"]["family"]["const"]: branch["then"]["properties"]
                 for branch in sensor["allOf"]}
    assert {"parity", "stopbits", "bytesize", "flow_control", "baudrate"} <= set(
        by_family["serial-sensor"])
    assert {"visa_library", "visa_timeout_ms", "read_termination", "write_termination",
            "idn"} <= set(by_family["scpi-sensor"])
    assert "allow_from" in by_family["asterix-cat048"]
    assert "baudrate" not in by_family["asterix-cat048"]
    assert "ospa_m" in schema["properties"]["limits"]["properties"]


def schema_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(shipped_schema_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("path", sorted((ROOT / "bench_configs").glob("*.yaml")) + [SHORT],
                         ids=lambda p: p.name)
def test_the_schema_accepts_the_shipped_configs(path):
    errors = list(schema_validator().iter_errors(yaml.safe_load(path.read_text())))
    assert errors == [], [e.message for e in errors]


def test_the_schema_refuses_what_rig_refuses():
    validator = schema_validator()
    base = yaml.safe_load(SHORT.read_text())

    def refused(change) -> bool:
        config = json.loads(json.dumps(base))
        change(config)
        return bool(list(validator.iter_errors(config)))

    assert not refused(lambda c: None)
    assert refused(lambda c: c.update(duraton_s=c.pop("duration_s")))
    assert refused(lambda c: c["sensors"][1].update(baudrate=9600))       # asterix: no line
    assert refused(lambda c: c["sensors"][0].update(parity="X"))
    assert not refused(lambda c: c["sensors"][0].update(parity="E", stopbits=1.5))
    assert refused(lambda c: c["sensors"][2].update(visa_timeout_ms=0))
    assert refused(lambda c: c["limits"].update(ospa_m={"p42": 1}))
    assert refused(lambda c: c["sensors"].append({"id": "B2", "baudrate": 9600,
                                                  "allow_from": []}))
