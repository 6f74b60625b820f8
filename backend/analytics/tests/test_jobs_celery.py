"""A real Celery worker takes both jobs from a Redis broker and writes to PostgreSQL."""

import datetime
import os
import time

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker

from analytics import tasks
from analytics.models import JobRun, StudentTermPerformance, TeacherPerformanceMetric
from config.celery import app as celery_app
from tests import factories

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def redis_worker():
    """A worker thread consuming from the test broker; tasks are queued there instead of running inline.

    A Celery app of its own, made current for the test: the project app may already hold a producer
    pool for the settings' broker (eager calls acquire one).
    """
    try:
        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not reachable at {BROKER_URL}")
    app = Celery("config-test", set_as_current=True)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        app.close()
        celery_app.set_current()


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not finish in time")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_both_jobs_from_the_broker(redis_worker):
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    term = factories.TermFactory(school=school)
    group = factories.ClassGroupFactory(school=school)
    maths = factories.SubjectFactory(school=school)
    monday = datetime.date(2026, 9, 7)
    lesson = factories.LessonFactory(class_group=group, subject=maths, date=monday)
    TeacherPerformanceMetric.objects.filter(teacher=lesson.teacher).delete()  # drift the job repairs
    # Averages are this job's input: written directly, after the lesson (whose save refreshes the class).
    for average in ("70.00", "90.00", "90.00"):
        StudentTermPerformance.objects.create(
            student=factories.StudentFactory(school=school, class_group=group),
            term=term,
            subject=maths,
            school=school,
            average_grade=average,
        )

    tasks.calculate_class_ranks.delay(school_id=school.pk, term_ids=[term.pk])
    tasks.generate_teacher_metrics.delay(school_id=school.pk, first_week=monday.isoformat())
    wait_for(lambda: JobRun.objects.filter(status=JobRun.Status.SUCCEEDED).count() == 2)

    assert sorted(StudentTermPerformance.objects.values_list("rank", flat=True)) == [1, 1, 3]
    metric = TeacherPerformanceMetric.objects.get(teacher=lesson.teacher, week_start=monday)
    assert (metric.classes_taught, metric.homeworks_assigned, metric.parent_communications) == (1, 0, 0)
    runs = {run.job: run for run in JobRun.objects.all()}
    assert runs["calculate_class_ranks"].rows_changed == 3 + 3  # three subject ranks, three standings
    assert runs["generate_teacher_metrics"].rows_changed == 1
    assert runs["generate_teacher_metrics"].worker == runs["calculate_class_ranks"].worker
