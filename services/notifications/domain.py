"""Notification rules: which event becomes which message, rendering, and delivery with
bounded retries. A message row is unique per (event, channel, template), so a
redelivered event never sends twice."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict
from shared.fair import fair
from shared.inbox import Answers, HandlerContext, ask, prefetching
from shared.logsafe import describe
from shared.masking import mask_email, mask_phone
from shared.times import beijing_minutes, parse_moment

from .models import Message, Preference
from .providers import DeliveryError, UndeliverableMessage

if TYPE_CHECKING:
    from .bootstrap import NotificationsDeps

log = logging.getLogger(__name__)
LANGUAGES = ("zh", "en")
MAX_ATTEMPTS = 5
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        undefined=StrictUndefined, autoescape=select_autoescape(enabled_extensions=()),
                        keep_trailing_newline=False)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def beijing_time(iso: str) -> str:
    """A moment from an event (UTC: with an offset or Z, or without one) as the unit reads it:
    Beijing time to the minute; the templates name the zone."""
    try:
        return beijing_minutes(parse_moment(iso))
    except ValueError:  # not a moment after all: shown as sent rather than lose the message
        return iso[:16].replace("T", " ")


def render(template: str, language: str, variables: dict[str, Any]) -> dict[str, str]:
    """Subject, email body and SMS text of a template in a language (zh if unknown)."""
    language = language if language in LANGUAGES else "zh"
    tpl = TEMPLATES.get_template(f"{template}.{language}.j2")
    profile = fair()  # the fair's name and signature, in the message's language
    ctx = tpl.new_context({"fair_sign": profile.text("messaging.sign", language),
                           "fair_subject": profile.text("messaging.subject", language),
                           "fair_name": profile.name(language), **variables})
    return {name: "".join(tpl.blocks[name](ctx)).strip() for name in ("subject", "email", "sms")}


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(2 ** attempts, 300))


def queue_messages(session: Session, event_id: str, unit_id: str, contact: dict[str, Any],
                   template: str, variables: dict[str, Any]) -> list[Message]:
    language = contact.get("language") or "zh"
    texts = render(template, language, {**variables, "unit_name": contact["unit_name"],
                                        "contact_name": contact.get("contact_name")})
    now = utcnow()
    messages = []
    for channel, recipient, masked, subject, body in (
        ("email", contact.get("email"), mask_email(contact.get("email")), texts["subject"], texts["email"]),
        ("sms", contact.get("phone"), mask_phone(contact.get("phone")), None, texts["sms"]),
    ):
        if not recipient:
            continue
        exists = session.scalar(select(Message.id).where(Message.source_event_id == event_id,
                                                         Message.channel == channel, Message.template == template))
        if exists:
            continue
        msg = Message(id=new_id(), source_event_id=event_id, unit_id=unit_id, channel=channel, template=template,
                      language=language, recipient=recipient, recipient_masked=masked or "", subject=subject,
                      body=body, status="queued", attempts=0, next_attempt_at=now, created_at=now)
        session.add(msg)
        messages.append(msg)
    return messages


class RateLimiter:
    """A token bucket per channel: at most `rate` messages a second (bursts up to `rate`)."""

    def __init__(self, rates: dict[str, float]):
        self.rates = rates
        self.tokens = dict(rates)
        self.stamp = {c: time.monotonic() for c in rates}
        self.lock = threading.Lock()

    def take(self, channel: str) -> bool:
        rate = self.rates.get(channel)
        if not rate:
            return True
        with self.lock:
            now = time.monotonic()
            self.tokens[channel] = min(rate, self.tokens[channel] + (now - self.stamp[channel]) * rate)
            self.stamp[channel] = now
            if self.tokens[channel] < 1:
                return False
            self.tokens[channel] -= 1
            return True


SENDING_LEASE = dt.timedelta(minutes=5)  # a message claimed by a sweep that died is tried again after this


def deliver(deps: NotificationsDeps, ids: list[str] | None = None, limit: int = 50,
            now: dt.datetime | None = None) -> int:
    """Send due messages, in three steps so that no transaction is open while a provider is
    called: claim them (`sending`, with a lease), send, record each result on its own.
    Failures back off exponentially and end as `dead` after MAX_ATTEMPTS (at once when the
    message can never be sent), visible in the delivery log with their reason; one message
    that fails never stops the others; a channel over its rate waits for the next pass; a
    claim whose sweep died is taken again once its lease ends. Returns how many were sent."""
    now = now or utcnow()
    sent = 0
    for claimed in claim_due(deps, ids, limit, now):
        try:
            if claimed["channel"] == "email":
                provider_id = deps.email.send(claimed["recipient"], claimed["subject"], claimed["body"])
            else:
                provider_id = deps.sms.send(claimed["recipient"], claimed["body"])
        except Exception as exc:  # whatever one message does, the rest of the batch goes on
            record_failure(deps, claimed["id"], exc, now)
            continue
        record_sent(deps, claimed["id"], provider_id)
        sent += 1
    return sent


def claim_due(deps: NotificationsDeps, ids: list[str] | None, limit: int, now: dt.datetime) -> list[dict[str, Any]]:
    with deps.uow() as (s, _):
        due = Message.status.in_(("queued", "failed"))
        lapsed = (Message.status == "sending")  # a sweep claimed it and never came back
        query = (select(Message).where(due | lapsed, Message.next_attempt_at <= now)
                 .order_by(Message.created_at).limit(limit))
        if ids is not None:
            query = query.where(Message.id.in_(ids))
        if deps.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for msg in s.scalars(query).all():
            if not deps.limiter.take(msg.channel):
                continue  # over the channel's rate: stays due for the next pass
            msg.status, msg.attempts, msg.next_attempt_at = "sending", msg.attempts + 1, now + SENDING_LEASE
            claimed.append({"id": msg.id, "channel": msg.channel, "recipient": msg.recipient or "",
                            "subject": msg.subject or "", "body": msg.body})
        return claimed


def record_sent(deps: NotificationsDeps, message_id: str, provider_id: str) -> None:
    with deps.uow() as (s, _):
        msg = s.get(Message, message_id, with_for_update=True)
        if msg is not None:
            msg.status, msg.sent_at, msg.recipient, msg.last_error = "sent", utcnow(), None, None
            msg.provider_id = provider_id


def record_failure(deps: NotificationsDeps, message_id: str, exc: Exception, now: dt.datetime) -> None:
    with deps.uow() as (s, _):
        msg = s.get(Message, message_id, with_for_update=True)
        if msg is None:
            return
        msg.last_error = (str(exc) if isinstance(exc, DeliveryError) else describe(exc))[:300]
        final = isinstance(exc, UndeliverableMessage) or msg.attempts >= MAX_ATTEMPTS
        msg.status = "dead" if final else "failed"
        msg.next_attempt_at = now + backoff(msg.attempts)
        log.warning("message %s (%s, %s) not sent: %s", msg.id, msg.channel, msg.template, msg.last_error)


SMS_CODE_TEXT = {
    "zh": "【{sign}】您的验证码是{code}，5分钟内有效，请勿告诉他人。",
    "en": "[{sign}] Your verification code is {code}. It expires in 5 minutes; do not share it.",
}
# A colleague's (sub-user's) new password, set by the unit's contact: not a code that expires.
MEMBER_PASSWORD_TEXT = {
    "zh": "【{sign}】您的单位已为您重置登录密码，新密码为{code}，请登录后尽快修改，请勿告诉他人。",
    "en": "[{sign}] Your unit reset your password. Your new password is {code}; change it after you log in "
          "and do not share it.",
}


def sms_code_text(purpose: str, language: str, code: str) -> str:
    texts = MEMBER_PASSWORD_TEXT if purpose == "member_password" else SMS_CODE_TEXT
    return texts[language].format(code=code, sign=fair().text("messaging.sign", language))


def send_sms_code(deps: NotificationsDeps, phone: str, code: str, purpose: str, language: str) -> str:
    """Send a verification code at once (never queued, never opted out of). The delivery
    log keeps the event but neither the code nor the number."""
    language = language if language in SMS_CODE_TEXT else "zh"
    text = sms_code_text(purpose, language, code)
    now = utcnow()
    msg = Message(id=new_id(), source_event_id=f"sms-code:{new_id()}", unit_id=None, channel="sms",
                  template=f"sms_code_{purpose}", language=language, recipient=None,
                  recipient_masked=mask_phone(phone) or "", subject=None,
                  body=sms_code_text(purpose, language, "******"),
                  status="queued", attempts=1, next_attempt_at=now, created_at=now)
    return send_now(deps, msg, lambda: deps.sms.send(phone, text))


def send_now(deps: NotificationsDeps, msg: Message, send: Callable[[], str]) -> str:
    """Send a message asked for over RPC at once, log it (without the raw recipient) and
    answer the provider id, or raise DeliveryError for the caller to report."""
    try:
        msg.provider_id = send()
        msg.status, msg.sent_at = "sent", utcnow()
    except DeliveryError as exc:
        msg.status, msg.last_error = "failed", str(exc)[:300]
    with deps.uow() as (s, _):
        s.add(msg)
    if msg.status != "sent" or msg.provider_id is None:
        raise DeliveryError(msg.last_error or f"{msg.channel} failed")
    return msg.provider_id


DIRECT_EMAIL_TEMPLATES = ("registration_invitation", "email_code")


def send_direct_email(deps: NotificationsDeps, to: str, template: str, language: str,
                      variables: dict[str, Any], unit_id: str | None = None, redact: tuple[str, ...] = ()) -> str:
    """An email asked for by another service over RPC (invitations, verification codes),
    sent at once and logged with the recipient masked and `redact` variables hidden."""
    if template not in DIRECT_EMAIL_TEMPLATES:
        raise ValueError(f"no direct email template {template}")
    texts = render(template, language, variables)
    logged = render(template, language, {**variables, **{k: "******" for k in redact}})
    now = utcnow()
    msg = Message(id=new_id(), source_event_id=f"direct:{new_id()}", unit_id=unit_id, channel="email",
                  template=template, language=language, recipient=None, recipient_masked=mask_email(to) or "",
                  subject=texts["subject"], body=logged["email"], status="queued", attempts=1,
                  next_attempt_at=now, created_at=now)
    return send_now(deps, msg, lambda: deps.email.send(to, texts["subject"], texts["email"]))


def resend(session: Session, message_id: str) -> Message | None:
    msg = session.get(Message, message_id)
    if msg is None:
        return None
    if msg.status == "sent":
        raise Conflict("already_sent", "the message was delivered; nothing to resend")
    if msg.recipient is None:
        raise Conflict("recipient_erased", "the recipient is no longer kept for this message")
    msg.status, msg.next_attempt_at, msg.attempts = "queued", utcnow(), 0  # a fresh round of retries
    return msg


# --- event handlers -------------------------------------------------------------------
def opted_out(session: Session, unit_id: str) -> bool:
    pref = session.get(Preference, unit_id)
    return pref is not None and not pref.reminders


def set_preferences(session: Session, unit_id: str, reminders: bool) -> Preference:
    pref = session.get(Preference, unit_id) or Preference(unit_id=unit_id)
    pref.reminders, pref.updated_at = reminders, utcnow()
    session.add(pref)
    return pref


def notify(template: str, variables: Callable[[dict[str, Any]], dict[str, Any]], optional: bool = False,
           about_person: bool = False, when: Callable[[dict[str, Any]], bool] | None = None):
    """A handler that queues `template` for the unit and delivers it right after commit.
    `optional` messages (reminders) respect the unit's opt-out. A message `about_person`
    names the person (asked of registration: a name never rides on an event) to their own
    unit's contact. With `when`, only events it accepts become a message (a confirmation
    is a "please pay" only when the unit pays)."""
    def prefetch(payload: dict[str, Any], rpc: Any) -> Answers:
        """Asked before the transaction: whose unit, how to reach it and, if named, who."""
        if when is not None and not when(payload):
            return {}
        answers = {} if payload.get("unit_id") else ask(rpc, ("registration", "person_unit", payload["person_id"]))
        unit_id = payload.get("unit_id") or answers[("registration", "person_unit", payload["person_id"])]
        if unit_id:
            answers.update(ask(rpc, ("registration", "unit_contact", unit_id)))
        if about_person and unit_id:
            answers.update(ask(rpc, ("registration", "person_name", payload["person_id"])))
        return answers

    @prefetching(prefetch)
    def handler(ctx: HandlerContext[NotificationsDeps]) -> None:
        if when is not None and not when(ctx.payload):
            return
        unit_id = ctx.payload.get("unit_id") or ctx.rpc.registration.person_unit(ctx.payload["person_id"])
        if unit_id is None:
            return  # the person was deleted with their unit
        if optional and opted_out(ctx.session, unit_id):
            return
        contact = ctx.rpc.registration.unit_contact(unit_id)
        if contact is None:
            raise LookupError("registration does not know the unit yet")
        values = {"portal_url": ctx.deps.settings.public_base_url, **variables(ctx.payload)}
        if about_person:
            name = ctx.rpc.registration.person_name(ctx.payload["person_id"])
            if name is None:
                return  # deleted with their unit meanwhile
            values["person_name"] = name
        messages = queue_messages(ctx.session, ctx.event.id, unit_id, contact, template, values)
        ids = [m.id for m in messages]
        if ids:
            ctx.after_commit.append(lambda: deliver(ctx.deps, ids))
    handler.__name__ = f"notify_{template}"
    return handler


def unit_pays(p: dict[str, Any]) -> bool:
    """A confirmation or a reuse lock that leaves the person awaiting the unit's payment."""
    return p.get("payer") == "unit" and int(p.get("fee_fen") or 0) > 0


def labels_of(p: dict[str, Any]) -> dict[str, Any]:
    """The badge types' names, from the fair's profile."""
    profile = fair()
    return {f"{side}_label_{lang}": profile.badge_label(p[f"{side}_label"], lang)
            for side in ("from", "to") for lang in LANGUAGES}


def order_variables(p: dict[str, Any]) -> dict[str, Any]:
    return {"order_no": p["order_no"], "amount": yuan(p["amount_fen"]), "people": len(p["person_ids"])}


DEADLINE_NAMES = {
    "submission": {"deadline_name_zh": "报名提交", "deadline_name_en": "Registration"},
    "payment": {"deadline_name_zh": "缴费", "deadline_name_en": "Payment"},
}

# Sample variables for the admin preview of each template.
SAMPLES: dict[str, dict[str, Any]] = {
    "unit_approved": {}, "unit_returned": {"comment": "请补充英文名称"}, "unit_rejected": {"reason": "不符合条件"},
    "payment_due": {"order_no": "V20261012093000123456789", "amount": "200.00", "people": 1,
                    "deadline": "2026-10-15 16:00"},
    "payment_confirmed": {"order_no": "V20261012093000123456789", "amount": "200.00", "people": 1},
    "credential_dispatched": {"credential_no": "202600000001", "method": "courier", "tracking_no": "SF123456789012"},
    "transfer_rejected": {"order_no": "V20261012093000123456789", "reason": "汇款金额不符"},
    "invoice_issued": {"invoice_no": "26440000000000000001", "kind": "ordinary", "amount": "200.00"},
    "invoice_reversed": {"invoice_no": "26440000000000000001", "reason": "抬头有误", "notice_72h": True},
    "refund_completed": {"order_no": "V20261012093000123456789", "amount": "200.00", "people": 1},
    "check_result": {"passed": True, "person_name": "Zhang San"},
    "person_payment_due": {"person_name": "Zhang San", "amount": "200.00", "reuse": False},
    "invoice_reversal_requested": {"invoice_no": "26440000000000000001", "reason": "抬头有误", "notice_72h": True,
                                   "confirm_by": "2026-10-23 16:00"},
    "invoice_reversal_rejected": {"invoice_no": "26440000000000000001", "note": "已过开票当月"},
    "reissue_requested": {"person_name": "Zhang San", "credential_no": "202600000001", "lost": True},
    "credential_reissued": {"person_name": "Zhang San", "credential_no": "202600000001", "issue": 2},
    "person_upgraded": {"person_name": "Zhang San", "from_label_zh": "专业观众", "from_label_en": "professional visitor",
                        "to_label_zh": "VIP", "to_label_en": "VIP"},
    "deadline_reminder": {"kind": "payment", "people": 2, "deadline": "2026-10-15 16:00", **DEADLINE_NAMES["payment"]},
    "registration_invitation": {"link": "https://portal.example/register?invitation=..."},
    "email_code": {"code": "123456"},
}


def preview(template: str, language: str, portal_url: str) -> dict[str, str]:
    if template not in SAMPLES:
        raise KeyError(template)
    return render(template, language, {"unit_name": "示例贸易有限公司 Example Trading Co.", "contact_name": "李雷",
                                       "portal_url": portal_url, **SAMPLES[template]})


def delivery_log(session: Session, unit_id: str | None = None, status: str | None = None) -> list[Message]:
    query = select(Message).order_by(Message.created_at)
    if unit_id:
        query = query.where(Message.unit_id == unit_id)
    if status:
        query = query.where(Message.status == status)
    return list(session.scalars(query))


# --- personal data (PIPL) -----------------------------------------------------------------
ERASED = "[erased]"


def erase_messages(session: Session, unit_id: str | None = None, before: dt.datetime | None = None) -> int:
    """The delivery log keeps that a message went, not to whom or what it said: a deleted
    unit's messages, or every message written before an edition's retention ended."""
    query = select(Message)
    if unit_id is not None:
        query = query.where(Message.unit_id == unit_id)
    if before is not None:
        query = query.where(Message.created_at <= before)
    erased = 0
    for msg in session.scalars(query.with_for_update()):
        msg.recipient, msg.recipient_masked, msg.subject, msg.body = None, ERASED, None, ERASED
        if msg.status in ("queued", "sending", "failed"):
            msg.status, msg.last_error = "dead", "personal data erased before delivery"
        erased += 1
    return erased


def on_unit_deleted(ctx: HandlerContext[NotificationsDeps]) -> None:
    erase_messages(ctx.session, unit_id=ctx.payload["unit_id"])


def on_retention_expired(ctx: HandlerContext[NotificationsDeps]) -> None:
    count = erase_messages(ctx.session, before=utcnow())
    log.info("personal data of %s erased: %d messages", ctx.payload["edition"], count)
