"""The driver skeleton every family's driver is built on: life cycle, faults, back-off."""

import time

import numpy as np

from firmware_interfaces.sensor_driver import DriverState, SensorDriver
from rig.errors import CodecError, TransportError
from rig.records import empty_plots


class ScriptedLink(SensorDriver):
    """A driver whose link does what a script of steps says, one step per read."""

    faults = (TransportError, CodecError)
    backoff_initial_s = 0.001

    def __init__(self, steps, *, refuse_connects=0):
        super().__init__("scripted", backoff_max_s=0.004)
        self.steps = list(steps)
        self.connected = False
        self.refuse_connects = refuse_connects
        self.connects = 0
        self.after_reconnect = 0

    def _connect(self):
        self.connects += 1
        if self.connects > 1 and self.refuse_connects:
            self.refuse_connects -= 1
            raise TransportError("no line")
        self.connected = True

    def _disconnect(self):
        self.connected = False

    def _is_connected(self):
        return self.connected

    def _after_reconnect(self):
        self.after_reconnect += 1

    def _on_fault(self, error):
        return isinstance(error, TransportError)    # a bad block leaves the link up

    def _read_once(self):
        step = self.steps.pop(0) if self.steps else "idle"
        if step == "plots":
            self._queue_plots(empty_plots(3))
        elif step == "lost":
            raise TransportError("line gone")
        elif step == "bad":
            raise CodecError("bad block")
        elif step == "bug":
            raise ZeroDivisionError("bug")
        else:
            time.sleep(0.001)


def wait_for(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.002)
    return predicate()


def test_a_lost_link_is_one_disconnect_however_many_tries_it_takes_to_come_back():
    driver = ScriptedLink(["plots", "lost", "plots"], refuse_connects=3).open()
    try:
        assert wait_for(lambda: driver.state == DriverState.STREAMING and not driver.steps)
        assert len(driver.read_plots(0)) == 6          # before the loss and after it
        c = driver.counters()
        assert c["disconnects"] == 1
        assert c["reconnect_attempts"] == 4 and c["reconnects"] == 1
        assert driver.after_reconnect == 1
        assert isinstance(driver.last_error, TransportError)
    finally:
        driver.close()
    assert driver.state == "closed" and not driver.connected


def test_a_fault_on_a_live_link_is_retried_without_a_disconnect():
    driver = ScriptedLink(["bad", "bad", "plots"]).open()
    try:
        assert wait_for(lambda: not driver.steps)
        assert wait_for(lambda: driver.state == DriverState.STREAMING)
        assert driver.counters()["disconnects"] == 0 and driver.connects == 1
        assert isinstance(driver.last_error, CodecError)
    finally:
        driver.close()


def test_a_bug_stops_the_reader_and_says_so():
    driver = ScriptedLink(["plots", "bug", "plots"]).open()
    try:
        assert wait_for(lambda: driver.state == DriverState.FAILED)
        assert isinstance(driver.last_error, ZeroDivisionError)
        assert driver.steps == ["plots"]               # nothing read after the bug
        assert len(driver.read_plots(0)) == 3
    finally:
        driver.close()


def test_states_compare_as_text_and_counters_hold_the_queue():
    driver = ScriptedLink([])
    assert driver.state == "closed" and str(DriverState.RECOVERING) == "recovering"
    c = driver.counters()
    assert {"disconnects", "reconnects", "reconnect_attempts", "plots_dropped",
            "queued_batches"} <= set(c)
    assert np.all(np.array(list(c.values())) == 0)
