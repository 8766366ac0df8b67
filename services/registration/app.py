"""Registration's Flask app factory (served by gunicorn: `services.registration.app:create_app()`)."""
from __future__ import annotations

import functools

from shared.crypto import FieldCipher, load_key
from shared.http import create_service_app
from shared.nameko_edge import RpcClient
from shared.runtime import Runtime

from . import models
from .api import bp

SERVICE = "registration"


@functools.lru_cache(maxsize=None)
def runtime() -> Runtime:
    rt = Runtime.build(SERVICE, models)
    key = load_key(rt.settings.get("DATA_KEY"), rt.settings.data_dir / "keys" / f"{SERVICE}.key")
    rt.extras["cipher"] = FieldCipher(key)
    rpc = RpcClient(rt.settings.amqp_uri)
    rt.extras["sms_codes"] = SmsCodeSender(rpc)
    rt.extras["emails"] = EmailSender(rpc)
    rt.extras["invitation_codes"] = InvitationCodeClaims(rpc)
    return rt


class InvitationCodeClaims:
    """CIFTIS host-organisation codes live in review; claiming one is a question to it."""

    def __init__(self, rpc: RpcClient):
        self.rpc = rpc

    def claim(self, code: str, unit_id: str, unit_name: str) -> dict:
        return self.rpc.call("review", "claim_invitation_code", code=code, unit_id=unit_id, unit_name=unit_name)


class EmailSender:
    """Invitations and email codes go out through notifications over RPC."""

    def __init__(self, rpc: RpcClient):
        self.rpc = rpc

    def send(self, to: str, template: str, language: str, variables: dict, unit_id: str | None = None,
             redact: tuple[str, ...] = ()) -> str:
        return self.rpc.call("notifications", "send_email", to=to, template=template, language=language,
                             variables=variables, unit_id=unit_id, redact=list(redact))


class SmsCodeSender:
    """Verification codes go out through notifications (which owns the SMS channel), over
    RPC: the phone number never rides on an event."""

    def __init__(self, rpc: RpcClient):
        self.rpc = rpc

    def send(self, phone: str, code: str, purpose: str, language: str) -> str:
        return self.rpc.call("notifications", "send_sms_code", phone=phone, code=code, purpose=purpose,
                             language=language)


def create_app(start_relay: bool = True):
    return create_service_app(runtime(), [bp], start_relay=start_relay)
