"""Payment providers behind one small adapter, and the sandbox that behaves like them.

The sandbox keeps its own ledger, answers a QR payload, and — once the payer "scans and
pays" — notifies the merchant asynchronously with an HMAC-SHA256-signed form, as
Alipay/WeChat Pay/UnionPay do, re-notifying until the merchant answers `success`.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from shared.db import Database, utcnow
from shared.errors import Conflict, DomainError, NotFound, ProviderRefused

from .models import SandboxTransaction

log = logging.getLogger(__name__)
QR_METHODS = ("alipay", "wechat", "unionpay")
ONLINE_METHODS = QR_METHODS + ("b2b",)


def canonical(params: dict[str, Any]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] is not None)


def sign(params: dict[str, Any], secret: str) -> str:
    return hmac.new(secret.encode(), canonical(params).encode(), hashlib.sha256).hexdigest()


def verify(params: dict[str, Any], secret: str) -> bool:
    given = params.get("sign")
    # bytes: compare_digest refuses non-ASCII str, and a forged sign may hold anything
    return isinstance(given, str) and hmac.compare_digest(given.encode(), sign(params, secret).encode())


# The provider keeps its connections to the merchant open instead of connecting for every
# notification. One session for the notifying threads: urllib3's pool underneath is
# thread-safe, and these stateless form posts set no cookies.
_merchant = requests.Session()
for _scheme in ("http://", "https://"):  # as many kept connections as notifications at a peak
    _merchant.mount(_scheme, requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64))


@dataclass(frozen=True)
class ProviderPayment:
    provider: str
    txn_id: str
    pay_content: str  # the QR payload or the gateway redirect


class SandboxPaymentProvider:
    name = "sandbox"

    def __init__(self, db: Database, secret: str, public_base_url: str, callback_delay: float = 0.2,
                 max_notifications: int = 5):
        self.db, self.secret, self.public_base_url = db, secret, public_base_url
        self.callback_delay, self.max_notifications = callback_delay, max_notifications

    # --- the merchant side of the adapter ----------------------------------------------
    def create_payment(self, order_no: str, amount_fen: int, method: str, notify_url: str,
                       request_key: str) -> ProviderPayment:
        # the merchant's request key makes a repeated request the same transaction
        txn_id = "SBX" + hmac.new(self.secret.encode(), request_key.encode(), "sha256").hexdigest()[:24].upper()
        with self.db.transaction() as s:
            if s.get(SandboxTransaction, txn_id) is None:
                s.add(SandboxTransaction(txn_id=txn_id, out_trade_no=order_no, method=method, total_fen=amount_fen,
                                         notify_url=notify_url, status="WAIT_BUYER_PAY", created_at=utcnow()))
        content = f"{self.public_base_url}/api/billing/sandbox/payments/{txn_id}/pay"
        return ProviderPayment(self.name, txn_id, content)

    def verify(self, params: dict[str, Any]) -> bool:
        return verify(params, self.secret)

    # --- the payer and provider side (sandbox only) ------------------------------------
    def pay(self, txn_id: str, notify_times: int = 1, payer_name: str | None = None) -> dict[str, Any]:
        """The payer scans and pays: mark the provider's transaction paid, then notify
        the merchant in the background (`notify_times` > 1 repeats the notification)."""
        with self.db.transaction() as s:
            txn = s.get(SandboxTransaction, txn_id, with_for_update=True)
            if txn is None:
                raise NotFound("sandbox transaction", "txn_id")
            if txn.status == "TRADE_CLOSED":
                raise Conflict("trade_closed", "the transaction is closed")
            if txn.status == "WAIT_BUYER_PAY":
                txn.status, txn.paid_at = "TRADE_SUCCESS", utcnow()
            params = self.notification(txn, payer_name)
            notify_url = txn.notify_url
        for _ in range(max(1, min(notify_times, 5))):
            threading.Thread(target=self._notify, args=(notify_url, params), daemon=True).start()
        return params

    def notification(self, txn: SandboxTransaction, payer_name: str | None = None) -> dict[str, Any]:
        params = {"notify_id": secrets.token_hex(12), "txn_id": txn.txn_id, "out_trade_no": txn.out_trade_no,
                  "total_fen": str(txn.total_fen), "trade_status": txn.status, "method": txn.method,
                  "gmt_payment": (txn.paid_at or utcnow()).strftime("%Y-%m-%d %H:%M:%S")}
        if txn.method == "b2b" and payer_name:
            params["payer_name"] = payer_name  # the company whose bank account paid
        params["sign"] = sign(params, self.secret)
        return params

    def _notify(self, url: str, params: dict[str, Any]) -> None:
        delay = self.callback_delay
        for _ in range(self.max_notifications):
            time.sleep(delay)  # the provider's own asynchronous schedule
            try:
                answer = _merchant.post(url, data=params, timeout=10)
                if answer.status_code == 200 and answer.text.strip() == "success":
                    return
                if 400 <= answer.status_code < 500:
                    log.warning("sandbox provider: merchant refused notification (%s)", answer.status_code)
                    return
            except requests.RequestException as exc:
                log.warning("sandbox provider: notification failed: %s", exc)
            delay = min(delay * 4 + 1, 30)


class SandboxPaymentRefunds:
    """Refunds through the sandbox provider: accepted at once, completed by a signed
    asynchronous notification. Payee accounts listed in `failing_accounts` fail, as a
    closed account would at a real bank."""

    def __init__(self, payments: SandboxPaymentProvider, failing_accounts: set[str]):
        self.payments, self.failing_accounts = payments, failing_accounts

    def refund(self, refund_id: str, original_txn_id: str, method: str, amount_fen: int,
               payee: dict[str, Any] | None, notify_url: str) -> str:
        # the merchant's refund number is the idempotency key: asked twice, one refund
        refund_txn = "RFD" + hmac.new(self.payments.secret.encode(), refund_id.encode(), "sha256").hexdigest()[:20].upper()
        fails = bool(payee and payee.get("account") in self.failing_accounts)
        params = {"notify_id": secrets.token_hex(12), "refund_txn_id": refund_txn, "out_refund_no": refund_id,
                  "original_txn_id": original_txn_id, "refund_fen": str(amount_fen),
                  "refund_status": "REFUND_FAIL" if fails else "REFUND_SUCCESS"}
        if fails:
            params["fail_reason"] = "payee account closed"
        params["sign"] = sign(params, self.payments.secret)
        threading.Thread(target=self.payments._notify, args=(notify_url, params), daemon=True).start()
        return refund_txn


class SandboxEInvoicing:
    """The e-invoicing platform's sandbox: renders the invoice as a PDF (数电发票 layout,
    simplified); titles listed in `failing_titles` are refused like a rejected filing."""

    def __init__(self, seller: str = "中国国际进口博览局（示例）", seller_tax_no: str = "91310000MA1FL4XX0X",
                 failing_titles: set[str] | None = None):
        self.seller, self.seller_tax_no, self.failing_titles = seller, seller_tax_no, failing_titles or set()

    def issue(self, invoice_no: str, kind: str, title: str, tax_no: str | None, amount_fen: int, order_no: str) -> bytes:
        if title in self.failing_titles:
            raise ProviderRefused("einvoice_refused", "the e-invoicing platform refused the invoice", "title")
        import io
        from reportlab.lib.pagesizes import A5, landscape
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfgen import canvas
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        out = io.BytesIO()
        pdf = canvas.Canvas(out, pagesize=landscape(A5))
        pdf.setTitle(f"invoice {invoice_no}")
        pdf.setFont("STSong-Light", 16)
        pdf.drawString(40, 370, "电子发票（增值税专用发票）" if kind == "special" else "电子发票（普通发票）")
        pdf.setFont("STSong-Light", 10)
        lines = [f"发票号码 Invoice no.: {invoice_no}", f"开票日期 Date: {utcnow():%Y-%m-%d}",
                 f"购买方 Buyer: {title}", f"纳税人识别号 Tax no.: {tax_no or '-'}",
                 f"销售方 Seller: {self.seller}  ({self.seller_tax_no})",
                 f"项目 Item: *会展服务*专业观众证件费 (order {order_no})",
                 f"价税合计 Total: CNY {amount_fen // 100}.{amount_fen % 100:02d}"]
        for i, line in enumerate(lines):
            pdf.drawString(40, 330 - i * 22, line)
        pdf.drawString(40, 60, "SANDBOX — not a valid tax document")
        pdf.showPage()
        pdf.save()
        return out.getvalue()


def check_method(method: str) -> None:
    if method not in ONLINE_METHODS:
        raise DomainError("invalid_method", f"method must be one of {', '.join(ONLINE_METHODS)}", "method")
