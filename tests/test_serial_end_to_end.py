"""End to end: `rig emulate` as a real subprocess on a real pty, read by the host driver."""

import time

import numpy as np

from firmware_interfaces.serial_sensor import SerialSensorDriver
from rig.emulation.process import EmulatorProcess

RATE = 50_000         # plots/s (1.2 MB/s: far beyond any UART)
DURATION_S = 3.0


def test_every_plot_sent_is_received_at_a_high_rate():
    with EmulatorProcess(["emulate", "--rate", str(RATE), "--duration", str(DURATION_S),
                          "--seed", "7"], name="e2e sensor") as proc:
        batches = []
        with SerialSensorDriver(proc.device, sensor_id=9) as sensor:
            summary = None
            deadline = time.monotonic() + DURATION_S + 20
            while time.monotonic() < deadline:
                batches.append(sensor.read_plots(timeout_s=0.2))
                summary = summary or proc.summary
                if summary and sum(map(len, batches)) >= summary["plots_sent"]:
                    break
            counters = sensor.counters()
    plots = np.concatenate(batches)
    assert summary is not None, "emulator did not finish"
    assert summary["overrun_frames"] == 0 and summary["unsent_bytes"] == 0
    assert summary["plots_sent"] >= 0.9 * RATE * DURATION_S
    assert len(plots) == summary["plots_sent"]
    # sequence numbers prove none was lost: every plot frame from first to last is here
    seqs = np.unique(plots["seq"])
    assert seqs[-1] == summary["last_plot_seq"]
    assert counters["seq_gaps"] == 0 and counters["crc_errors"] == 0
    assert counters["bytes_skipped"] == 0 and counters["plots_dropped"] == 0
    assert np.all(plots["sensor_id"] == 9)
    assert np.all(np.diff(plots["t_sensor"]) >= 0)
    # arrival is stamped at the read: after the plot's detection on the same clock
    assert np.all(plots["t_arrival_ns"] >= plots["t_sensor"] * 1e9 - 1e6)
