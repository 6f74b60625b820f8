"""Progress lines for long-running analytics commands (written to stderr, so stdout stays a report)."""

import sys
import time


class ProgressPrinter:
    """Prints `label: done/total (pct%)` at most every half second, and always at the end of a stage."""

    def __init__(self, stream=None, interval: float = 0.5) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        percent = 100 * done // total if total else 100
        self.stream.write(f"{label}: {done}/{total} ({percent}%)\n")
        self.stream.flush()
