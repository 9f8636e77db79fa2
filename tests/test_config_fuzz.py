"""The bench config loader, fuzzed: anything at all gives a config or a ConfigError."""

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.bench.config import load_bench_config
from rig.errors import ConfigError

SHORT = (__import__("pathlib").Path(__file__).parent / "data" / "bench" / "short.yaml").read_text()
BASE = yaml.safe_load(SHORT)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
KEYS = sorted(BASE) + ["sensors.0", "outputs.feeds", "limits.ospa_m", "scenario.targets"]


def load(tmp_path, text: str):
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    try:
        return load_bench_config(path)
    except ConfigError as e:
        assert str(path) in str(e)      # every error names the file
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400))
def test_any_text_is_a_config_or_a_config_error(tmp_path, text):
    load(tmp_path, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=values)
def test_any_value_anywhere_is_a_config_or_a_config_error(tmp_path, key, value):
    config = yaml.safe_load(SHORT)
    target, *rest = key.split(".")
    if rest and isinstance(config.get(target), dict):
        config[target][rest[0]] = value
    elif rest and isinstance(config.get(target), list):
        config[target][0] = value
    else:
        config[target] = value
    load(tmp_path, yaml.safe_dump(config))


def test_yaml_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    text = f"!!python/object/apply:os.system ['touch {marker}']\n"
    assert load(tmp_path, text) is None
    assert not marker.exists()


def numeric_leaves(node, path=()):
    """Dotted paths of every number in a parsed config."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from numeric_leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from numeric_leaves(v, (*path, i))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path


NUMERIC = sorted(numeric_leaves(BASE), key=str)
EXTREMES = [float("inf"), float("-inf"), float("nan"), 1e308, -1e308, 2**63, -1, 0, 1e-300]


def all_finite(node) -> bool:
    if isinstance(node, dict):
        return all(all_finite(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return all(all_finite(v) for v in node)
    return not isinstance(node, float) or (node == node and abs(node) != float("inf"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(NUMERIC), value=st.sampled_from(EXTREMES))
def test_numeric_extremes_anywhere_give_a_finite_config_or_a_config_error(tmp_path, where, value):
    config = yaml.safe_load(SHORT)
    node = config
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    loaded = load(tmp_path, yaml.safe_dump(config))
    if loaded is not None:
        assert all_finite(loaded.config.model_dump())
        assert loaded.config.duration_s <= 7 * 86400
