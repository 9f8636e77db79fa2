"""The fuser never reads the emulation's ground truth: an import rule and a data rule."""

import ast
from pathlib import Path

import numpy as np
import pytest
import yaml

import rig
from rig.bench.config import load_bench_config
from rig.bench.run import sensor_table
from rig.fusion import SensorTable
from rig.interchange import SENSOR_TRUTH_COLUMNS
from rig.radar import NominalRadar
from rig.sensor_models.spec import ERROR_FIELDS

FUSION = Path(rig.__file__).parent / "fusion"
#: packages that hold or make ground truth (radar errors, trajectories, emulated clocks)
TRUTH_PACKAGES = ("rig.sensor_models", "rig.scenario", "rig.emulation", "rig.bench")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_fusion_package_imports_nothing_that_holds_truth():
    offenders = {f"{path.name}: {name}" for path in FUSION.rglob("*.py")
                 for name in imported_modules(path)
                 if name.startswith(TRUTH_PACKAGES)}
    assert not offenders
    assert len(list(FUSION.rglob("*.py"))) >= 15       # the rule looked at the package


def test_the_sensor_table_is_the_same_with_and_without_the_radars_errors(tmp_path):
    shipped = Path(rig.__file__).parent.parent / "bench_configs" / "emulated.yaml"
    config = yaml.safe_load(shipped.read_text())
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump(config))
    config["scenario"]["biased"] = True
    biased = tmp_path / "biased.yaml"
    biased.write_text(yaml.safe_dump(config))
    a, b = load_bench_config(plain), load_bench_config(biased)
    # the radars do differ in their errors ...
    assert any(ra.range_bias_m != rb.range_bias_m or ra.clock_offset_s != rb.clock_offset_s
               for ra, rb in zip(a.radars, b.radars))
    # ... and the fuser's view of them does not
    ta, tb = sensor_table(a), sensor_table(b)
    for name in ("M", "t", "sigma_range_m", "sigma_az_rad", "sigma_el_rad", "scan_period_s",
                 "pd", "range_max_m", "clutter_per_scan"):
        assert np.array_equal(getattr(ta, name), getattr(tb, name), equal_nan=True), name


def test_the_fuser_takes_nominal_radars_only():
    shipped = Path(rig.__file__).parent.parent / "bench_configs" / "emulated.yaml"
    loaded = load_bench_config(shipped)
    modelled = loaded.radars[0]
    with pytest.raises(TypeError, match="NominalRadar"):
        SensorTable.of_radars([modelled], loaded.scenario.origin)
    nominal = modelled.nominal()
    assert type(nominal) is NominalRadar
    assert not set(ERROR_FIELDS) & set(type(nominal).model_fields)
    assert nominal.model_dump() == modelled.model_dump(exclude=set(ERROR_FIELDS))
    # the interchange folder's truth columns are the radar's errors that it writes
    assert set(SENSOR_TRUTH_COLUMNS) <= set(ERROR_FIELDS)
