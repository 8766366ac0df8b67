import contextlib
import datetime as dt
from types import SimpleNamespace

import pytest

from services.notifications import domain
from services.notifications.models import Message
from services.notifications.providers import DeliveryError

TEMPLATES = domain.SAMPLES
PRINTED = {"comment", "reason", "order_no", "amount", "credential_no", "tracking_no", "invoice_no", "link", "code",
           "deadline", "person_name"}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_template_renders_in_both_languages(template, language):
    texts = domain.render(template, language, {"unit_name": "Example Co", "contact_name": "Li",
                                               "portal_url": "http://x", **TEMPLATES[template]})
    assert texts["subject"] and texts["email"] and texts["sms"]
    if template not in ("registration_invitation", "email_code"):
        assert "Li" in texts["email"]  # addressed to the unit's contact
    is_chinese = any("\u4e00" <= c <= "\u9fff" for c in texts["subject"])
    assert is_chinese == (language == "zh")
    for key, value in TEMPLATES[template].items():
        if key in PRINTED:  # the others decide the wording
            assert str(value) in texts["email"], key


def test_yuan_formatting():
    assert domain.yuan(20000) == "200.00" and domain.yuan(5) == "0.05"


class FlakySender:
    def __init__(self, failures):
        self.failures, self.sent = failures, []

    def send(self, *args):
        if self.failures:
            self.failures -= 1
            raise DeliveryError("gateway down")
        self.sent.append(args)
        return f"id-{len(self.sent)}"


def _queue(session, event_id="e1"):
    contact = {"unit_name": "Example Co", "email": "a@example.cn", "phone": "13800138000", "language": "en"}
    return domain.queue_messages(session, event_id, "u1", contact, "unit_approved", {"portal_url": "http://x"})


class SessionDeps:
    """The parts of the notifications deps that delivery uses, over the test's session."""

    def __init__(self, session, senders):
        self.session, self.email, self.sms = session, senders["email"], senders["sms"]
        self.db = SimpleNamespace(is_postgres=False)
        self.limiter = domain.RateLimiter({})

    @contextlib.contextmanager
    def uow(self):
        yield self.session, None
        self.session.flush()


def test_queue_is_unique_per_event_and_channel(session_for):
    s = session_for("notifications")
    assert len(_queue(s)) == 2
    s.flush()
    assert _queue(s) == []  # the same event again queues nothing


def test_retries_back_off_then_dead_letter(session_for):
    s = session_for("notifications")
    _queue(s)
    s.flush()
    senders = {"email": FlakySender(failures=99), "sms": FlakySender(failures=1)}
    now = dt.datetime.utcnow() + dt.timedelta(minutes=1)
    domain.deliver(SessionDeps(s, senders), now=now)
    sms = s.query(Message).filter_by(channel="sms").one()
    assert sms.status == "failed" and sms.attempts == 1
    domain.deliver(SessionDeps(s, senders), now=now)  # not due yet: backing off
    assert sms.attempts == 1
    for i in range(1, domain.MAX_ATTEMPTS + 1):
        domain.deliver(SessionDeps(s, senders), now=now + dt.timedelta(hours=i))
    email = s.query(Message).filter_by(channel="email").one()
    assert email.status == "dead" and email.attempts == domain.MAX_ATTEMPTS
    assert sms.status == "sent" and sms.recipient is None and sms.recipient_masked == "138****8000"
    assert len(senders["sms"].sent) == 1


def test_every_event_the_service_handles_has_both_languages():
    from pathlib import Path
    names = {p.name for p in (Path(domain.__file__).parent / "templates").iterdir()}
    for template in TEMPLATES:
        assert {f"{template}.zh.j2", f"{template}.en.j2"} <= names


def test_rate_limiter_caps_each_channel():
    limiter = domain.RateLimiter({"sms": 3})
    assert [limiter.take("sms") for _ in range(4)] == [True, True, True, False]
    assert limiter.take("email")  # no limit configured


def test_check_result_never_gives_the_reason():
    texts = domain.render("check_result", "zh", {"unit_name": "X", "contact_name": None, "portal_url": "u",
                                                 "passed": False, "person_name": "张三"})
    assert "未通过" in texts["subject"] and "BLOCK" not in texts["email"]


def test_preview_of_every_template():
    for template in TEMPLATES:
        assert domain.preview(template, "en", "http://portal")["subject"]
    with pytest.raises(KeyError):
        domain.preview("nope", "en", "x")


@pytest.mark.parametrize("template", ["payment_due", "deadline_reminder"])
def test_deadlines_are_shown_in_beijing_time(template):
    from services.notifications.handlers import HANDLERS  # noqa: F401  (the handlers use beijing_time)
    assert domain.beijing_time("2026-10-15T10:00:00") == "2026-10-15 18:00"  # naive: UTC
    assert domain.beijing_time("2026-10-15T10:00:00.123456Z") == "2026-10-15 18:00"
    assert domain.beijing_time("2026-10-15T18:00:00+08:00") == "2026-10-15 18:00"
    for language, zone in (("zh", "北京时间"), ("en", "Beijing time")):
        texts = domain.render(template, language, {"unit_name": "X", "contact_name": None, "portal_url": "u",
                                                   **TEMPLATES[template], "deadline": "2026-10-15 18:00"})
        for part in ("email", "sms"):
            assert zone in texts[part] and "UTC" not in texts[part], (language, part)


@pytest.mark.parametrize("event_type,passed", [("BackgroundCheckPassed", True), ("BackgroundCheckFailed", False)])
def test_the_check_result_names_the_person(session_for, event_type, passed):
    """One message per person checked: it says which person, asked of registration (a
    name never rides on an event), to that person's own unit's contact."""
    from services.notifications.handlers import HANDLERS
    from shared.events import make_event, parse_event
    from shared.inbox import HandlerContext
    s = session_for("notifications")
    names = {"p1": "张三", "p2": "李四"}
    rpc = SimpleNamespace(registration=SimpleNamespace(
        person_unit=lambda pid: "u1" if pid in names else None, person_name=names.get,
        unit_contact=lambda u: {"unit_name": "Example Co", "email": "a@example.cn", "phone": "13800138000",
                                "language": "zh", "contact_name": "Li"}))
    deps = SimpleNamespace(settings=SimpleNamespace(public_base_url="http://portal"))
    about = {}  # event id -> the person it is about
    for person_id in ("p1", "p2", "gone"):
        env = make_event(event_type, {"check_id": f"k-{person_id}", "person_id": person_id}, producer="police")
        about[env["id"]] = person_id
        HANDLERS[event_type](HandlerContext(s, parse_event(env), lambda *a: None, deps, rpc))
    s.flush()
    messages = s.query(Message).all()
    assert sorted((about[m.source_event_id], m.channel) for m in messages) == [
        ("p1", "email"), ("p1", "sms"), ("p2", "email"), ("p2", "sms")]  # none for one deleted with their unit
    for message in messages:  # each names its own person, and only them
        text = (message.subject or "") + message.body
        assert [n for n in names.values() if n in text] == [names[about[message.source_event_id]]]
    emails = [m for m in messages if m.channel == "email"]
    assert all(("已通过" if passed else "未通过") in (m.subject or "") for m in emails)
