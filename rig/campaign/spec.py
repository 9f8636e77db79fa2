"""The campaign file: what to run, on which seeds, over which grid of settings, and the
limits each setting must hold.

::

    name: confirm-sweep
    offline:                          # or  bench: bench_configs/emulated.yaml
      scenario: {source: builtin, targets: 5, duration_s: 60}
    seeds: 20                         # seeds 1..20, or a list [3, 7, 11]
    grid:                             # every run = one seed × one point of the grid
      fusion.confirm_updates: [2, 4]
    limits: {ospa_m: 600, false_tracks: 5}

Every problem is reported at once, with the file's line and column.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rig import __version__
from rig.errors import ConfigError, Problem
from rig.fusion.params import FusionParams
from rig.scenario.spec import MAX_RANDOM_TARGETS
from rig.scoring.defaults import DEFAULT_CUTOFF_M, DEFAULT_ORDER, MAX_CUTOFF_M, MAX_ORDER
from rig.validation import by_position, did_you_mean, parse_key_path, problems_of, read_yaml

#: the figures a limit may bound (the mean over seeds; see rig.campaign.aggregate)
LIMITED_METRICS = ("ospa_m", "false_tracks", "identity_switches", "processing_p50_ms",
                   "processing_p99_ms")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OfflineScenario(_Strict):
    source: str = Field("builtin", description="'builtin', 'builtin:NAME' or a scenario "
                        "YAML file (relative to the campaign file)")
    targets: int | None = Field(None, ge=0, le=MAX_RANDOM_TARGETS)
    duration_s: float | None = Field(None, gt=0, le=86_400)
    biased: bool = False
    clock_errors: bool = False


class OfflineScore(_Strict):
    cutoff_m: float = Field(DEFAULT_CUTOFF_M, gt=0, le=MAX_CUTOFF_M)
    order: float = Field(DEFAULT_ORDER, ge=1, le=MAX_ORDER)


class OfflineSpec(_Strict):
    """An offline run: the scenario's folder (``rig scenario``), fused (``rig fuse``) and
    scored (``rig score``)."""

    scenario: OfflineScenario = OfflineScenario()
    fusion: FusionParams = FusionParams()
    dt_s: float = Field(1.0, gt=0, le=60, description="output tick of the fusion")
    score: OfflineScore = OfflineScore()
    timeout_s: float = Field(300, gt=0, description="a run still working after this long "
                             "is stopped and recorded as an error")

    @field_validator("scenario", mode="before")
    @classmethod
    def _source_only(cls, value):
        return {"source": value} if isinstance(value, str) else value


class CampaignSpec(_Strict):
    name: str = "campaign"
    bench: str | None = Field(None, description="bench config (relative to the campaign "
                              "file): each run a 'rig run'")
    offline: OfflineSpec | None = None
    seeds: int | list[int] = Field(10, description="how many seeds (1..N), or which")
    grid: dict[str, list] = {}
    limits: dict[str, float] = {}
    timeout_margin_s: float = Field(60, gt=0, description="a bench run still going this "
                                    "long after its duration is stopped (an error)")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value):
        if isinstance(value, int) and not 1 <= value <= 100_000:
            raise ValueError(f"{value} seeds: give 1 to 100,000")
        if isinstance(value, list):
            if not value:
                raise ValueError("no seeds: give a count or a non-empty list")
            if any(s < 0 for s in value) or len(set(value)) != len(value):
                raise ValueError("seeds must be distinct and >= 0")
        return value

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.bench is None) == (self.offline is None):
            raise ValueError("give exactly one of 'bench' (a bench config) or 'offline'")
        return self

    @property
    def seed_list(self) -> list[int]:
        return list(range(1, self.seeds + 1)) if isinstance(self.seeds, int) else self.seeds


@dataclass(frozen=True)
class Run:
    """One run: a setting (a point of the grid) on one seed, with its resolved config."""

    kind: str                 # "bench" or "offline"
    setting: int              # index into Campaign.settings
    seed: int
    config: dict              # the bench config's or OfflineSpec's data, grid and seed applied
    timeout_s: float

    @property
    def key(self) -> str:
        """Content hash of (resolved config + seed + rig version): the cache's key."""
        text = json.dumps({"kind": self.kind, "config": self.config, "seed": self.seed,
                           "rig_version": __version__}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Campaign:
    spec: CampaignSpec
    file: Path
    settings: list[dict]      # each point of the grid: {dotted key: value}
    runs: list[Run]

    @staticmethod
    def label(setting: dict) -> str:
        return ", ".join(f"{k}={v}" for k, v in setting.items()) or "default"


def set_key(data: dict, key: str, value) -> None:
    """Set dotted ``key`` (``fusion.confirm_updates``, ``sensors[1].transport``) in ``data``."""
    path = parse_key_path(key)
    node = data
    for part in path[:-1]:
        if isinstance(part, int):
            node = node[part]
        else:
            node = node.setdefault(part, {})
    node[path[-1]] = value


def _model_at(model, path) -> bool:
    """Whether ``path`` names a field of ``model`` (through nested models)."""
    current = model
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return isinstance(current, dict) or current is dict
        field = fields.get(part)
        if field is None:
            return False
        current = _inner(field.annotation)
    return True


def _inner(annotation):
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner(arg)
        if found is not None and found is not type(None):
            return found
    return dict if getattr(annotation, "__origin__", None) is dict else None


def _in_data(data, path) -> bool:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _suggest(key: str, model) -> str | None:
    path = parse_key_path(key)
    current = model
    for part in path[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            meant = did_you_mean(part, fields)
            return ".".join(str(p) for p in path[:path.index(part)]) + \
                ("." if path.index(part) else "") + meant if meant else None
        current = _inner(fields[part].annotation)
    meant = did_you_mean(path[-1], getattr(current, "model_fields", {}))
    return ".".join([*(str(p) for p in path[:-1]), meant]) if meant else None


def load_campaign(path: str | Path) -> Campaign:
    """Read and check a campaign file and the config it names; every problem in one
    ConfigError (exit 2) naming the file, the key, its line and column."""
    path = Path(path)
    doc = read_yaml(path)
    raw, marks = doc.data, doc.marks
    if not isinstance(raw, dict):
        raise ConfigError("not a YAML mapping", file=str(path), expected="a campaign file",
                          line=1, column=1)
    spec, problems = problems_of(CampaignSpec, raw, file=path, marks=marks)
    kind = "bench" if "bench" in raw else "offline"
    base, timeout = _base_config(spec, path) if spec is not None else ({}, 0.0)
    model = _model(kind)
    grid = raw.get("grid") if isinstance(raw.get("grid"), dict) else {}
    bad_keys = set()
    for key, values in grid.items():
        found = _grid_key_problems(str(key), values, kind, model, base, raw, path, marks)
        problems += found
        bad_keys.update({str(key)} if found else set())
    limits = raw.get("limits") if isinstance(raw.get("limits"), dict) else {}
    for name in limits:
        if name not in LIMITED_METRICS:
            meant = did_you_mean(name, LIMITED_METRICS)
            problems.append(marks.locate(Problem(
                "unknown measurement" + (f"; did you mean {meant}?" if meant else ""),
                str(path), f"limits.{name}", "one of " + ", ".join(LIMITED_METRICS)),
                ("limits", name)))
    if spec is None:
        raise ConfigError(problems=by_position(problems))
    keys = [k for k in spec.grid if k not in bad_keys]
    settings = [dict(zip(keys, point))
                for point in itertools.product(*(spec.grid[k] for k in keys))]
    runs = []
    for index, setting in enumerate(settings):
        config = copy.deepcopy(base)
        for key, value in setting.items():
            set_key(config, key, value)
        problems += _setting_problems(model, config, setting, path, marks)
        for seed in spec.seed_list:
            seeded = copy.deepcopy(config)
            if kind == "bench":
                set_key(seeded, "scenario.seed", seed)
            runs.append(Run(kind, index, seed, seeded, timeout))
    if problems:
        raise ConfigError(problems=_first_per_key(by_position(problems)))
    return Campaign(spec, path, settings, runs)


def _model(kind: str):
    if kind == "bench":
        from rig.bench.config import BenchConfig

        return BenchConfig
    return OfflineSpec


def _base_config(spec: CampaignSpec, path: Path) -> tuple[dict, float]:
    """The config every run starts from (file paths in it made absolute), and a run's
    timeout."""
    if spec.bench is not None:
        from rig.bench.config import check_bench_config

        bench_path = Path(spec.bench)
        if not bench_path.is_absolute():
            bench_path = (path.parent / bench_path).resolve()
        bench_doc = read_yaml(bench_path)
        check_bench_config(bench_path, bench_doc)
        base = copy.deepcopy(bench_doc.data)
        source = str((base.get("scenario") or {}).get("source", "builtin"))
        if not source.startswith("builtin") and not Path(source).is_absolute():
            set_key(base, "scenario.source", str((bench_path.parent / source).resolve()))
        return base, float(base["duration_s"]) + spec.timeout_margin_s
    base = spec.offline.model_dump(mode="json")
    source = base["scenario"]["source"]
    if not source.startswith("builtin") and not Path(source).is_absolute():
        base["scenario"]["source"] = str((path.parent / source).resolve())
    return base, spec.offline.timeout_s


def _grid_key_problems(key, values, kind, model, base, raw, path, marks) -> list[Problem]:
    where = ("grid", key)
    out = []
    if isinstance(values, list) and not values:
        out.append(Problem("empty list of values", str(path), f"grid.{key}",
                           "at least one value"))
    elif isinstance(values, list) and len({json.dumps(v, sort_keys=True, default=str)
                                           for v in values}) != len(values):
        out.append(Problem("a value given twice", str(path), f"grid.{key}",
                           "distinct values"))
    if key in ("seed", "scenario.seed"):
        out.append(Problem("the seed is set by 'seeds'", str(path), f"grid.{key}"))
    elif not (_model_at(model, parse_key_path(key)) or _in_data(base, parse_key_path(key))):
        meant = _suggest(key, model)
        config = f"bench config {raw.get('bench')}" if kind == "bench" else "offline config"
        out.append(Problem(f"not a key of the {config}"
                           + (f"; did you mean {meant}?" if meant else ""),
                           str(path), f"grid.{key}"))
    return [marks.locate(p, where) for p in out]


def _first_per_key(problems: list[Problem]) -> list[Problem]:
    """The first problem of each key (a bad value in several grid points is one)."""
    seen, kept = set(), []
    for p in problems:
        if (p.key, p.message) not in seen:
            kept.append(p)
            seen.add((p.key, p.message))
    return kept


def _setting_problems(model, config, setting, path, marks) -> list[Problem]:
    """Problems of one grid point's resolved config, placed at the grid keys that made it."""
    _, found = problems_of(model, config, file=path)
    out = []
    for p in found:
        culprit = next((k for k in setting if p.key and p.key.startswith(k)), None)
        key = f"grid.{culprit}" if culprit else p.key
        where = ("grid", culprit) if culprit else ()
        out.append(marks.locate(Problem(f"{p.key}: {p.message}" if culprit else p.message,
                                        str(path), key, p.expected), where))
    return out
