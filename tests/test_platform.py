"""The platform probe beside the rig, and the verdicts it lets the rig attribute."""

import time

import numpy as np

from rig.harness.limits import FAIL, INCONCLUSIVE, PASS, Limit, judge_percentile
from rig.harness.platform import PlatformProbe, PlatformSamples


def test_the_probe_records_every_wake_up_of_a_real_run(tmp_path):
    probe = PlatformProbe(tmp_path)
    t0 = time.monotonic_ns() + 1_000_000_000                  # the probe's start-up, loaded
    probe.start(t0, t0 + 600_000_000)
    time.sleep(1.1)
    spin_until = time.monotonic() + 0.4                         # the watched tree uses a CPU
    while time.monotonic() < spin_until:
        pass
    time.sleep(0.5)
    samples = probe.stop()
    assert samples is not None and probe.path.exists()          # kept as the run's evidence
    assert 400 <= len(samples.late_ms) <= 601                    # one a millisecond
    assert np.all(samples.late_ms >= 0) and np.all(np.diff(samples.target_ns) > 0)
    summary = samples.summary()
    assert summary["wakeup_lateness_ms"]["count"] == len(samples.late_ms)
    assert summary["steal_cpu_s_per_s"] is not None and summary["procs_running"]["max"] >= 1
    assert np.all(np.diff(samples.wait_ms) >= 0)                # the test's thread watched
    assert samples.ran_ms[-1] - samples.ran_ms[0] >= 300        # its spinning, on a CPU
    assert summary["rig_cpu_s_per_s"] > 0.3                     # the test's process tree


def synthetic(late_at_s: dict[float, float], waited_at_s: dict[float, float] | None = None,
              t0_ns: int = 0) -> PlatformSamples:
    """A probe record of 2 s, on time except the wake-ups given (run time s -> late ms) and
    the loop's waits for a CPU (run time s -> ms waited just before)."""
    target = t0_ns + np.arange(0, 2_000_000_000, 1_000_000, dtype=np.int64)
    late = np.zeros(len(target))
    for t_s, ms in late_at_s.items():
        late[int(t_s * 1000)] = ms
    waited = np.zeros(len(target))
    for t_s, ms in (waited_at_s or {}).items():
        waited[int(t_s * 1000)] = ms
    none = np.zeros(0, np.int64)
    return PlatformSamples(target, late, np.zeros(len(target)), np.cumsum(waited), none, none,
                           none, none, none, 1, t0_ns)


def test_late_around_looks_back_over_each_sample():
    p = synthetic({0.5: 8.0, 1.5: 1.0})
    got = p.late_around(np.array([0.505, 0.52, 1.5, 1.9]), np.array([0.010, 0.010, 0.0, 0.5]))
    assert list(got) == [8.0, 0.0, 1.0, 1.0]


def test_the_loop_waiting_for_a_cpu_is_the_platform_being_late():
    p = synthetic({}, waited_at_s={0.700: 2.0, 0.702: 3.0})
    got = p.late_around(np.array([0.703, 0.703, 0.9]), np.array([0.005, 0.0015, 0.1]))
    assert list(got) == [5.0, 3.0, 0.0]


def test_a_limit_missed_while_the_machine_was_late_is_the_platform_s():
    lim = Limit("tick_jitter_ms", "p95", "<=", 2.0)
    x = np.r_[np.full(405, 0.3), np.full(45, 6.0)]               # 10 % late: fails p95
    assert judge_percentile(lim, x, 6.0).outcome == FAIL
    platform_late = np.r_[np.zeros(405), np.full(45, 5.0)]       # the machine slept 5 ms late
    verdict = judge_percentile(lim, x, 6.0, platform_late_ms=platform_late)
    assert verdict.outcome == INCONCLUSIVE and verdict.attributed_to == "platform"
    assert verdict.reason.startswith("platform:")
    assert "without them the rig passes" in verdict.reason
    # the same misses with the machine on time are the rig's
    rig_late = judge_percentile(lim, x, 6.0, platform_late_ms=np.zeros(450))
    assert rig_late.outcome == FAIL and rig_late.attributed_to == "rig"
    # a machine late by less than the samples' excess explains nothing
    slight = judge_percentile(lim, x, 6.0, platform_late_ms=np.full(450, 3.9))
    assert slight.outcome == FAIL
    # nor does any machine explain a limit no sample could meet
    impossible = Limit("processing_latency_ms", "p50", "<=", 1e-6)
    assert judge_percentile(impossible, np.full(100, 1.3), 1.3,
                            platform_late_ms=np.full(100, 0.3)).outcome == FAIL
    # and a healthy run passes whatever the machine did
    assert judge_percentile(lim, np.full(450, 0.3), 0.3,
                            platform_late_ms=np.full(450, 9.0)).outcome == PASS


def test_each_timing_sample_is_matched_with_the_platform_while_it_was_made():
    from types import SimpleNamespace

    from rig.bench.report import platform_lateness

    # the machine slept 6 ms late at 0.503 s, and the loop waited 4 ms for a CPU at 1.205 s
    p = synthetic({0.503: 6.0}, waited_at_s={1.205: 4.0})
    result = SimpleNamespace(
        tick_times_s=np.array([0.4, 0.5, 0.6, 0.7]),           # schedules, 100 ms apart
        tick_lateness_ms=np.array([0.0, 7.0, 0.0, 0.0]),       # the 0.5 s tick started late
        tick_jitter_ms=np.array([7.0, 7.0, 0.0]),              # so two intervals are off
        processing_times_s=np.array([1.207, 1.200, 1.230]),    # publications
        processing_latency_ms=np.array([5.0, 2.0, 4.0]))       # arrival to publication
    late = platform_lateness(p, result)
    # a tick: from before its schedule until after it started (0.499 to 0.508 s)
    assert list(late["tick_lateness_ms"]) == [0.0, 6.0, 0.0, 0.0]
    # an interval between two ticks: the later of the two ticks' delays, both intervals
    assert list(late["tick_jitter_ms"]) == [6.0, 6.0, 0.0]
    # a plot: from its arrival to just after its publication; a wait 5 ms after it is not its
    assert list(late["processing_latency_ms"]) == [4.0, 0.0, 0.0]


def with_cpu_use(p: PlatformSamples, rig_per_s: float, others_per_s: float,
                 steal_per_s: float = 0.0, loop_per_s: float = 0.0) -> PlatformSamples:
    """``p`` on two CPUs, with their use every 100 ms: CPU-seconds a second used by the rig's
    process tree (of which ``loop_per_s`` by its loop thread), by other processes and stolen;
    the rest idle."""
    stat_t = p.t0_ns + np.arange(0, 2_000_000_000, 100_000_000, dtype=np.int64)
    k = np.arange(len(stat_t))
    ticks = 10.0 * k                                     # USER_HZ ticks in each 100 ms
    loop_ms = (p.target_ns - p.t0_ns) * 1e-9 * loop_per_s * 1e3
    idle_per_s = 2 - rig_per_s - others_per_s - steal_per_s    # of two CPUs
    return PlatformSamples(p.target_ns, p.late_ms, loop_ms, p.wait_ms, stat_t,
                           np.round(ticks * idle_per_s).astype(np.int64),
                           np.round(ticks * steal_per_s).astype(np.int64),
                           np.round(ticks * rig_per_s).astype(np.int64),
                           np.ones(len(stat_t), np.int64), 2, p.t0_ns)


def test_a_machine_kept_busy_by_the_rig_itself_excuses_nothing():
    p = synthetic({1.0: 4.0}, waited_at_s={1.002: 3.0})
    at, before = np.array([1.003]), np.array([0.005])
    # others than the rig used the CPUs: the late wake-up and the wait are the platform's
    assert list(p.late_around(at, before)) == [4.0]
    assert np.allclose(with_cpu_use(p, rig_per_s=0.2, others_per_s=1.8).late_around(at, before),
                       4.0 * 0.9)
    # the rig's own emulators and loop kept both CPUs busy: nothing to excuse
    own = with_cpu_use(p, rig_per_s=2.0, others_per_s=0.0, loop_per_s=1.0)
    assert list(own.late_around(at, before)) == [0.0]
    # the hypervisor stealing the CPU is the platform's
    stolen = with_cpu_use(p, rig_per_s=0.5, others_per_s=0.0, steal_per_s=1.5, loop_per_s=0.5)
    share_wake, share_wait = stolen.outside_shares(at)
    assert np.allclose(share_wake, 0.75) and np.allclose(share_wait, 1.0)
    summary = stolen.summary()
    assert summary["rig_cpu_s_per_s"] == 0.5 and summary["steal_cpu_s_per_s"] == 1.5
    assert summary["others_cpu_s_per_s"] == 0.0
