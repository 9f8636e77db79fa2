"""The JSON Schema of bench configs, for editors and CI (``rig check --schema``).

Draft 7, the draft editors' YAML extensions read (VS Code's among them): pydantic's schema of
:class:`rig.bench.config.BenchConfig`, a sensor entry's keys per family (``if`` its
``family`` is F, ``then`` the entry's keys and F's options, nothing else) and the limits'
measurements and statistics. The package ships it as ``rig/schemas/bench_config.schema.json``;
a config names it on its first line::

    # yaml-language-server: $schema=../rig/schemas/bench_config.schema.json
"""

from __future__ import annotations

import json

from rig.firmware import available, get_interface
from rig.harness.measurements import MEASUREMENTS, STATISTICS

from .config import BenchConfig, SensorEntry

SCHEMA_FILE = "bench_config.schema.json"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"
REF_TEMPLATE = "#/definitions/{model}"


def _as_draft_07(node):
    """pydantic's 2020-12 tuple form (``prefixItems``) in draft 7's words, in place."""
    if isinstance(node, dict):
        if "prefixItems" in node:
            node["items"] = node.pop("prefixItems")
            node["additionalItems"] = False
        for value in node.values():
            _as_draft_07(value)
    elif isinstance(node, list):
        for value in node:
            _as_draft_07(value)
    return node


def _family_branches(sensor: dict, definitions: dict) -> list[dict]:
    """One ``if``/``then`` per family: a sensor of family F takes the entry's keys and F's."""
    default = SensorEntry.model_fields["family"].default
    common = {key: True for key in sensor["properties"]}
    branches = []
    for name in available():
        options = get_interface(name).options.model_json_schema(ref_template=REF_TEMPLATE)
        definitions.update(options.pop("$defs", {}))
        when = {"properties": {"family": {"const": name}}}
        if name != default:
            when["required"] = ["family"]
        branches.append({"if": when, "then": {
            "properties": {**common, **options.get("properties", {})},
            "additionalProperties": False}})
    return branches


def _limits_schema(definitions: dict) -> dict:
    """``limits:``: measurement -> {statistic: bound} (the shared parts in ``definitions``)."""
    definitions["LimitBound"] = {"anyOf": [
        {"type": "number", "description": "an upper bound"},
        {"type": "object", "description": "a bound with its direction",
         "properties": {"<=": {"type": "number"}, ">=": {"type": "number"}},
         "minProperties": 1, "maxProperties": 1, "additionalProperties": False}]}
    definitions["LimitStatistics"] = {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {stat: {"$ref": REF_TEMPLATE.format(model="LimitBound")}
                       for stat in STATISTICS}}
    statistics = {"$ref": REF_TEMPLATE.format(model="LimitStatistics")}
    return {
        "type": "object", "default": {}, "additionalProperties": False,
        "description": "measurement -> {statistic: bound}: a bare number is an upper bound, "
                       "{'>=': x} a lower one",
        "properties": {name: {"allOf": [statistics],
                              "description": f"{spec.description} ({spec.unit})"}
                       for name, spec in sorted(MEASUREMENTS.items())}}


def bench_config_schema() -> dict:
    """The JSON Schema of a bench config file, with the families installed."""
    schema = BenchConfig.model_json_schema(ref_template=REF_TEMPLATE)
    definitions = schema.pop("$defs")
    sensor = definitions["SensorEntry"]
    sensor["properties"]["family"]["enum"] = list(available())
    sensor["allOf"] = _family_branches(sensor, definitions)
    schema["properties"]["limits"] = _limits_schema(definitions)
    return _as_draft_07({"$schema": DRAFT_07, **schema, "definitions": definitions})


def bench_config_schema_text() -> str:
    """:func:`bench_config_schema` as the shipped file holds it."""
    return json.dumps(bench_config_schema(), indent=2, ensure_ascii=False) + "\n"
