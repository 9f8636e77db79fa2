"""The stop watchdog: a stopped run ends within its budget with the last report's exit code."""

import subprocess
import sys
import textwrap
import time

PROGRAM = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    from rig.bench.stopping import StopWatchdog

    out = Path(sys.argv[1])
    dog = StopWatchdog(out, budget_s=0.3)
    signal.signal(signal.SIGINT, lambda n, f: dog.arm(n))
    if sys.argv[2] == "reported":
        dog.reported(5, "the quick report")
    (out / ".report.json.abc.tmp").write_text("half a rep")
    print("ready", flush=True)
    time.sleep(30)                     # a report that takes too long
""")


def start(tmp_path, mode):
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM, str(tmp_path), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def stop(proc, signals=1):
    sent = time.monotonic()
    for _ in range(signals):
        proc.send_signal(2)
    proc.wait(timeout=20)
    return time.monotonic() - sent, proc.stderr.read()


def test_past_its_budget_a_stopped_run_ends_with_the_last_report_s_code(tmp_path):
    proc = start(tmp_path, "reported")
    after_s, err = stop(proc)
    assert proc.returncode == 5 and after_s >= 0.3              # not before the budget ends
    assert "the quick report is in" in err and "(exit 5)" in err
    assert not list(tmp_path.glob(".*.tmp"))                   # no half report left


def test_without_a_report_it_ends_as_a_signal_would(tmp_path):
    proc = start(tmp_path, "none")
    _, err = stop(proc)
    assert proc.returncode == 130 and "no report written" in err


def test_a_second_signal_ends_it_at_once(tmp_path):
    proc = start(tmp_path, "reported")
    proc.send_signal(2)
    time.sleep(0.05)
    _, err = stop(proc)
    assert proc.returncode == 5 and "ended at a second signal" in err
