"""The bench config loader, fuzzed: anything at all gives a config or a ConfigError; numeric
extremes anywhere give a ConfigError naming the key, or a run that ends in time."""

import multiprocessing
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.bench.config import OutputsEntry, load_bench_config
from rig.errors import ConfigError
from rig.fusion.params import FusionParams
from rig.validation import key_path

from .offline_run import run_loaded

SHORT = (Path(__file__).parent / "data" / "bench" / "short.yaml").read_text()
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


# --- numeric extremes through what a run does with them ----------------------------------
RUN_BOUND_S = 20.0
DEFAULTED = [("outputs", "deadline_s"), ("accuracy", "warmup_s"), ("accuracy", "cutoff_m"),
             ("accuracy", "order"), ("fusion", "max_time_jump_s"),
             ("fusion", "confirm_updates"), ("fusion", "merge_checks"),
             ("fusion", "register_min_updates"), ("realtime", "switch_interval_s"),
             ("realtime", "tick_guard_s"), ("sensors", 0, "stale_after_s")]
RUN_NUMBERS = NUMERIC + DEFAULTED


def with_numbers(changes) -> dict:
    """short.yaml with each ``(path, value)`` of ``changes`` set (missing mappings made)."""
    config = yaml.safe_load(SHORT)
    for where, value in changes:
        node = config
        for part in where[:-1]:
            node = node[part] if isinstance(node, list) else node.setdefault(part, {})
        node[where[-1]] = value
    return config


def _load_and_run(conn, path) -> None:
    try:
        loaded = load_bench_config(path)
    except ConfigError as e:
        conn.send(("refused", e.file, e.key, str(e)))
        return
    except BaseException:
        conn.send(("crashed loading", traceback.format_exc()))
        return
    try:
        conn.send(("ran", run_loaded(loaded)))
    except BaseException:
        conn.send(("crashed running", traceback.format_exc()))


def load_and_run_within(path: Path, bound_s: float = RUN_BOUND_S) -> tuple:
    """What loading the config at ``path`` and running its offline parts gave, in a child
    process that is killed if it takes longer than ``bound_s``: ``("refused", file, key,
    message)``, ``("ran", summary)``, ``("crashed ...", traceback)`` or ``("hung", ...)``."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_load_and_run, args=(send, path), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(bound_s):
            return ("hung", f"not done after {bound_s:g} s")
        try:
            return receive.recv()
        except EOFError:
            child.join(5)
            return ("died", f"exit code {child.exitcode}")
    finally:
        child.join(1)
        if child.is_alive():
            child.kill()
            child.join()
        receive.close()


def assert_refused_or_run_in_time(path: Path, changes) -> tuple:
    done = load_and_run_within(path)
    where = "\n".join(f"  {key_path(k)} = {v!r}" for k, v in changes)
    if done[0] == "refused":
        _, file, key, message = done
        assert file == str(path), message
        assert key in {key_path(k) for k, _ in changes}, f"{message}\nthe changes:\n{where}"
    else:
        assert done[0] == "ran", f"{done[0]}: {done[1]}\nthe changes:\n{where}"
    return done


def test_the_short_config_runs_offline(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text(SHORT)
    done = assert_refused_or_run_in_time(path, [])
    assert done[0] == "ran" and done[1]["pictures"] == 10 and done[1]["plots"] > 0


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(RUN_NUMBERS), st.sampled_from(EXTREMES)),
                        min_size=1, max_size=2))
def test_numeric_extremes_give_a_config_error_or_a_run_that_ends_in_time(tmp_path, changes):
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(with_numbers(changes)))
    assert_refused_or_run_in_time(path, changes)


ONCE_HUNG_OR_CRASHED = [
    (("fusion", "window_s"), 1e-300),           # a window that ends where it starts: fusion hung
    (("outputs", "period_s"), 1e-300),          # a tick every 0 ns: the loop hung
    (("outputs", "deadline_s"), 1e308),         # too many nanoseconds: OverflowError
    (("fusion", "confirm_updates"), 2**63),     # beyond the kernels' 64-bit integers
    (("fusion", "register_min_updates"), 2**63),
    (("accuracy", "cutoff_m"), 1e308),          # scoring: an infinite k-d tree, c^p overflows
    (("accuracy", "order"), 1e308),
    (("duration_s",), 8 * 86_400),              # beyond a week: a truth table without end
]


@pytest.mark.parametrize("where,value", ONCE_HUNG_OR_CRASHED,
                         ids=[f"{key_path(w)}={v:g}" for w, v in ONCE_HUNG_OR_CRASHED])
def test_numbers_that_hung_or_crashed_a_run_are_refused_naming_the_key(tmp_path, where, value):
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(with_numbers([(where, value)])))
    done = assert_refused_or_run_in_time(path, [(where, value)])
    assert done[0] == "refused"


# --- end to end: extreme but valid configs through a real `rig run` ----------------------
def lowest(model, field: str) -> float:
    return next(m.ge for m in model.model_fields[field].metadata
                if getattr(m, "ge", None) is not None)


def highest(model, field: str) -> float:
    return next(m.le for m in model.model_fields[field].metadata
                if getattr(m, "le", None) is not None)


EXTREME_BUT_VALID = {
    "smallest-window": [(("fusion", "window_s"), lowest(FusionParams, "window_s"))],
    "longest-hold-back": [(("fusion", "hold_back_s"), highest(FusionParams, "hold_back_s")),
                          (("fusion", "oos_tolerance_s"),
                           highest(FusionParams, "oos_tolerance_s"))],
    "tiny-duration": [(("duration_s",), 1e-300)],
    "fastest-pictures": [(("outputs", "period_s"), lowest(OutputsEntry, "period_s")),
                         (("outputs", "deadline_s"), 1e-300)],
}


@pytest.mark.slow
def test_extreme_but_valid_configs_run_to_an_end_with_a_report(tmp_path):
    for name, changes in EXTREME_BUT_VALID.items():
        config = with_numbers(changes)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        out = tmp_path / f"run-{name}"
        try:
            done = subprocess.run([sys.executable, "-m", "rig", "run", str(path), "--out",
                                   str(out)], capture_output=True, text=True,
                                  timeout=config["duration_s"] + 60)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"{name}: rig run did not end within {e.timeout:g} s")
        assert done.returncode in (0, 1, 3, 5), (name, done.returncode, done.stderr)
        assert "Traceback" not in done.stderr, (name, done.stderr)
        assert (out / "report.json").exists(), (name, done.stderr)
