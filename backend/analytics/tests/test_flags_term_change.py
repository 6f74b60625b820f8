"""A term deleted or moved changes which term a student's grades flag reads: the stored flags must follow."""

import datetime

import pytest

from analytics import services
from analytics.engine.flags import flag_keys, flags_compute
from analytics.models import EarlyWarningSettings, StudentFlag
from analytics.tests.test_api_content import frozen, hillcrest  # noqa: F401
from finance.models import FeeInvoice
from schools.models import Student

pytestmark = pytest.mark.django_db


def assert_flags_exact():
    """The stored flags, figures and dates included, equal every rule computed from source."""
    whole = flags_compute(flag_keys(Student.objects.values_list("id", flat=True)))
    stored = {
        (row.student_id, row.reason): (row.school_id, {"as_of": row.as_of, "figures": row.figures})
        for row in StudentFlag.objects.all()
    }
    assert stored == whole
    return whole


def test_deleting_the_term_recomputes_the_grades_flags(hillcrest):  # noqa: F811
    w = hillcrest
    row = EarlyWarningSettings.objects.filter(school=w.school).first() or EarlyWarningSettings(school=w.school)
    row.term_average_below = 99
    services.early_warning_settings_save(settings=row)
    assert StudentFlag.objects.filter(reason="grades").exists()
    FeeInvoice.objects.filter(term=w.term).update(term=None)  # a term with invoices cannot be deleted
    w.term.delete()
    whole = assert_flags_exact()
    assert not any(reason == "grades" for _, reason in whole)  # no term: no term average to be below


def test_moving_the_terms_end_before_the_flag_date_recomputes_the_grades_flags(hillcrest):  # noqa: F811
    w = hillcrest
    row = EarlyWarningSettings.objects.filter(school=w.school).first() or EarlyWarningSettings(school=w.school)
    row.term_average_below = 99
    services.early_warning_settings_save(settings=row)
    before = assert_flags_exact()
    assert any(reason == "grades" for _, reason in before)
    # The term now ends on its second day: today (the flag date) is in no term.
    w.term.end_date = w.term.start_date + datetime.timedelta(days=1)
    w.term.save()
    after = assert_flags_exact()
    assert not any(reason == "grades" for _, reason in after)
