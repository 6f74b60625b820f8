"""The soak's audit: is every write a client saw acknowledged stored, and no refused write stored?

Pure logic (no database, no HTTP), so the rule can be tested on hand-made scenarios. The soak turns each write
request into one ``Write`` per key it sets (a roll call sets one key per student of the class: a mark, or no
mark for a student left out) and reads back the stored value of every key afterwards.

The rule, per key:

- A write's commit happens between the moment its request was sent and the moment its response was received
  (the server commits before it answers). So write A certainly committed before write B when A's response was
  received before B's request was sent; when their intervals overlap, either order is possible.
- Among the acknowledged writes of a key, the *possibly last* ones are those no other acknowledged write
  certainly followed. The stored value must be the value of one of them ("the last acknowledged write wins";
  for concurrent last writers any of them may have committed last, and one of them must be what is stored).
- A write whose outcome the client does not know (the connection failed, no answer) may or may not have
  committed, at any time after it was sent: its value is also allowed, and it is never counted as lost.
- A refused write (4xx) or a failed one (5xx: the server rolled it back) must have left no trace: its value
  stored where no allowed write explains it is a *refused write stored*.
- Anything else is a *lost write*: an acknowledged write whose value is not what is stored (an older write's
  value, the value from before the run, or a value no client wrote). A key with no acknowledged write keeps the
  value it had before the run, unless an unknown-outcome write explains the change.

Values must identify their write where they can: the soak gives each write a unique token (a roll call's note,
a grade's feedback, a payment's reference, a comment, a homework title), so that "stored = the value of write
W" means W's own data, not an equal value written by someone else. Values that cannot carry one (a behaviour
score, a deleted grade) are compared as values.
"""

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

ACKNOWLEDGED = "acknowledged"
REFUSED = "refused"
UNKNOWN = "unknown"

LOST = "lost write"
REFUSED_STORED = "refused write stored"


@dataclass(frozen=True)
class Write:
    key: Hashable
    value: Any
    outcome: str  # ACKNOWLEDGED, REFUSED or UNKNOWN
    sent: float  # the client's monotonic clock when the request was sent
    received: float  # ... when the response (or the failure) came back
    label: str = ""  # what to print: the request kind and status


@dataclass(frozen=True)
class Finding:
    kind: str  # LOST or REFUSED_STORED
    key: Hashable
    stored: Any
    allowed: tuple  # the values that would have been right
    detail: str

    def __str__(self) -> str:
        allowed = " or ".join(repr(value) for value in self.allowed) or "nothing"
        return f"{self.kind}: {self.key}: stored {self.stored!r}, expected {allowed} ({self.detail})"


@dataclass
class AuditResult:
    keys: int = 0
    acknowledged: int = 0
    refused: int = 0
    unknown: int = 0
    findings: list[Finding] = None

    def __post_init__(self):
        self.findings = self.findings or []

    def count(self, kind: str) -> int:
        return sum(1 for finding in self.findings if finding.kind == kind)


def possibly_last(writes: list[Write]) -> list[Write]:
    """The writes that no other write of the list certainly followed (its request sent after their response)."""
    latest_sent = max((write.sent for write in writes), default=None)
    return [write for write in writes if not write.received < latest_sent]


def key_audit(*, key: Hashable, writes: list[Write], stored: Any, before: Any) -> Finding | None:
    """The finding for one key, or None when its stored value is one the rule allows."""
    acknowledged = [write for write in writes if write.outcome == ACKNOWLEDGED]
    unknown = [write for write in writes if write.outcome == UNKNOWN]
    refused = [write for write in writes if write.outcome == REFUSED]
    allowed = [write.value for write in possibly_last(acknowledged)] if acknowledged else [before]
    allowed += [write.value for write in unknown]
    allowed = tuple(dict.fromkeys(allowed))  # unique, in order
    if stored in allowed:
        return None
    culprit = next((write for write in refused if write.value == stored), None)
    if culprit is not None:
        return Finding(REFUSED_STORED, key, stored, allowed, f"written by a refused request: {culprit.label}")
    older = next((write for write in acknowledged if write.value == stored), None)
    if older is not None:
        detail = f"an older acknowledged write's value ({older.label}) overwrote the last one"
    elif stored == before:
        detail = "the value from before the run: the acknowledged writes left no trace"
    else:
        detail = "a value no client wrote"
    return Finding(LOST, key, stored, allowed, detail)


def audit(*, writes: Iterable[Write], stored: dict, before: dict) -> AuditResult:
    """Apply the rule to every key written; ``stored`` and ``before`` map keys to values (missing: None)."""
    by_key: dict[Hashable, list[Write]] = defaultdict(list)
    result = AuditResult()
    for write in writes:
        by_key[write.key].append(write)
        result.acknowledged += write.outcome == ACKNOWLEDGED
        result.refused += write.outcome == REFUSED
        result.unknown += write.outcome == UNKNOWN
    result.keys = len(by_key)
    for key, key_writes in by_key.items():
        finding = key_audit(key=key, writes=key_writes, stored=stored.get(key), before=before.get(key))
        if finding is not None:
            result.findings.append(finding)
    return result
