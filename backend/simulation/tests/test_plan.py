"""The drawn plan alone (no database): the same seed draws the same school."""

import datetime

from simulation.plan import school_plan_make, school_weeks

START = datetime.date(2026, 9, 7)


def _draw(seed: int, students: int = 60, weeks: int = 2):
    plan = school_plan_make(seed=seed, school_index=0, students=students, first_day=START, weeks=weeks)
    return plan, list(school_weeks(plan))


def test_same_seed_same_plan():
    assert _draw(11) == _draw(11)


def test_a_plan_replays_the_same_weeks():
    plan, weeks = _draw(11)
    assert list(school_weeks(plan)) == weeks


def test_other_seed_other_plan():
    assert _draw(11)[0].students != _draw(12)[0].students


def test_timetable_fills_every_period_with_the_class_teacher():
    plan, weeks = _draw(11, students=200, weeks=1)
    for class_plan in plan.classes:
        slots = [subject for day in class_plan.timetable for subject in day]
        assert len(slots) == 5 * plan.periods_per_day
        for index, subject in enumerate(plan.subjects):
            assert slots.count(index) == subject.weekly_periods
    lessons = [lesson for day in weeks[0] for lesson in day.lessons]
    assert all(lesson.teacher == plan.classes[lesson.class_index].teacher_of[lesson.subject] for lesson in lessons)
    # No teacher in two rooms at once.
    assert plan.timetable_clashes == 0
    booked = [(lesson.teacher, lesson.date, lesson.period) for lesson in lessons]
    assert len(booked) == len(set(booked))


def test_long_runs_have_a_half_term_break():
    plan = school_plan_make(seed=1, school_index=0, students=30, first_day=START, weeks=12)
    assert list(plan.holidays.values()).count("Half-term break") == 5
    assert plan.term_start <= plan.first_day and plan.last_day <= plan.term_end + datetime.timedelta(days=2)
    assert len(plan.school_days()) == 12 * 5 - 6


def test_nothing_happens_after_the_period():
    plan, weeks = _draw(3)
    for week in weeks:
        for day in week:
            assert plan.first_day <= day.date <= plan.last_day
            for homework in day.homework:
                assert homework.due_date <= plan.last_day


def test_a_few_roll_calls_of_past_days_are_forgotten_never_the_last_days():
    # Stopped on a Wednesday, as the demo stops at today: that day's lessons all have their roll call.
    until = datetime.datetime(2026, 10, 14, 12, tzinfo=datetime.UTC)
    plan = school_plan_make(seed=5, school_index=0, students=200, first_day=START, weeks=6, until=until)
    lessons = [lesson for week in school_weeks(plan) for day in week for lesson in day.lessons]
    assert plan.last_day == datetime.date(2026, 10, 14)
    forgotten = [lesson for lesson in lessons if not lesson.marks]
    last_day = [lesson for lesson in lessons if lesson.date == plan.last_day]
    assert last_day and all(lesson.marks for lesson in last_day)
    # 2% of the past days' lessons, drawn: between 1% and 3% of them, on more than a few days.
    past = len(lessons) - len(last_day)
    assert 0.01 * past <= len(forgotten) <= 0.03 * past, (len(forgotten), past)
    assert len({lesson.date for lesson in forgotten}) > 5
    # A forgotten roll call leaves the lesson itself in the plan: the timetable is still whole.
    assert all(lesson.teacher == plan.classes[lesson.class_index].teacher_of[lesson.subject] for lesson in forgotten)
