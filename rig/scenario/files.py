"""Scenario files: a YAML path, or a built-in scenario shipped with the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rig.errors import ConfigError
from rig.validation import read_yaml, validate

from .spec import ScenarioSpec

BUILTIN_PREFIX = "builtin"
DEFAULT = "default"


def builtin_names() -> list[str]:
    folder = resources.files("rig.scenario") / "builtin"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _load_builtin(name: str) -> ScenarioSpec:
    label = f"{BUILTIN_PREFIX}:{name}"
    if name not in builtin_names():
        raise ConfigError("no such built-in scenario", file=label,
                          expected="one of " + ", ".join(builtin_names()))
    resource = resources.files("rig.scenario") / "builtin" / f"{name}.yaml"
    with resources.as_file(resource) as path:
        doc = read_yaml(path)
        return validate(ScenarioSpec, doc.data, file=label, marks=doc.marks)


def load_scenario_spec(source: str | Path | None = None) -> ScenarioSpec:
    """``None`` or ``"builtin"`` is the default scenario, ``"builtin:NAME"`` another
    built-in one, anything else the path of a YAML scenario file."""
    text = BUILTIN_PREFIX if source is None else str(source)
    if text == BUILTIN_PREFIX or text.startswith(BUILTIN_PREFIX + ":"):
        return _load_builtin(text.partition(":")[2] or DEFAULT)
    doc = read_yaml(text)
    if not isinstance(doc.data, dict):
        raise ConfigError("not a YAML mapping", file=text,
                          expected="a scenario: spec, origin, duration_s, sensors, targets, random")
    return validate(ScenarioSpec, doc.data, file=text, marks=doc.marks)
