"""Moments: stored as naive UTC; configured or entered with an offset or without one (then
UTC); shown to people in Beijing time, the fair's clock (Asia/Shanghai: UTC+8, no daylight
saving since 1991, so a fixed offset is exact and needs no time-zone database)."""
from __future__ import annotations

import datetime as dt

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
BEIJING_TIME = {"zh": "北京时间", "en": "Beijing time"}


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """`moment` as stored: UTC without a zone. An offset is converted, not dropped; a
    moment without one is already UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def parse_moment(text: str) -> dt.datetime:
    """An ISO 8601 moment from configuration ("2026-10-15T18:00+08:00", "…Z", or without an
    offset, meaning UTC), as naive UTC. ValueError when it is not one."""
    return naive_utc(dt.datetime.fromisoformat(text.strip()))


def in_beijing(moment: dt.datetime) -> dt.datetime:
    """A stored (naive UTC) or aware moment on the fair's clock."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)
    return aware.astimezone(BEIJING)


def beijing_minutes(moment: dt.datetime) -> str:
    """"2026-10-15 18:00": the moment in Beijing time, to the minute, without the zone's name."""
    return in_beijing(moment).strftime("%Y-%m-%d %H:%M")


def beijing_text(moment: dt.datetime, language: str = "en") -> str:
    """"2026-10-15 18:00 (Beijing time)" / "2026-10-15 18:00 (北京时间)": a moment as people read it."""
    return f"{beijing_minutes(moment)} ({BEIJING_TIME.get(language, BEIJING_TIME['en'])})"
