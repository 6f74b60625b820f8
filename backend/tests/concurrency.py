"""Two writers on their own connections, one stopped at a chosen point, for deterministic PostgreSQL lock tests.

The first writer is stopped (``Pause.stop()`` called where it should wait); the second then runs until
PostgreSQL reports it waiting for a lock (``pg_stat_activity``) or it has finished; then the first goes
on. A short ``deadlock_timeout`` and ``lock_timeout`` make a regression fail in seconds instead of hanging.
"""

import threading
import time

from django.db import connection, connections

WAIT = 15  # seconds: a step that takes longer is a hang


class Writer(threading.Thread):
    """Runs one write on its own connection and keeps its outcome (a result or the exception)."""

    def __init__(self, name: str, write):
        super().__init__(name=name)
        self.write, self.result, self.error, self.pid = write, None, None, None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET deadlock_timeout = '100ms'")
                cursor.execute("SET lock_timeout = '8s'")
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.result = self.write()
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            connections.close_all()


class Pause:
    """Stops the thread named ``thread`` where ``stop()`` is called, until the test calls ``release()``."""

    def __init__(self, thread: str):
        self.thread, self.reached, self.released = thread, threading.Event(), threading.Event()

    def stop(self) -> None:
        if threading.current_thread().name == self.thread:
            self.reached.set()
            assert self.released.wait(WAIT), "never released"

    def release(self) -> None:
        self.released.set()


def wait_blocked_or_done(writer: Writer) -> str:
    """Wait until the writer waits for a row lock held by another transaction, or has finished."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if not writer.is_alive():
            return "done"
        if writer.pid is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [writer.pid])
                row = cursor.fetchone()
            if row and row[0] == "Lock":
                return "blocked"
        time.sleep(0.02)
    raise AssertionError(f"{writer.name} neither waited for a lock nor finished")


def run_against(first: Writer, pause: Pause, second: Writer) -> str:
    """Start ``first`` until it pauses, then ``second`` until it waits or ends, then let ``first`` go on."""
    first.start()
    assert pause.reached.wait(WAIT), f"{first.name} never reached its pause"
    second.start()
    try:
        state = wait_blocked_or_done(second)
    finally:
        pause.release()
        first.join(WAIT)
        second.join(WAIT)
    assert not first.is_alive() and not second.is_alive(), "a writer is still running"
    return state
