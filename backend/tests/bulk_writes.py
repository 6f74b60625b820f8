"""Finds writes to source rows that no per-row signal sees, by reading the code (``ast``).

``QuerySet.update()``, ``bulk_update()``, ``bulk_create()`` and a raw delete send no ``pre_save`` /
``post_save`` / ``post_delete``, so the analytics engine hears nothing of them; a queryset ``delete()``
is counted too, as a write of many rows at once. Such a call is found when it is made on a queryset
of a source model: a chain through ``Model.objects`` (or ``_default_manager``), a queryset method
(``filter``, ``all``...), a variable called ``queryset`` / ``qs``, or a related manager whose name
is one of the source models' relations. A chain whose model the code does not name (``queryset``,
``type(row).objects``) counts as a source model: the check errs on the side of reporting.
Raw SQL is found when the code spells out an ``INSERT``, ``UPDATE``, ``DELETE`` or ``COPY`` of a
source table in what it passes to ``execute`` (SQL built from variables alone cannot be read).
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

BULK_METHODS = {"update", "bulk_update", "bulk_create", "delete"}
MANAGERS = {"objects", "_default_manager", "_base_manager"}
QUERYSET_METHODS = {
    "all",
    "annotate",
    "defer",
    "distinct",
    "exclude",
    "filter",
    "none",
    "only",
    "order_by",
    "prefetch_related",
    "select_for_update",
    "select_related",
    "using",
}
QUERYSET_NAMES = {"queryset", "qs"}
SQL_WRITE = re.compile(r"\b(?:insert\s+into|update|delete\s+from|copy)\s+\"?(\w+)", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class BulkWrite:
    path: str  # relative to the backend directory
    function: str  # the qualified name of the enclosing function ("" at module level)
    method: str  # update, bulk_update, bulk_create, delete, _raw_delete, or "sql" (raw SQL writing a source table)
    line: int

    @property
    def place(self) -> tuple[str, str, str]:
        return (self.path, self.function, self.method)


def _chain(node: ast.expr) -> tuple[str | None, list[str]]:
    """The root name of an expression like ``A.b.c(...).d`` and the attribute and call names after it."""
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id, names[::-1]
        else:
            return None, names[::-1]


class _Finder(ast.NodeVisitor):
    def __init__(self, path, source_models, other_models, relations, tables, constants: dict[str, str]):
        self.path = path
        self.tables = tables
        self.constants = constants
        self.source_models = source_models
        self.other_models = other_models
        self.relations = relations
        self.scope: list[str] = []
        self.found: list[BulkWrite] = []

    def _scoped(self, node) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        if not isinstance(node.func, ast.Attribute):
            return
        method = node.func.attr
        if method in ("execute", "executemany") and node.args and self._writes_source_table(node.args[0]):
            self.found.append(BulkWrite(self.path, ".".join(self.scope), "sql", node.lineno))
        if method == "_raw_delete" or (method in BULK_METHODS and self._on_source_queryset(node.func.value)):
            self.found.append(BulkWrite(self.path, ".".join(self.scope), method, node.lineno))

    def _sql_text(self, node: ast.expr) -> str:
        """The SQL the code spells out: a string, an f-string's fixed parts, a module constant (``.format``-ed)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return " ".join(self._sql_text(part) for part in node.values)
        if isinstance(node, ast.Name):
            return self.constants.get(node.id, "")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return self._sql_text(node.func.value)
        return ""

    def _writes_source_table(self, node: ast.expr) -> bool:
        return any(table.lower() in self.tables for table in SQL_WRITE.findall(self._sql_text(node)))

    def _on_source_queryset(self, receiver: ast.expr) -> bool:
        root, names = _chain(receiver)
        if root in self.other_models:
            return False  # a model the check knows is not a source (a summary table, a job record)
        if root in self.source_models:
            return any(name in MANAGERS for name in names)
        return any(name in MANAGERS or name in QUERYSET_METHODS or name in self.relations for name in names) or (
            root is not None and (root in QUERYSET_NAMES or root.endswith(("_qs", "_queryset")))
        )


def bulk_writes_in(
    source: str, *, path: str, source_models, other_models=(), relations=(), tables=()
) -> list[BulkWrite]:
    """The bulk writes to source rows in one module's text (``tables``: the source models' table names)."""
    tree = ast.parse(source, filename=path)
    constants = {
        target.id: statement.value.value
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
    finder = _Finder(path, set(source_models), set(other_models), set(relations), set(tables), constants)
    finder.visit(tree)
    return finder.found


def is_test_code(path: Path) -> bool:
    return "tests" in path.parts or path.name.startswith("test_") or path.name == "conftest.py"


def bulk_writes_under(root: Path, **names) -> list[BulkWrite]:
    """The bulk writes to source rows in every non-test module under ``root``."""
    found = []
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(root)
        if not is_test_code(relative):
            found += bulk_writes_in(file.read_text(), path=relative.as_posix(), **names)
    return found
