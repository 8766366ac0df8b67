"""Registration's outside parties, reached over RabbitMQ RPC: notifications sends SMS codes
and emails (the phone number and address travel point to point, never on events), and
review claims CIFTIS invitation codes."""
from __future__ import annotations

from typing import Any, Protocol

from shared.errors import Unavailable
from shared.nameko_edge import RpcClient


class SmsCodes(Protocol):
    def send(self, phone: str, code: str, purpose: str, language: str) -> str: ...


class Emails(Protocol):
    def send(self, to: str, template: str, language: str, variables: dict[str, Any], unit_id: str | None = None,
             redact: tuple[str, ...] = ()) -> str: ...


class InvitationCodes(Protocol):
    def claim(self, code: str, unit_id: str, unit_name: str, uscc: str) -> dict[str, Any]:
        """{"ok": True, "delegation_id": …} or the refusal ({"ok": False, "code", "message",
        "conflict"}); Unavailable when review could not be asked or did not answer."""
        ...


class SmsCodesOverRpc:
    def __init__(self, rpc: RpcClient):
        self.rpc = rpc

    def send(self, phone: str, code: str, purpose: str, language: str) -> str:
        return self.rpc.call("notifications", "send_sms_code", phone=phone, code=code, purpose=purpose,
                             language=language)


class EmailsOverRpc:
    def __init__(self, rpc: RpcClient):
        self.rpc = rpc

    def send(self, to: str, template: str, language: str, variables: dict[str, Any], unit_id: str | None = None,
             redact: tuple[str, ...] = ()) -> str:
        return self.rpc.call("notifications", "send_email", to=to, template=template, language=language,
                             variables=variables, unit_id=unit_id, redact=list(redact))


class InvitationCodesOverRpc:
    """CIFTIS host-organisation codes live in review; claiming one is a question to it."""

    def __init__(self, rpc: RpcClient):
        self.rpc = rpc

    def claim(self, code: str, unit_id: str, unit_name: str, uscc: str) -> dict[str, Any]:
        try:
            return self.rpc.call("review", "claim_invitation_code", code=code, unit_id=unit_id, unit_name=unit_name,
                                 uscc=uscc)
        except Exception as exc:  # a timeout or the broker: whether review claimed it is unknown
            raise Unavailable("invitation_codes_unavailable", "the invitation code could not be checked just now; "
                              "try again (a retry with the same USCC claims the same code)",
                              "host_invitation_code") from exc
