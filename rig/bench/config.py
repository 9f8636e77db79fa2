"""Bench configurations: what a station is wired to, how long to run, and the limits.

A bench config (YAML) names a scenario (which holds the origin, the radar models of every
sensor and, in emulation, the targets), says for each sensor how it is reached (``emulated``
or a real port, UDP address or VISA resource), where the fused picture goes, which limits the
run must hold, and whether to record. Unknown keys are errors naming the file and the key.
See ``bench_configs/`` for commented examples.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rig.emulation.faults import FaultSpec
from rig.errors import ConfigError, Problem
from rig.firmware import FamilyOptions, get_interface
from rig.firmware import available as available_families
from rig.fusion.params import FusionParams
from rig.harness.limits import Limit, parse_limits
from rig.scenario import Scenario, ScenarioSpec, build_scenario, load_scenario_spec
from rig.scenario.spec import MAX_RANDOM_TARGETS, Variant
from rig.scoring.defaults import MAX_CUTOFF_M, MAX_ORDER
from rig.sensor_models.spec import RadarSpec, SiteSpec
from rig.transport.serial_line import SerialLine
from rig.validation import (NO_MARKS, KeyMarks, YamlDocument, by_position, did_you_mean,
                            key_path, problems_of, read_yaml)

CONFIG_VERSION = 1
EMULATED = "emulated"
#: URL schemes pyserial opens (serial_for_url), for serial feeds
PYSERIAL_SCHEMES = frozenset({"alt", "cp2110", "hwgrep", "loop", "rfc2217", "socket", "spy"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioRef(_Strict):
    """Where the scenario comes from, and what to change in it for this run."""

    source: str = Field("builtin", description="'builtin', 'builtin:NAME' or a YAML file "
                        "(relative to the bench config)")
    seed: int | None = Field(None, ge=0)
    targets: int | None = Field(None, ge=0, le=MAX_RANDOM_TARGETS,
                                description="number of random targets")
    biased: bool = Field(False, description="give every sensor random biases and clock errors")
    variant: Variant | None = Field(None, description="add the scenario's variant of that name "
                                    "(its sensors after its own; 'passive': one passive "
                                    "angle-only sensor per partner; 'tracks': a third "
                                    "partner C sharing tracks only; 'passive+tracks': both)")


class SensorEntry(BaseModel):
    """One sensor of the station: a radar of the scenario, and how to reach it. Keys beyond
    these belong to the sensor's family (its ``options`` model: ``baudrate`` of a
    serial-sensor, ...); :func:`check_family_options` checks them."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                    description="the radar's id in the scenario (names files: letters, "
                    "digits, '_', '.', '-')")
    family: str = Field("serial-sensor", description="firmware interface family")
    transport: str = Field(EMULATED, description="'emulated', or a serial port / pyserial URL, "
                           "udp://@HOST:PORT to listen on, or a VISA resource")
    required: bool = Field(True, description="if it cannot be opened: exit 3 (true) or run "
                           "without it (false)")
    sac: int = Field(0, ge=0, le=255, description="System Area Code: the sensor's address in "
                     "ASTERIX (its CAT048 plots, I062/340 of the tracks it updates)")
    sic: int | None = Field(None, ge=0, le=255, description="System Identification Code "
                            "(default: 1 + the sensor's index)")
    stale_after_s: float | None = Field(None, gt=0, description="silent this long: stale "
                                        "(default 2.5 scan periods)")

    @field_validator("id", mode="before")
    @classmethod
    def _text(cls, value):
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("family")
    @classmethod
    def _family(cls, value):
        known = available_families()
        if value not in known:
            raise ValueError("one of " + ", ".join(known))
        return value

    @property
    def emulated(self) -> bool:
        return self.transport == EMULATED

    @cached_property
    def options(self) -> FamilyOptions:
        """The family's own keys of this entry, validated by the family's options model."""
        return get_interface(self.family).options.model_validate(self.model_extra or {})


def family_option_problems(entry: SensorEntry, index: int, *, file, prefix=(),
                           marks: KeyMarks = NO_MARKS) -> list[Problem]:
    """A sensor's own keys against its family's options model: every problem, naming the
    file, the key and what the family expects."""
    model = get_interface(entry.family).options
    extra = entry.model_extra or {}
    where = (*prefix, "sensors", index)
    problems = []
    keys = [*SensorEntry.model_fields, *model.model_fields]
    for key in sorted(set(extra) - set(model.model_fields)):
        meant = did_you_mean(key, keys)
        message = f"unknown key for family {entry.family}"
        problems.append(marks.locate(Problem(
            message + (f"; did you mean {meant}?" if meant else ""), str(file),
            key_path((*where, key)), None if meant else "one of " + ", ".join(keys)),
            (*where, key)))
    known = {key: value for key, value in extra.items() if key in model.model_fields}
    problems += problems_of(model, known, file=file, prefix=where, marks=marks)[1]
    return problems


def check_family_options(config: BenchConfig, *, file, prefix=(),
                         marks: KeyMarks = NO_MARKS) -> None:
    """Every sensor's own keys against its family's options model; every problem in one
    ConfigError naming the file, the key and what the family expects."""
    problems = [p for i, entry in enumerate(config.sensors)
                for p in family_option_problems(entry, i, file=file, prefix=prefix, marks=marks)]
    if problems:
        raise ConfigError(problems=by_position(problems))


def transport_problem(url: str, kind: str) -> str | None:
    """Why ``url`` cannot name a sensor reached by transport ``kind`` (the family's:
    ``serial``, ``udp``, ``visa``), or None when it can (or rig cannot tell beforehand)."""
    from rig.errors import UsageError
    from rig.transport import SPY_PREFIX, TRANSPORTS
    from rig.transport.udp import parse_udp_url

    url = url.removeprefix(SPY_PREFIX)
    scheme = url.partition("://")[0] if "://" in url else None
    if kind == "udp" or scheme == "udp":
        if scheme != "udp":
            return f"{url!r} is not udp://@HOST:PORT (this family listens on UDP)"
        try:
            listen, _, _ = parse_udp_url(url)
        except UsageError as e:
            return str(e)
        if kind == "udp" and not listen:
            return f"{url}: the sensor's driver listens; give udp://@HOST:PORT"
    elif kind == "visa":
        from pyvisa import rname

        try:
            resource = rname.parse_resource_name(url.removeprefix("visa://"))
        except rname.InvalidResourceName as e:
            return f"{url!r} is not a VISA resource: {e}"
        port = getattr(resource, "port", None)
        if port is not None and not (str(port).isdigit() and 0 < int(port) < 65536):
            return f"{url}: port {port!r} is not a number from 1 to 65535"
    elif kind == "serial":
        if scheme is None and not url.startswith("/"):
            return f"{url!r} is neither a serial device path (/dev/...) nor a URL"
        if scheme is not None and scheme not in PYSERIAL_SCHEMES | set(TRANSPORTS):
            return (f"{url}: unknown scheme {scheme}://; expected one of pyserial's "
                    f"({', '.join(sorted(PYSERIAL_SCHEMES))}), udp:// or visa://")
        from rig.transport.serial_port import check_network_url

        try:
            check_network_url(url)
        except UsageError as e:
            return str(e)
    return None


def sensor_transport_problem(entry: SensorEntry, index: int, *, file, prefix=(),
                             marks: KeyMarks = NO_MARKS) -> Problem | None:
    """Why a real sensor's transport cannot work with the kind its family speaks, or None."""
    if entry.emulated:
        return None
    problem = transport_problem(entry.transport, get_interface(entry.family).transport)
    if problem is None:
        return None
    where = (*prefix, "sensors", index, "transport")
    return marks.locate(Problem(problem, str(file), key_path(where),
                                f"a transport for family {entry.family}"), where)


def check_sensor_transports(config: BenchConfig, *, file, prefix=(),
                            marks: KeyMarks = NO_MARKS) -> None:
    """Every real sensor's transport against the kind of transport its family speaks; those
    that cannot work in one ConfigError naming the file and the keys."""
    problems = [sensor_transport_problem(entry, i, file=file, prefix=prefix, marks=marks)
                for i, entry in enumerate(config.sensors)]
    problems = [p for p in problems if p is not None]
    if problems:
        raise ConfigError(problems=problems)


def sensor_problems(raw_sensors, *, file, marks: KeyMarks = NO_MARKS) -> list[Problem]:
    """The family keys and transports of every sensor entry that is valid on its own (the
    entries' own problems are the bench config's)."""
    if not isinstance(raw_sensors, list):
        return []
    problems = []
    for i, raw in enumerate(raw_sensors):
        entry = problems_of(SensorEntry, raw)[0]
        if entry is None:
            continue
        problems += family_option_problems(entry, i, file=file, marks=marks)
        transport = sensor_transport_problem(entry, i, file=file, marks=marks)
        if transport is not None:
            problems.append(transport)
    return problems


def family_keys_only(raw_config: dict) -> dict:
    """A config as a recording kept it, less the sensor keys its family does not take (older
    recordings list every family's keys, e.g. ``baudrate``, for every sensor)."""
    sensors = []
    for entry in raw_config.get("sensors", []):
        family = entry.get("family", SensorEntry.model_fields["family"].default)
        if family in available_families():
            known = {*SensorEntry.model_fields, *get_interface(family).options.model_fields}
            entry = {key: value for key, value in entry.items() if key in known}
        sensors.append(entry)
    return {**raw_config, "sensors": sensors}


class FeedEntry(SerialLine, _Strict):
    """One partner's feed of the fused picture. A serial feed takes the line settings
    (``baudrate``, ``bytesize``, ``parity``, ``stopbits``, ``flow_control``)."""

    partner: str = Field(min_length=1)
    format: Literal["cat062"] = "cat062"
    transport: str = Field(description="udp://HOST:PORT, or a serial port / pyserial URL "
                           "(HDLC-framed CAT062)")

    @field_validator("transport")
    @classmethod
    def _transport(cls, value: str) -> str:
        scheme = value.partition("://")[0] if "://" in value else None
        if scheme == "udp":
            from rig.errors import UsageError
            from rig.transport.udp import parse_udp_url

            try:
                listen, _, _ = parse_udp_url(value)
            except UsageError as e:
                raise ValueError(str(e)) from None
            if listen:
                raise ValueError(f"{value}: a feed sends; give udp://HOST:PORT, not @")
        elif scheme is None and not value.startswith("/"):
            raise ValueError(f"{value!r} is neither udp://HOST:PORT, a pyserial URL nor a "
                             f"serial device path (/dev/...)")
        elif scheme is not None and scheme not in PYSERIAL_SCHEMES:
            raise ValueError(f"{value}: unknown scheme {scheme}://; expected udp:// or one "
                             f"of pyserial's ({', '.join(sorted(PYSERIAL_SCHEMES))})")
        else:
            from rig.errors import UsageError
            from rig.transport.serial_port import check_network_url

            try:
                check_network_url(value)
            except UsageError as e:
                raise ValueError(str(e)) from None
        return value

    @model_validator(mode="after")
    def _line_settings_on_a_line(self):
        given = [name for name, field in SerialLine.model_fields.items()
                 if getattr(self, name) != field.default]
        if given and self.transport.startswith("udp://"):
            raise ValueError(f"{', '.join(given)}: serial line settings on a UDP feed")
        return self


class OutputsEntry(_Strict):
    """The fused picture, the same to every partner."""

    period_s: float = Field(1.0, ge=0.001, le=60, description="the whole picture, this often")
    updates: bool = Field(True, description="also send each track as soon as a plot updates it")
    deadline_s: float = Field(0.05, gt=0, le=60, description="a picture sent later than this "
                              "after its schedule misses its deadline")
    sac: int = Field(0, ge=0, le=255, description="System Area Code of the fusion centre")
    sic: int = Field(100, ge=0, le=255, description="System Identification Code of the "
                     "fusion centre")
    feeds: list[FeedEntry] = []


class RecordEntry(_Strict):
    path: str = Field(description="recording file (relative: inside the run's output folder)")
    flush_interval_s: float = Field(0.5, gt=0)
    max_file_bytes: int | None = Field(None, gt=0)
    max_file_s: float | None = Field(None, gt=0)
    keep_files: int | None = Field(None, ge=1)


class FaultEntry(FaultSpec):
    """A fault injected by one emulated sensor (see rig.emulation.faults for the kinds)."""

    sensor: str = Field(min_length=1)


class AccuracyEntry(_Strict):
    """How the published picture is scored against the truth (emulated mode)."""

    warmup_s: float = Field(0.0, ge=0, description="scoring starts this long after the start "
                            "(tracks need a few scans to be confirmed)")
    cutoff_m: float = Field(1000.0, gt=0, le=MAX_CUTOFF_M, description="OSPA/GOSPA cutoff c")
    order: float = Field(2.0, ge=1, le=MAX_ORDER, description="OSPA/GOSPA order p (c to the "
                         "p stays a number)")


class RealtimeEntry(_Strict):
    gc_freeze: bool = Field(True, description="gc.freeze() after start-up, no collection in "
                            "the loop")
    spin_s: float = Field(0.002, ge=0, le=0.01, description="busy-wait this long before "
                          "each output tick (never under SCHED_FIFO): it absorbs a late "
                          "wake-up from the sleep before it")
    switch_interval_s: float = Field(0.0005, gt=0, le=0.1, description="the interpreter's "
                                     "switch interval during the run (sys.setswitchinterval; "
                                     "Python's default is 0.005): how long the loop can wait "
                                     "for the GIL while a driver thread holds it")
    tick_guard_s: float = Field(0.003, ge=0, le=0.1, description="start no fusion cycle "
                                "this close to an output tick: plots arriving then wait for "
                                "the tick, which starts on time")
    stall_s: float = Field(0.0, ge=0, le=0.1, description="an injected fault of the rig "
                           "itself: every fusion cycle busy-waits this long (to see the "
                           "timing verdicts point at rig; benchmarks/bench_verdicts.py)")


class StationEntry(_Strict):
    """Who ran the bench, where, and on what: shown at the top of the report."""

    name: str | None = Field(None, description="the bench station")
    operator: str | None = Field(None, description="who ran it")
    device_under_test: str | None = Field(None, description="what was tested (model, "
                                          "serial number, firmware)")
    notes: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, value):
        """A number (a serial number, a station number) is taken as its text."""
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        return str(value) if numeric else value


class BenchConfig(_Strict):
    """A whole bench configuration file."""

    version: Literal[1] = CONFIG_VERSION
    name: str = "bench"
    mode: Literal["emulated", "bench", "mixed"] = "emulated"
    duration_s: float = Field(gt=0, le=7 * 86400)
    origin: SiteSpec | None = None
    scenario: ScenarioRef = ScenarioRef()
    sensors: list[SensorEntry] = Field(min_length=1)
    fusion: FusionParams = FusionParams()
    outputs: OutputsEntry = OutputsEntry()
    limits: dict = {}
    accuracy: AccuracyEntry = AccuracyEntry()
    record: RecordEntry | None = None
    faults: list[FaultEntry] = []
    realtime: RealtimeEntry = RealtimeEntry()
    station: StationEntry = StationEntry()

    @model_validator(mode="after")
    def _consistent(self):
        ids = [s.id for s in self.sensors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"sensor ids must be unique, got {ids}")
        emulated = [s.emulated for s in self.sensors]
        if self.mode == "emulated" and not all(emulated):
            raise ValueError("mode 'emulated' needs every sensor's transport to be 'emulated'")
        if self.mode == "bench" and any(emulated):
            raise ValueError("mode 'bench' talks to hardware only: no 'emulated' transports")
        by_id = {s.id: s for s in self.sensors}
        for f in self.faults:
            if f.sensor not in by_id:
                raise ValueError(f"fault on sensor {f.sensor!r}: no such sensor")
            if not by_id[f.sensor].emulated:
                raise ValueError(f"fault on sensor {f.sensor!r}: faults are injected by "
                                 "emulators; that sensor is real")
            if f.end_s > self.duration_s:
                raise ValueError(f"fault {f.kind} on {f.sensor} ends after the run")
        return self


class LoadedConfig:
    """A validated bench config with everything it refers to resolved."""

    def __init__(self, path: Path, config: BenchConfig, scenario_spec: ScenarioSpec,
                 scenario: Scenario, radars: list[RadarSpec], limits: list[Limit]):
        self.path = path
        self.config = config
        self.scenario_spec = scenario_spec
        self.scenario = scenario
        self.radars = radars          # one per config sensor, in config order
        self.limits = limits

    @property
    def has_truth(self) -> bool:
        """Truth is known only when every sensor is emulated."""
        return self.config.mode == EMULATED

    def resolved_scenario_spec(self) -> ScenarioSpec:
        """The scenario as this run builds it (seed, target count, duration and any drawn
        biases baked in), for emulator processes to build the very same one."""
        targets = self.config.scenario.targets
        random = self.scenario_spec.random
        if targets is not None:
            random = random.model_copy(update={"count": targets})
        return self.scenario_spec.model_copy(update={
            "seed": self.scenario.seed, "duration_s": self.scenario.duration_s,
            "sensors": list(self.scenario.sensors), "random": random})

    def write_scenario(self, path: Path) -> Path:
        spec = self.resolved_scenario_spec()
        path.write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
        return path


def _one_per_key(problems: list[Problem]) -> list[Problem]:
    """The first problem of each key (a bound both not finite and not a number is one)."""
    seen = set()
    kept = []
    for problem in problems:
        if problem.key is None or problem.key not in seen:
            kept.append(problem)
            seen.add(problem.key)
    return kept


def check_bench_config(path: Path, raw) -> tuple[BenchConfig, list[Limit]]:
    """The bench config and limits of a config file's content ``raw`` (from
    :func:`read_yaml`); every problem found in one ConfigError."""
    doc = raw if isinstance(raw, YamlDocument) else YamlDocument(raw, NO_MARKS)
    data, marks = doc.data, doc.marks
    if not isinstance(data, dict):
        raise ConfigError("not a YAML mapping", file=str(path), expected="a bench config",
                          line=1, column=1)
    config, problems = problems_of(BenchConfig, data, file=path, marks=marks)
    problems += sensor_problems(data.get("sensors"), file=path, marks=marks)
    limits = []
    if isinstance(data.get("limits"), dict):
        try:
            limits = parse_limits(data["limits"], file=str(path))
        except ConfigError as e:
            problems += [marks.locate(p) for p in e.problems]
    if problems:
        raise ConfigError(problems=_one_per_key(by_position(problems)))
    return config, limits


def load_bench_config(path: str | Path, *, duration_s: float | None = None) -> LoadedConfig:
    """Read, validate and resolve a bench config; every problem found is in one ConfigError
    naming the file, the keys and their lines. ``duration_s`` replaces the file's before anything is built from it
    (the scenario lasts as long, fault schedules are checked against it)."""
    path = Path(path)
    doc = read_yaml(path)
    if duration_s is not None and isinstance(doc.data, dict):
        doc.data["duration_s"] = duration_s
    config, limits = check_bench_config(path, doc)
    source = config.scenario.source
    if not source.startswith("builtin"):
        source = str((path.parent / source).resolve()) if not Path(source).is_absolute() else source
    spec = load_scenario_spec(source)
    if config.origin is not None:
        spec = spec.model_copy(update={"origin": config.origin})
    duration = max(spec.duration_s, config.duration_s)
    scenario = build_scenario(spec, seed=config.scenario.seed, targets=config.scenario.targets,
                              duration_s=duration, biased=config.scenario.biased,
                              variant=config.scenario.variant)
    known = {s.id: s for s in scenario.sensors}
    missing = [doc.marks.locate(Problem(
        f"sensor {entry.id!r} is not in the scenario", str(path), f"sensors[{i}].id",
        "one of " + ", ".join(known))) for i, entry in enumerate(config.sensors)
        if entry.id not in known]
    if missing:
        raise ConfigError(problems=missing)
    radars = [known[entry.id] for entry in config.sensors]
    return LoadedConfig(path, config, spec, scenario, radars, limits)
