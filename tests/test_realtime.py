"""The loop's last stretch before a tick: a sleep that keeps the interpreter."""

import threading
import time

from rig.bench.realtime import sleep_until_holding_gil


def test_sleep_holding_the_gil_ends_on_time_and_no_thread_runs_meanwhile():
    woken = threading.Event()
    ran_at = []

    def waiter():
        woken.wait()
        ran_at.append(time.monotonic_ns())      # needs the interpreter

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)                            # the waiter is blocked in woken.wait()
    deadline = time.monotonic_ns() + 100_000_000
    woken.set()
    sleep_until_holding_gil(deadline)
    assert time.monotonic_ns() >= deadline
    thread.join()
    assert ran_at[0] >= deadline                # it could run only once the sleep was over


def test_a_deadline_already_past_returns_at_once():
    before = time.monotonic_ns()
    sleep_until_holding_gil(before - 1_000_000_000)
    assert time.monotonic_ns() - before < 1_000_000_000
