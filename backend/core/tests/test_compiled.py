"""A compiled read gives the rows its queryset gives, for any values, and compiles its SQL once."""

import datetime
from unittest import mock

import pytest
from django.db.models import F
from django.db.models.sql.compiler import SQLCompiler

from core.compiled import CompiledRead
from schools.models import AcademicTerm
from tests import factories

pytestmark = pytest.mark.django_db

D = datetime.date


def terms_query(*, school_id, date_from=None, date_to=None):
    terms = AcademicTerm.objects.filter(school_id=school_id)
    if date_from is not None or date_to is not None:
        terms = terms.filter(start_date__range=(date_from, date_to))
    return terms.order_by("start_date").values("id", "name", "start_date", school_name=F("school__name"))


@pytest.fixture
def schools():
    first, second = factories.SchoolFactory(name="First"), factories.SchoolFactory(name="Second")
    for school, years in ((first, (2025, 2026, 2027)), (second, (2026,))):
        for year in years:
            factories.TermFactory(
                school=school, name=f"{school.name} {year}", start_date=D(year, 1, 5), end_date=D(year, 3, 27)
            )
    return first, second


def test_the_rows_are_the_querysets_for_each_call_s_values(schools):
    first, second = schools
    read = CompiledRead(terms_query, school_id=int, date_from=datetime.date, date_to=datetime.date)

    for school in (first, second):
        assert read(school_id=school.pk) == list(terms_query(school_id=school.pk))
    window = {"date_from": D(2026, 1, 1), "date_to": D(2027, 12, 31)}
    rows = read(school_id=first.pk, **window)

    assert rows == list(terms_query(school_id=first.pk, **window))
    assert rows == [
        {"id": rows[0]["id"], "name": "First 2026", "start_date": D(2026, 1, 5), "school_name": "First"},
        {"id": rows[1]["id"], "name": "First 2027", "start_date": D(2027, 1, 5), "school_name": "First"},
    ]
    assert read(school_id=second.pk, **window) == [
        {"id": second.terms.get().pk, "name": "Second 2026", "start_date": D(2026, 1, 5), "school_name": "Second"}
    ]


def test_values_list_rows_are_tuples(schools):
    first, _ = schools
    read = CompiledRead(
        lambda *, school_id: AcademicTerm.objects.filter(school_id=school_id).order_by("name").values_list("name"),
        school_id=int,
    )

    assert read(school_id=first.pk) == [("First 2025",), ("First 2026",), ("First 2027",)]


def test_the_sql_is_compiled_once_per_set_of_values_given(schools):
    first, second = schools
    read = CompiledRead(terms_query, school_id=int, date_from=datetime.date, date_to=datetime.date)
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as as_sql:
        read(school_id=first.pk)
        read(school_id=second.pk)
        assert as_sql.call_count == 1
        read(school_id=first.pk, date_from=D(2026, 1, 1), date_to=D(2026, 12, 31))
        read(school_id=second.pk, date_from=D(2020, 1, 1), date_to=D(2030, 12, 31))
        assert as_sql.call_count == 2


def test_a_value_of_none_builds_the_queryset_as_usual(schools):
    read = CompiledRead(terms_query, school_id=int, date_from=datetime.date, date_to=datetime.date)

    # start_date BETWEEN a date AND NULL holds for no row.
    assert read(school_id=schools[0].pk, date_from=D(2020, 1, 1), date_to=None) == []


def test_a_value_that_is_not_a_parameter_of_the_sql_is_refused(schools):
    read = CompiledRead(lambda *, school_id: AcademicTerm.objects.values("id"), school_id=int)

    with pytest.raises(ValueError, match="school_id"):
        read(school_id=schools[0].pk)


def test_a_list_of_ids_is_compiled_once_per_length(schools):
    first, second = schools
    read = CompiledRead(
        lambda *, ids, school_id: (
            AcademicTerm.objects.filter(pk__in=ids).exclude(school_id=school_id).order_by("name").values_list("name")
        ),
        ids=list,
        school_id=int,
    )
    terms = {term.name: term.pk for term in AcademicTerm.objects.all()}
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as as_sql:
        assert read(ids=[terms["First 2025"], terms["Second 2026"]], school_id=second.pk) == [("First 2025",)]
        assert read(ids=[terms["Second 2026"], terms["First 2027"]], school_id=first.pk) == [("Second 2026",)]
        assert as_sql.call_count == 1
        assert read(ids=list(terms.values()), school_id=first.pk) == [("Second 2026",)]
        assert read(ids=[terms["First 2026"]], school_id=second.pk) == [("First 2026",)]
        assert as_sql.call_count == 3
    # No id: nothing, without SQL of its own.
    assert read(ids=[], school_id=first.pk) == []


def test_lists_of_dates_and_of_text_are_compiled_once_per_length(schools):
    first, _ = schools
    read = CompiledRead(
        lambda *, starts, names: (
            AcademicTerm.objects.filter(start_date__in=starts, name__in=names).order_by("name").values_list("name")
        ),
        starts=list[datetime.date],
        names=list[str],
    )
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as as_sql:
        assert read(starts=[D(2026, 1, 5), D(2027, 1, 5)], names=["First 2026", "Second 2026"]) == [
            ("First 2026",),
            ("Second 2026",),
        ]
        assert read(starts=[D(2025, 1, 5), D(2027, 1, 5)], names=["First 2027", "First 2026"]) == [("First 2027",)]
        assert as_sql.call_count == 1
        assert read(starts=[D(2025, 1, 5)], names=["First 2025", "Second 2025"]) == [("First 2025",)]
        assert as_sql.call_count == 2
    assert read(starts=[D(2026, 1, 5)], names=[]) == []
    assert AcademicTerm.objects.filter(school=first).count() == 3


def test_a_list_longer_than_max_length_builds_the_queryset_as_usual(schools):
    read = CompiledRead(
        lambda *, ids: AcademicTerm.objects.filter(pk__in=ids).order_by("name").values_list("name"),
        max_length=2,
        ids=list,
    )
    terms = {term.name: term.pk for term in AcademicTerm.objects.all()}
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as as_sql:
        assert read(ids=[terms["First 2025"], terms["Second 2026"]]) == [("First 2025",), ("Second 2026",)]
        assert read(ids=[terms["First 2026"], terms["Second 2026"]]) == [("First 2026",), ("Second 2026",)]
        assert as_sql.call_count == 1
        three = [terms["First 2025"], terms["First 2026"], terms["First 2027"]]
        assert read(ids=three) == [("First 2025",), ("First 2026",), ("First 2027",)]
        assert read(ids=three) == [("First 2025",), ("First 2026",), ("First 2027",)]
        assert as_sql.call_count == 3  # built and compiled on each call, nothing kept
    assert len(read.compiled) == 1
