"""Where the queries of a write go: each query of one write with its time and the step of the engine it belongs to.

Used by ``test_write_queries.py`` (which asserts the counts) and, with ``-s``, prints the profile that
docs/benchmarks.md ("Grade saves and flags: where the queries go") records.
"""

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

BACKEND = Path(__file__).resolve().parents[2]
# The modules whose function names a step, innermost first wins.
_STEP_MODULES = ("analytics/engine/", "analytics/keys.py", "analytics/receivers.py", "homework/", "attendance/")


@dataclass
class Query:
    sql: str
    ms: float
    step: str


@dataclass
class Profile:
    queries: list[Query] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - started) * 1000
            self.queries.append(Query(sql, ms, _step()))

    def __enter__(self):
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)

    def __len__(self) -> int:
        return len(self.queries)

    def steps(self, prefix: str) -> list[Query]:
        return [query for query in self.queries if query.step.startswith(prefix)]

    def text(self, title: str) -> str:
        lines = [f"{title}: {len(self.queries)} queries, {sum(q.ms for q in self.queries):.2f} ms"]
        for number, query in enumerate(self.queries, 1):
            sql = " ".join(query.sql.split())
            lines.append(f"  {number:2} {query.ms:7.2f} ms  {query.step:45} {sql[:110]}")
        return "\n".join(lines)


def _step() -> str:
    """The innermost project function (engine, keys, receivers, services) on the stack."""
    for frame in reversed(traceback.extract_stack()):
        path = frame.filename.replace("\\", "/")
        if "/backend/" not in path or "/tests/" in path:
            continue
        relative = path.split("/backend/", 1)[1]
        if relative.startswith(_STEP_MODULES):
            return f"{relative.removesuffix('.py').replace('/', '.')}.{frame.name}"
    return "(django)"
