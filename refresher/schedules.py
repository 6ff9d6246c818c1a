"""Refresh schedules: cron expressions (UTC) read with cronsim, and their slots.

A schedule is five cron fields or one of `@hourly`, `@daily`, `@weekly`. cronsim is the parser:
small, pure Python, maintained for healthchecks.io, which validates user-typed schedules the same
way. A schedule that would fire more often than `REFRESH_SCHEDULE_MIN_MINUTES` is refused: the gap
between consecutive slots is measured over the next `CHECKED_SLOTS` slots, which catches
expressions that are only dense at some hours (`*/5 3 * * *`). Every day a schedule fires on has
the same times of day, so the one gap those slots may not reach is the one across midnight, from
a day's last slot to the next day's first: it is checked against the next `CHECKED_DAYS` days.
"""

from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise

from cronsim import CronSim, CronSimError

from refresher.exceptions import InvalidSchedule

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
}
CHECKED_SLOTS = 100
# Eight years: every weekday of every leap day, and every day-of-month of every month.
CHECKED_DAYS = 8 * 366


def normalize(text: str) -> str:
    """The schedule as stored: fields separated by one space, aliases lower-case."""
    text = " ".join(text.split())
    return text.lower() if text.startswith("@") else text


def _expression(schedule: str) -> str:
    if schedule.startswith("@"):
        if schedule not in ALIASES:
            raise InvalidSchedule(
                f"unknown alias {schedule!r}; use @hourly, @daily, @weekly or five cron fields"
            )
        return ALIASES[schedule]
    if len(schedule.split()) != 5:
        raise InvalidSchedule(
            "a schedule is five cron fields (minute hour day-of-month month day-of-week, UTC) "
            "or @hourly, @daily, @weekly"
        )
    return schedule


def slots(schedule: str, after: datetime) -> CronSim:
    """The schedule's slots strictly after `after`, in UTC."""
    start = after.astimezone(UTC).replace(second=0, microsecond=0)
    try:
        return CronSim(_expression(schedule), start)
    except CronSimError as exc:
        raise InvalidSchedule(f"not a valid cron expression: {exc}") from None


def next_slot(schedule: str, after: datetime) -> datetime:
    """The first slot of `schedule` strictly after `after`."""
    it = slots(schedule, after)
    slot: datetime = next(it)
    if slot <= after:  # `after` had seconds, and its own minute matched
        slot = next(it)
    return slot


def _overnight_gap(schedule: str, now: datetime, min_minutes: int) -> timedelta:
    """The gap from a day's last slot to the next day's first, where two days in a row fire.

    `timedelta.max` when no two days in a row fire within `CHECKED_DAYS`, or when that gap is
    long enough anyway (then the firing days need not be walked).
    """
    minute, hour, *days = _expression(schedule).split()
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    times = CronSim(f"{minute} {hour} * * *", midnight - timedelta(minutes=1))
    first = next(times)
    last = first
    for slot in times:
        if slot.date() != first.date():
            break
        last = slot
    gap = timedelta(days=1) - (last - first)
    if gap >= timedelta(minutes=min_minutes):
        return timedelta.max
    firing_days = CronSim("0 0 " + " ".join(days), midnight - timedelta(minutes=1))
    for day, next_day in pairwise(islice(firing_days, CHECKED_DAYS)):
        if next_day - day == timedelta(days=1):
            return gap
        if day - midnight > timedelta(days=CHECKED_DAYS):
            break
    return timedelta.max


def validate(text: str, *, min_minutes: int, now: datetime | None = None) -> str:
    """The normalized schedule, or InvalidSchedule saying what is wrong. Empty means off."""
    schedule = normalize(text)
    if not schedule:
        return ""
    now = now or datetime.now(UTC)
    try:
        upcoming = list(islice(slots(schedule, now), CHECKED_SLOTS))
    except (CronSimError, StopIteration) as exc:
        raise InvalidSchedule(f"not a valid cron expression: {exc}") from None
    if not upcoming:
        raise InvalidSchedule("this schedule never fires")
    shortest = min(
        (b - a for a, b in pairwise(upcoming)),
        default=timedelta.max,
    )
    shortest = min(shortest, _overnight_gap(schedule, now, min_minutes))
    if shortest < timedelta(minutes=min_minutes):
        minutes = int(shortest.total_seconds() // 60)
        raise InvalidSchedule(
            f"this schedule fires every {minutes} minute(s) at times; the shortest period "
            f"allowed is {min_minutes} minutes"
        )
    return schedule
