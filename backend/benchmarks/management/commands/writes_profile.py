"""Where a write's time goes: the bench's writes on its S school, in process, with the engine and without.

``manage.py writes_profile --students S --weeks W`` reuses the S school ``manage.py bench`` made (same sizes) and
runs each write the bench measures (a mark save, a grade save, a roll call of 30; each an existing row changed and
committed, alternately back and forth) ``--repeats`` times, then prints per write the median whole save, the time
in the database driver's ``execute``, the time Django spent compiling querysets to SQL, and the queries, with the
engine connected and without it (the bare save). With ``--sql``, every query of one more save with its time and
the step of the engine it belongs to (naming the steps slows the save: it is not one of those timed). The
originals are restored at the end, as the bench does.
"""

import statistics
import time
from contextlib import nullcontext

from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models.sql import compiler

from analytics.tests.write_profile import Profile
from benchmarks.service import _QueryTimer, bench_school_ensure, engine_off, write_actions

COMPILERS = (compiler.SQLCompiler, compiler.SQLInsertCompiler, compiler.SQLUpdateCompiler, compiler.SQLDeleteCompiler)


class _CompileTimer:
    """Adds up the time of the outermost ``as_sql`` of Django's SQL compilers while it is entered."""

    def __init__(self):
        self.seconds, self._depth, self._originals = 0.0, 0, {}

    def __enter__(self):
        for cls in COMPILERS:
            original = cls.__dict__.get("as_sql")
            if original is None:
                continue
            self._originals[cls] = original

            def timed(instance, *args, _original=original, **kwargs):
                self._depth += 1
                started = time.perf_counter()
                try:
                    return _original(instance, *args, **kwargs)
                finally:
                    self._depth -= 1
                    if not self._depth:
                        self.seconds += time.perf_counter() - started

            cls.as_sql = timed
        return self

    def __exit__(self, *exc):
        for cls, original in self._originals.items():
            cls.as_sql = original


class Command(BaseCommand):
    help = "Where a write's time goes: database, compiling SQL, the rest (the bench's S school, in process)."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=1000, help="S, as given to bench (default 1000).")
        parser.add_argument("--weeks", type=int, default=12, help="Weeks, as given to bench (default 12).")
        parser.add_argument("--repeats", type=int, default=20, help="Saves per write (median; default 20).")
        parser.add_argument("--sql", action="store_true", help="Print every query of one more save with its step.")

    def handle(self, *args, students, weeks, repeats, sql, **options):
        bench = bench_school_ensure(label="S", students=students, weeks=weeks, say=self.stdout.write)
        actions, restore = write_actions(bench)
        self.stdout.write(
            f"{connection.vendor}, S = {students} students, {weeks} weeks; median of {repeats} saves "
            "(whole save / in execute / compiling SQL / the rest; queries)"
        )
        try:
            for name, action in actions.items():
                for engine, context in (("engine on", nullcontext), ("engine off", engine_off)):
                    with context():
                        action(0)  # warm-up: the compiled reads, the connection
                        self.stdout.write(f"  {name:15} {engine:10} {self._measure(action, repeats)}")
                        if sql and engine == "engine on":
                            with Profile() as profile:  # names each query's step: slower, so not timed above
                                action(repeats + 1)
                            # Back to the state of the last save timed, which the saves without the engine end in
                            # too: the summaries stay those of the data (the originals' restore recomputes them).
                            action(repeats)
                            self.stdout.write(profile.text(f"{name}, one more save"))
        finally:
            restore()

    @staticmethod
    def _measure(action, repeats: int) -> str:
        whole, database, compiling, rest = [], [], [], []
        for index in range(1, repeats + 1):
            timer = _QueryTimer()
            with connection.execute_wrapper(timer), _CompileTimer() as compile_timer:
                started = time.perf_counter()
                action(index)
                whole.append((time.perf_counter() - started) * 1000)
            database.append(timer.seconds * 1000)
            compiling.append(compile_timer.seconds * 1000)
            rest.append(whole[-1] - database[-1] - compiling[-1])
        parts = [statistics.median(values) for values in (whole, database, compiling, rest)]
        return " / ".join(f"{part:5.1f}" for part in parts) + f" ms; {timer.count} queries"
