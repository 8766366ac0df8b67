"""Bulk personnel import (批量导入) from the XLSX template: every line goes through the
same checks as a person added one by one (the request schema, then the domain rules), in
its own savepoint, so good lines are saved and each bad one is answered with its line
number, field and reason. Saved, not submitted: the unit adds photos and submits as usual."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session

from shared.crypto import FieldCipher
from shared.errors import DomainError
from shared.fair import FairProfile, fair

from ..models import Unit
from .personnel import add_person

MAX_ROWS = 500
MAX_BYTES = 2 * 1024 * 1024
# (key, the header in the template); a header in either language is understood
COLUMNS = (
    ("name", "姓名"), ("gender", "性别"), ("region_type", "地区类型"), ("id_type", "证件类型"),
    ("id_number", "证件号码"), ("nationality", "国籍"), ("mobile", "手机号"), ("email", "邮箱"),
    ("position", "职务"), ("entry_dates", "入场日期"), ("exhibition_area", "最想参观的展区"),
    ("pickup_method", "证件领取方式"), ("requested_label", "人员证件类型"), ("privacy_consent", "同意隐私政策"),
)
REQUIRED_COLUMNS = ("name", "region_type", "id_type", "id_number", "entry_dates")
# Words a person types in Chinese, for the template's coded columns (badge types also by the
# profile's names of them: words_for)
WORDS: dict[str, dict[str, Any]] = {
    "gender": {"男": "male", "女": "female"},
    "region_type": {"中国大陆": "mainland", "港澳": "hk_macao", "台湾": "taiwan", "其他国家/地区": "foreign",
                    "中国（永居海外）": "overseas_chinese"},
    "id_type": {"居民身份证": "resident_id", "港澳居民来往内地通行证": "hk_macao_permit",
                "台湾居民来往大陆通行证": "taiwan_permit", "护照": "passport"},
    "pickup_method": {"快递": "courier", "现场领取": "onsite"},
    "requested_label": {"专业观众": "visitor", "工作人员": "staff", "VIP": "vip"},
    "privacy_consent": {"是": True, "否": False, "yes": True, "no": False},
}


def words_for(key: str, profile: FairProfile | None = None) -> dict[str, Any]:
    """The words understood in a coded column under the fair's profile: badge types are the
    profile's, by the words above or by their own names (参展商, 采购商...)."""
    if key != "requested_label":
        return WORDS.get(key, {})
    profile = profile or fair()
    ids = profile.badge_ids()
    words = {w: b for w, b in WORDS["requested_label"].items() if b in ids}
    for b in ids:
        if b not in words.values():
            words[profile.badge_label(b, "zh")] = b
    return words


def example_line(fair_days: list[dt.date], visitor_kind: str | None = None,
                 profile: FairProfile | None = None) -> tuple[Any, ...]:
    """The template's example person: days of the edition, an exhibition area and a badge
    type of the fair (the unit's kind's first)."""
    profile = profile or fair()
    days = fair_days[1:3] or fair_days[:1]
    areas = list(profile.data["exhibition_areas"])
    area = "consumer_goods" if "consumer_goods" in areas else (areas[0] if areas else "")
    badge = profile.default_badge(visitor_kind or profile.default_visitor_kind())
    label = next((w for w, b in words_for("requested_label", profile).items() if b == badge), "")
    return ("张三", "男", "中国大陆", "居民身份证", "11010519491231002X", "中国", "13900139000", "zhang@example.cn",
            "采购经理", ",".join(d.isoformat() for d in days), area, "快递", label, "是")


def __getattr__(name: str) -> Any:
    """EXAMPLE: the example line of the active profile's edition."""
    if name == "EXAMPLE":
        return example_line(fair().edition().days)
    raise AttributeError(name)


def template(fair_days: list[dt.date], visitor_kind: str | None = None, profile: FairProfile | None = None) -> bytes:
    """The template: a header row (Chinese, the keys below it), one example line, and a
    sheet that explains each column."""
    from openpyxl import Workbook
    profile = profile or fair()
    book = Workbook()
    sheet = book.active
    sheet.title = "人员"
    sheet.append([header for _, header in COLUMNS])
    sheet.append(list(example_line(fair_days, visitor_kind, profile)))
    for i in range(len(COLUMNS)):
        sheet.column_dimensions[chr(ord("A") + i)].width = 18
    notes = book.create_sheet("说明")
    notes.append(["列", "key", "说明"])
    for key, header in COLUMNS:
        choices = "、".join(words_for(key, profile)) if key in WORDS else ""
        extra = {"entry_dates": "展会日期，多个用逗号分隔：" + ",".join(d.isoformat() for d in fair_days),
                 "exhibition_area": ", ".join(profile.data["exhibition_areas"]),
                 "name": "境外人员按护照填写英文姓名"}.get(key, "")
        notes.append([header, key, "；".join(x for x in (("可选：" + choices) if choices else "", extra) if x)
                      + ("（必填）" if key in REQUIRED_COLUMNS else "")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_rows(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The lines of the workbook's first sheet as (line number, raw fields), by its header."""
    if not content:
        raise DomainError("file_required", "upload the filled-in template", "file")
    if len(content) > MAX_BYTES:
        raise DomainError("file_too_large", "the file must be at most 2 MB", "file")
    from openpyxl import load_workbook
    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2, max_col=40))
    except Exception:
        raise DomainError("unreadable_file", "the file is not a readable XLSX workbook", "file") from None
    if not rows:
        raise DomainError("bad_template", "the first row must be the template's header", "file")
    by_header = {header: key for key, header in COLUMNS} | {key: key for key, _ in COLUMNS}
    keys = [by_header.get(str(h).strip() if h is not None else "") for h in rows[0]]
    missing = [k for k in REQUIRED_COLUMNS if k not in keys]
    if missing:
        raise DomainError("bad_template", f"the header lacks: {', '.join(missing)}", "file")
    lines = []
    for number, row in enumerate(rows[1:], start=2):
        values = {k: v for k, v in zip(keys, row) if k and v not in (None, "")}
        if values:
            lines.append((number, values))
    if len(lines) > MAX_ROWS:
        raise DomainError("too_many_rows", f"at most {MAX_ROWS} people per file", "file")
    return lines


def to_request(values: dict[str, Any], profile: FairProfile | None = None) -> dict[str, Any]:
    """A line as the API's person request: Chinese words to codes, dates to ISO strings."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dt.datetime):
            value = value.date().isoformat()
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, float) and value.is_integer():
            value = str(int(value))  # a number Excel kept as a number (a phone)
        elif not isinstance(value, str):
            value = str(value)
        value = value.strip()
        if key in WORDS:
            value = words_for(key, profile).get(value, value)
        if key == "entry_dates":
            value = [d.strip() for d in str(value).replace("，", ",").split(",") if d.strip()]
        out[key] = value
    if isinstance(out.get("privacy_consent"), str):
        out["privacy_consent"] = out["privacy_consent"].lower() in ("true", "1", "y")
    return out


def import_people(session: Session, unit: Unit, content: bytes, schema: Schema, fair_days: list[dt.date],
                  cipher: FieldCipher, member_id: str | None = None) -> dict[str, Any]:
    """Each line: the request schema, then add_person, in a savepoint of its own."""
    results = []
    for number, values in read_rows(content):
        try:
            data = schema.load(to_request(values))
        except ValidationError as error:
            field, messages = next(iter(error.normalized_messages().items()))
            text = messages[0] if isinstance(messages, list) else str(messages)
            results.append({"row": number, "ok": False, "code": "validation_error", "field": field,
                            "message": str(text)})
            continue
        try:
            with session.begin_nested():
                person = add_person(session, unit, data, fair_days, cipher, member_id=member_id)
        except DomainError as error:
            results.append({"row": number, "ok": False, "code": error.code, "field": error.field,
                            "message": error.message})
            continue
        results.append({"row": number, "ok": True, "person_id": person.id, "name": person.name})
    saved = sum(1 for r in results if r["ok"])
    return {"saved": saved, "failed": len(results) - saved, "rows": results}
