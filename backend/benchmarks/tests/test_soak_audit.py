"""The soak's audit rule on hand-made histories of one key: when a stored value is right, lost or refused."""

from benchmarks.soak_audit import (
    ACKNOWLEDGED,
    LOST,
    REFUSED,
    REFUSED_STORED,
    UNKNOWN,
    Write,
    audit,
    key_audit,
    possibly_last,
)

KEY = ("grade", 7)


def write(value, outcome, sent, received, label=""):
    return Write(key=KEY, value=value, outcome=outcome, sent=sent, received=received, label=label or str(value))


def test_possibly_last_are_the_writes_no_other_certainly_followed():
    first = write("a", ACKNOWLEDGED, 0, 1)
    overlapping = write("b", ACKNOWLEDGED, 2, 5)
    during = write("c", ACKNOWLEDGED, 3, 4)
    # "a" answered (1) before "b" and "c" were sent (2, 3); "b" and "c" overlap: either may have committed last.
    assert possibly_last([first, overlapping, during]) == [overlapping, during]
    later = write("d", ACKNOWLEDGED, 4.5, 6)
    # "c" answered at 4, before "d" was sent at 4.5; "b" (answered at 5) may still have committed after "d".
    assert possibly_last([first, overlapping, during, later]) == [overlapping, later]
    assert possibly_last([]) == []


def test_one_after_the_other_the_last_acknowledged_write_wins():
    writes = [write(("12.00", "w1"), ACKNOWLEDGED, 0, 1), write(("15.00", "w2"), ACKNOWLEDGED, 2, 3)]
    assert key_audit(key=KEY, writes=writes, stored=("15.00", "w2"), before=None) is None

    lost = key_audit(key=KEY, writes=writes, stored=("12.00", "w1"), before=None)
    assert lost.kind == LOST
    assert lost.allowed == (("15.00", "w2"),)
    assert "older acknowledged write" in lost.detail


def test_concurrent_writers_either_may_be_stored_but_not_the_value_from_before():
    writes = [write("w1", ACKNOWLEDGED, 0, 2), write("w2", ACKNOWLEDGED, 1, 3)]
    assert key_audit(key=KEY, writes=writes, stored="w1", before="old") is None
    assert key_audit(key=KEY, writes=writes, stored="w2", before="old") is None
    lost = key_audit(key=KEY, writes=writes, stored="old", before="old")
    assert (lost.kind, lost.allowed) == (LOST, ("w1", "w2"))
    assert "before the run" in lost.detail
    assert key_audit(key=KEY, writes=writes, stored="zzz", before="old").detail == "a value no client wrote"


def test_an_acknowledged_delete_is_a_write_of_nothing():
    writes = [write(("9.00", "w1"), ACKNOWLEDGED, 0, 1), write(None, ACKNOWLEDGED, 2, 3, "grade delete -> 204")]
    assert key_audit(key=KEY, writes=writes, stored=None, before=None) is None
    assert key_audit(key=KEY, writes=writes, stored=("9.00", "w1"), before=None).kind == LOST


def test_a_refused_write_stored_is_found_and_named():
    writes = [
        write(("5.00", "w1"), ACKNOWLEDGED, 0, 1),
        write(("25.00", "w2"), REFUSED, 2, 3, "grade (invalid) -> 400 (client 3)"),
    ]
    assert key_audit(key=KEY, writes=writes, stored=("5.00", "w1"), before=None) is None
    finding = key_audit(key=KEY, writes=writes, stored=("25.00", "w2"), before=None)
    assert finding.kind == REFUSED_STORED
    assert finding.detail == "written by a refused request: grade (invalid) -> 400 (client 3)"
    # A failed request (5xx) is rolled back by the server: the same rule.
    failed = [write("p1", REFUSED, 0, 1, "payment -> 500")]
    assert key_audit(key=("payment", "p1"), writes=failed, stored="p1", before=None).kind == REFUSED_STORED
    assert key_audit(key=("payment", "p1"), writes=failed, stored=None, before=None) is None


def test_a_key_with_no_acknowledged_write_keeps_its_value_from_before():
    refused = [write("w1", REFUSED, 0, 1)]
    assert key_audit(key=KEY, writes=refused, stored="old", before="old") is None
    assert key_audit(key=KEY, writes=refused, stored="new", before="old").kind == LOST


def test_a_write_without_an_answer_may_or_may_not_have_committed():
    writes = [write("w1", ACKNOWLEDGED, 0, 1), write("w2", UNKNOWN, 2, 60)]
    assert key_audit(key=KEY, writes=writes, stored="w1", before=None) is None
    assert key_audit(key=KEY, writes=writes, stored="w2", before=None) is None
    # It may even have committed after a later acknowledged write: it is never a lost write, never excluded.
    writes.append(write("w3", ACKNOWLEDGED, 70, 71))
    assert key_audit(key=KEY, writes=writes, stored="w2", before=None) is None
    assert key_audit(key=KEY, writes=writes, stored="w1", before=None).kind == LOST


def test_audit_counts_writes_and_reports_each_key_once():
    other = ("mark", 3, 4)
    writes = [
        write("a", ACKNOWLEDGED, 0, 1),
        write("b", ACKNOWLEDGED, 2, 3),
        Write(key=other, value=("PRESENT", "w9"), outcome=REFUSED, sent=0, received=1),
        Write(key=other, value=None, outcome=UNKNOWN, sent=0, received=1),
        Write(key=("payment", "p"), value=("10.00", "p"), outcome=ACKNOWLEDGED, sent=5, received=6),
    ]
    stored = {KEY: "a", other: ("PRESENT", "w9")}  # the payment is missing: lost
    result = audit(writes=writes, stored=stored, before={})
    assert (result.keys, result.acknowledged, result.refused, result.unknown) == (3, 3, 1, 1)
    assert result.count(LOST) == 2
    assert result.count(REFUSED_STORED) == 1
    assert {finding.key for finding in result.findings} == {KEY, other, ("payment", "p")}
    assert "refused write stored: ('mark', 3, 4): stored ('PRESENT', 'w9')" in str(result.findings[1])
