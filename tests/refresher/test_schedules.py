"""Schedules: validation, slots, and the scheduler's pass (one run per slot, missed slots once,
busy collections skip the slot)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from refresher.models import Mode, RefreshRun, RunStatus, Trigger
from refresher.schedules import InvalidSchedule, next_slot, validate
from refresher.triggers.scheduler import run_due_schedules, start_waiting_pushes, take_slot
from tests.factories import ArtifactFactory, CollectionFactory

NOW = datetime(2026, 12, 1, 10, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("", ""),
        ("   ", ""),
        ("@hourly", "@hourly"),
        ("@DAILY", "@daily"),
        ("@weekly", "@weekly"),
        ("*/15 * * * *", "*/15 * * * *"),
        ("  0   6  * * 1-5 ", "0 6 * * 1-5"),
        ("30 2 1 * *", "30 2 1 * *"),
    ],
)
def test_accepted_schedules_are_stored_normalized(text, stored):
    assert validate(text, min_minutes=15, now=NOW) == stored


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("*/5 * * * *", "shortest period"),
        ("* * * * *", "shortest period"),
        # Dense only at 03:00: the gap is measured over many slots, not the next two.
        ("*/5 3 * * *", "shortest period"),
        ("0,10 * * * *", "shortest period"),
        ("61 * * * *", "not a valid cron"),
        ("0 0 31 2 *", "not a valid cron"),
        ("0 0 * * * *", "five cron fields"),  # six fields (seconds) are not cron here
        ("0 0 * *", "five cron fields"),
        ("@yearly", "unknown alias"),
        ("@reboot", "unknown alias"),
        ("every hour", "five cron fields"),
    ],
)
def test_invalid_or_too_frequent_schedules_are_refused(text, why):
    with pytest.raises(InvalidSchedule, match=why):
        validate(text, min_minutes=15, now=NOW)


@pytest.mark.parametrize(
    "text",
    [
        # Day 1 or a Monday, at 00:05, 00:55, 23:05 and 23:55: ten minutes apart only from a
        # Monday the 31st to Tuesday the 1st (May 2027), past the next hundred slots.
        "5,55 0,23 1 * 1",
        # Only at 23:55 and 00:05 of two days in a row: 29 February 2028 and 1 March.
        "5,55 0,23 29,1 2,3 *",
    ],
)
def test_a_short_gap_met_only_months_ahead_is_refused(text):
    with pytest.raises(InvalidSchedule, match="shortest period"):
        validate(text, min_minutes=15, now=NOW)


def test_days_that_never_follow_each_other_have_no_gap_across_midnight():
    assert validate("5,55 0,23 29 2 *", min_minutes=15, now=NOW)  # one day a year
    assert validate("55 23 * * *", min_minutes=15, now=NOW)


def test_the_minimum_period_is_a_setting():
    assert validate("*/30 * * * *", min_minutes=30, now=NOW)
    with pytest.raises(InvalidSchedule):
        validate("*/30 * * * *", min_minutes=31, now=NOW)


def test_slots_are_in_utc_and_strictly_after():
    assert next_slot("@hourly", NOW) == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    on_the_hour = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert next_slot("@hourly", on_the_hour) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert next_slot("@weekly", NOW) == datetime(2026, 12, 6, 0, 0, tzinfo=UTC)  # a Sunday


# The scheduler's pass --------------------------------------------------------------------------


@pytest.fixture
def scheduled(user):
    collection = CollectionFactory(
        owner=user, refresh_schedule="@hourly", auto_refresh_mode=Mode.METADATA_ONLY
    )
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    return collection


@pytest.fixture(autouse=True)
def queue_only(settings):
    settings.REFRESH_TASK_BACKEND = "dummy"  # runs stay queued; these tests look at the slots


def set_slot(collection, when):
    type(collection).objects.filter(pk=collection.pk).update(next_refresh_at=when)
    collection.refresh_from_db()


@pytest.mark.django_db
def test_saving_a_schedule_sets_the_next_slot_and_clearing_it_unsets_it(scheduled):
    assert scheduled.next_refresh_at is not None
    assert timezone.now() < scheduled.next_refresh_at <= timezone.now() + timedelta(hours=1)
    assert scheduled.next_refresh_at.minute == 0
    scheduled.refresh_schedule = ""
    scheduled.save()
    scheduled.refresh_from_db()
    assert scheduled.next_refresh_at is None


@pytest.mark.django_db
def test_a_due_slot_starts_one_background_run_in_the_auto_refresh_mode(scheduled):
    set_slot(scheduled, NOW - timedelta(minutes=7))
    runs = run_due_schedules(now=NOW)
    assert len(runs) == 1
    run = RefreshRun.objects.get()
    assert (run.trigger, run.mode, run.background) == (Trigger.SCHEDULE, Mode.METADATA_ONLY, True)
    assert run.status == RunStatus.QUEUED
    scheduled.refresh_from_db()
    assert scheduled.next_refresh_at == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_slot_not_yet_due_waits(scheduled):
    set_slot(scheduled, NOW + timedelta(seconds=1))
    assert run_due_schedules(now=NOW) == []
    assert not RefreshRun.objects.exists()


@pytest.mark.django_db
def test_two_workers_reading_the_same_slot_take_it_once(scheduled):
    set_slot(scheduled, NOW - timedelta(minutes=1))
    # Both workers read the collection before either moved its slot.
    seen_by_a = type(scheduled).objects.get(pk=scheduled.pk)
    seen_by_b = type(scheduled).objects.get(pk=scheduled.pk)
    assert take_slot(seen_by_a, now=NOW) is not None
    assert take_slot(seen_by_b, now=NOW) is None


@pytest.mark.django_db
def test_slots_missed_while_no_worker_ran_run_once(scheduled):
    set_slot(scheduled, NOW - timedelta(hours=5))  # five hourly slots went by
    assert len(run_due_schedules(now=NOW)) == 1
    RefreshRun.objects.update(status=RunStatus.COMPLETED)
    assert run_due_schedules(now=NOW) == []
    assert run_due_schedules(now=NOW + timedelta(minutes=30)) == []
    assert RefreshRun.objects.count() == 1
    scheduled.refresh_from_db()
    assert scheduled.next_refresh_at == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_busy_collection_skips_the_slot_and_the_next_slot_stands(scheduled):
    set_slot(scheduled, NOW - timedelta(minutes=1))
    busy = RefreshRun.objects.create(
        collection=scheduled, status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )
    assert run_due_schedules(now=NOW) == []
    assert RefreshRun.objects.count() == 1
    scheduled.refresh_from_db()
    assert scheduled.next_refresh_at == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    # The skipped slot is not retried on the next pass...
    assert run_due_schedules(now=NOW + timedelta(seconds=30)) == []
    # ...and once the collection is free, the next slot runs.
    RefreshRun.objects.filter(pk=busy.pk).update(status=RunStatus.COMPLETED)
    later = datetime(2026, 12, 1, 11, 0, 20, tzinfo=UTC)
    assert len(run_due_schedules(now=later)) == 1


@pytest.mark.django_db
def test_changing_the_schedule_moves_the_next_slot(scheduled):
    before = scheduled.next_refresh_at
    scheduled.refresh_schedule = "0 0 1 1 *"
    scheduled.save()
    scheduled.refresh_from_db()
    assert scheduled.next_refresh_at != before
    assert (scheduled.next_refresh_at.month, scheduled.next_refresh_at.day) == (1, 1)


@pytest.mark.django_db
def test_the_pass_starts_pushes_left_waiting_on_a_free_collection(scheduled):
    pdf = scheduled.artifacts.get()
    type(scheduled).objects.filter(pk=scheduled.pk).update(pending_push_ids=[str(pdf.pk)])
    assert start_waiting_pushes() == 1
    run = RefreshRun.objects.get()
    assert run.trigger == Trigger.PUSH
    assert run.artifact_filter == {"ids": [str(pdf.pk)]}
    scheduled.refresh_from_db()
    assert scheduled.pending_push_ids == []
    assert start_waiting_pushes() == 0


@pytest.mark.django_db
def test_waiting_pushes_stay_while_the_collection_is_busy(scheduled):
    pdf = scheduled.artifacts.get()
    type(scheduled).objects.filter(pk=scheduled.pk).update(pending_push_ids=[str(pdf.pk)])
    RefreshRun.objects.create(
        collection=scheduled, status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )
    assert start_waiting_pushes() == 0
    scheduled.refresh_from_db()
    assert scheduled.pending_push_ids == [str(pdf.pk)]


@pytest.mark.django_db
def test_an_edit_in_flight_does_not_write_back_the_worker_owned_columns(scheduled):
    edited = type(scheduled).objects.get(pk=scheduled.pk)  # read by the API before...
    pdf = scheduled.artifacts.get()
    # ...the worker took the slot and a push left its artifact waiting,
    set_slot(scheduled, NOW)
    type(scheduled).objects.filter(pk=scheduled.pk).update(pending_push_ids=[str(pdf.pk)])
    edited.description = "edited"
    edited.save()  # ...then the edit is saved.
    scheduled.refresh_from_db()
    assert scheduled.description == "edited"
    assert scheduled.next_refresh_at == NOW
    assert scheduled.pending_push_ids == [str(pdf.pk)]
