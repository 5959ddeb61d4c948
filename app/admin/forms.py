"""What the administration dialogs check and say before and after the server does (Qt-free).

The database is the judge (it validates everything again); these checks only let the
dialog refuse obviously incomplete input with a clear message and without a round trip,
and turn the server's structured answers into sentences.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.admin.api import (
    KINDS,
    SUBSYSTEMS,
    AccountDraft,
    AccountProfile,
    AgentStatus,
    BackupStatus,
    Policy,
    Preview,
)
from app.plugin import Text

ROLE_NAME = re.compile(r"^[a-z0-9_]{3,40}$")
ID_NUMBER = re.compile(r"^[0-9]{12}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 .()-]{6,20}$")

SUBSYSTEM_NAMES: dict[str, Text] = {
    "cadastral": Text("Địa chính", "Cadastral records"),
    "land_price": Text("Giá đất", "Land price"),
    "planning": Text("Quy hoạch, kế hoạch sử dụng đất", "Land-use planning"),
    "inventory": Text("Thống kê, kiểm kê", "Statistics and inventory"),
    "dossier": Text("Hồ sơ quét", "Scanned dossiers"),
    "workflow": Text("Quy trình xử lý hồ sơ", "Dossier workflow"),
    "admin": Text("Quản trị hệ thống", "System administration"),
}
KIND_NAMES: dict[str, Text] = {
    "viewer": Text("Xem", "View"),
    "editor": Text("Sửa", "Edit"),
    "approver": Text("Duyệt", "Approve"),
    "administrator": Text("Quản trị", "Administer"),
}
ACCOUNT_KIND_NAMES: dict[str, Text] = {
    "administration": Text("Quản trị hệ thống", "System administration"),
    "update": Text("Xem và cập nhật", "Read and update"),
    "read": Text("Chỉ xem", "Read only"),
    "none": Text("Chưa có quyền", "No rights"),
}
STATE_NAMES: dict[str, Text] = {
    "active": Text("Hoạt động", "Active"),
    "locked": Text("Bị khóa", "Locked"),
    "disabled": Text("Vô hiệu hóa", "Disabled"),
    "expired": Text("Hết hạn", "Expired"),
}

#: Audit actions as people read them (the code stays in the tooltip and the filter data).
ACTION_NAMES: dict[str, Text] = {
    "INSERT": Text("Thêm bản ghi", "Row inserted"),
    "UPDATE": Text("Sửa bản ghi", "Row updated"),
    "DELETE": Text("Xóa bản ghi", "Row deleted"),
    "TRUNCATE": Text("Xóa toàn bộ bảng", "Table truncated"),
    "LOGIN": Text("Đăng nhập", "Sign-in"),
    "LOGIN_FAILED": Text("Đăng nhập sai", "Failed sign-in"),
    "LOGOUT": Text("Đăng xuất", "Sign-out"),
    "SESSION_LOCK": Text("Khóa phiên không thao tác", "Idle session locked"),
    "LOCK": Text("Khóa tài khoản", "Account locked"),
    "UNLOCK": Text("Mở khóa tài khoản", "Account unlocked"),
    "ACCOUNT_CREATE": Text("Cấp tài khoản", "Account issued"),
    "ACCOUNT_UPDATE": Text("Sửa thông tin tài khoản", "Account details changed"),
    "ACCOUNT_DISABLE": Text("Vô hiệu hóa tài khoản", "Account disabled"),
    "RIGHTS_CHANGE": Text("Đổi quyền, địa bàn", "Rights or area changed"),
    "PASSWORD_CHANGE": Text("Đổi/đặt lại mật khẩu", "Password changed or reset"),
    "MFA_ENROL": Text("Cấp mã xác thực hai lớp", "Second factor enrolled"),
    "MFA_VERIFY": Text("Xác thực hai lớp", "Second factor verified"),
    "MFA_FAILED": Text("Sai mã xác thực hai lớp", "Second factor rejected"),
    "SETTING_CHANGE": Text("Đổi chính sách, cấu hình", "Setting or policy changed"),
    "EXPORT": Text("Xuất dữ liệu", "Data exported"),
    "PRINT": Text("In hồ sơ", "Records printed"),
    "READ_PERSONAL_ID": Text("Xem số định danh", "Personal ID shown"),
    "BULK_LOAD": Text("Nạp dữ liệu hàng loạt", "Bulk load"),
    "BACKUP": Text("Sao lưu", "Backup"),
    "RESTORE": Text("Phục hồi", "Restore"),
    "AUDIT_VERIFY": Text("Kiểm tra toàn vẹn nhật ký", "Audit chain verified"),
    "AUDIT_PARTITION": Text("Thêm phân vùng nhật ký", "Audit partition added"),
    "DOC_READ_RESTRICTED": Text("Đọc hồ sơ quét hạn chế", "Restricted scan read"),
    "DOC_UPLOAD": Text("Lưu tệp hồ sơ quét", "Scanned file stored"),
}


def action_name(code: str, lang: str = "vi") -> str:
    """ "LOCK" → "Khóa tài khoản"; an action this client does not know stays as its code."""
    name = ACTION_NAMES.get(code)
    return name.get(lang) if name else code


def unit_label(kind: str | None, name: str) -> str:
    """ "xã" + "Xã Tân Thành" → "Xã Tân Thành" (the name already says it); "xã" + "Tân
    Thành" → "xã Tân Thành"."""
    kind = (kind or "").strip()
    if not kind or fold(name).startswith(fold(kind)):
        return name
    return f"{kind} {name}"


# Field labels, as the server names them in its messages.
FIELD_NAMES: dict[str, Text] = {
    "role_name": Text("Tên đăng nhập", "User name"),
    "full_name": Text("Họ tên", "Full name"),
    "person_id_number": Text("Số định danh cá nhân (CCCD)", "Citizen ID number"),
    "unit": Text("Đơn vị công tác", "Unit"),
    "position": Text("Chức vụ", "Position"),
    "phone": Text("Số điện thoại", "Phone"),
    "email": Text("Thư điện tử", "E-mail"),
}


def vn_today() -> date:
    """Today in Vietnam: the server's dates (access_until, reports) follow that calendar."""
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()


def fold(text: str) -> str:
    """Vietnamese without diacritics, lower case: "Nguyễn Văn Đức" → "nguyen van duc"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    nfkd = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in nfkd if not unicodedata.combining(ch)).lower()


def suggest_role_name(full_name: str) -> str:
    """The usual Vietnamese user name: given name + initials of the others
    ("Nguyễn Văn An" → "annv"), a–z and digits only."""
    words = [w for w in re.split(r"[^a-z0-9]+", fold(full_name)) if w]
    if not words:
        return ""
    name = words[-1] + "".join(w[0] for w in words[:-1])
    return name[:40]


def draft_problems(draft: AccountDraft, lang: str = "vi") -> list[tuple[str, str]]:
    """(field, sentence) for each field the dialog must not send as it is; [] when fine."""
    vi = lang != "en"
    out: list[tuple[str, str]] = []

    def need(field: str, value: str | None) -> bool:
        if value is None or not value.strip():
            label = FIELD_NAMES[field].get(lang)
            out.append((field, f"{label} không được để trống." if vi else f"{label} is required."))
            return False
        return True

    if need("role_name", draft.role_name) and not ROLE_NAME.match(draft.role_name):
        out.append((
            "role_name",
            "Tên đăng nhập chỉ gồm chữ thường a–z không dấu, chữ số và dấu gạch dưới, dài "
            "3–40 ký tự." if vi else
            "User name: lower-case a–z, digits and underscore, 3–40 characters.",
        ))  # fmt: skip
    need("full_name", draft.full_name)
    if need("person_id_number", draft.person_id_number) and not ID_NUMBER.match(
        draft.person_id_number
    ):
        out.append((
            "person_id_number",
            "Số định danh cá nhân phải gồm đúng 12 chữ số." if vi else
            "The citizen ID number has exactly 12 digits.",
        ))  # fmt: skip
    need("unit", draft.unit)
    if draft.email and not EMAIL.match(draft.email.strip()):
        out.append(("email", "Địa chỉ thư điện tử không hợp lệ." if vi else "Invalid e-mail."))
    if draft.phone and not PHONE.match(draft.phone.strip()):
        out.append(("phone", "Số điện thoại không hợp lệ." if vi else "Invalid phone number."))
    if not draft.whole_province and not draft.communes and draft.rights:
        out.append((
            "areas",
            "Hãy chọn địa bàn: toàn tỉnh hoặc ít nhất một xã." if vi else
            "Choose the area: the whole province or at least one commune.",
        ))  # fmt: skip
    if draft.access_until is not None and draft.access_until < vn_today():
        out.append((
            "access_until",
            "Ngày hết hạn truy cập đã qua." if vi else "The end of access is in the past.",
        ))  # fmt: skip
    if draft.contractor_project and draft.access_until is None:
        out.append((
            "access_until",
            "Tài khoản nhà thầu cần ngày hết hạn truy cập." if vi else
            "A contractor's account needs an end date.",
        ))  # fmt: skip
    return out


def profile_problems(
    profile: AccountProfile, before: AccountProfile | None = None, lang: str = "vi"
) -> list[tuple[str, str]]:
    """(field, sentence) for an edited profile the dialog must not send; [] when fine.
    An end date already past is refused only when it was changed (as the server does)."""
    vi = lang != "en"
    draft = AccountDraft(
        role_name="unchanged", person_id_number=profile.person_id_number,
        full_name=profile.full_name, unit=profile.unit, position=profile.position,
        phone=profile.phone, email=profile.email,
        contractor_project=profile.contractor_project, access_until=profile.access_until,
    )  # fmt: skip
    out = [p for p in draft_problems(draft, lang) if p[0] != "access_until"]
    until = profile.access_until
    changed = before is None or until != before.access_until
    if until is not None and changed and until < vn_today():
        out.append((
            "access_until",
            "Ngày hết hạn truy cập đã qua." if vi else "The end of access is in the past.",
        ))  # fmt: skip
    if profile.contractor_project and until is None:
        out.append((
            "access_until",
            "Tài khoản nhà thầu cần ngày hết hạn truy cập." if vi else
            "A contractor's account needs an end date.",
        ))  # fmt: skip
    return out


#: Fields of a profile as the edit dialog and its confirmation name them.
PROFILE_FIELDS: dict[str, Text] = {
    **FIELD_NAMES,
    "contractor_project": Text("Dự án (nhà thầu)", "Contractor project"),
    "access_until": Text("Hết hạn truy cập", "Access until"),
}


def changes_text(changes: dict[str, dict], lang: str = "vi") -> str:
    """{"unit": {"old": "A", "new": "B"}} → "Đơn vị công tác: A → B"; one field a line."""

    def show(v) -> str:
        if v is None or v == "":
            return "—"
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            return date.fromisoformat(v).strftime("%d/%m/%Y")
        return str(v)

    lines = []
    for key in PROFILE_FIELDS:
        if key in changes:
            c = changes[key]
            lines.append(
                f"{PROFILE_FIELDS[key].get(lang)}: {show(c.get('old'))} → {show(c.get('new'))}"
            )
    return "\n".join(lines)


#: A lockout agent silent for longer than this is "not running" (it reports every minute).
AGENT_STALE = timedelta(minutes=10)


def agent_notice(
    statuses: list[AgentStatus], now: datetime | None = None, lang: str = "vi"
) -> str | None:
    """The login reports' warning when no lockout agent reports: the sign-ins since then
    were not recorded. None while an agent reported within :data:`AGENT_STALE`."""
    now = now or datetime.now().astimezone()
    vi = lang != "en"
    if not statuses:
        return (
            "Tác tử khóa tài khoản chưa từng báo về máy chủ: đăng nhập và đăng nhập sai "
            "không được ghi, báo cáo đăng nhập có thể trống hoặc thiếu." if vi else
            "The lockout agent has never reported: logins and failures are not recorded, "
            "the login reports may be empty or incomplete."
        )  # fmt: skip
    last = max(s.seen_at for s in statuses)
    if now - last <= AGENT_STALE:
        return None
    when = last.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")
    return (
        f"Tác tử khóa tài khoản không chạy từ {when}: các lần đăng nhập và đăng nhập sai sau "
        "thời điểm đó chưa được ghi, báo cáo đăng nhập có thể thiếu." if vi else
        f"The lockout agent has not run since {when}: logins and failures after that are "
        "not recorded, the login reports may be incomplete."
    )  # fmt: skip


#: A daily backup (01:30 by the timer) plus slack for a slow night.
BACKUP_STALE = timedelta(hours=26)
#: Scanned files: at least every 6 months (Bình Phước Điều 18).
SCANS_STALE = timedelta(days=183)


def backup_notice(
    status: BackupStatus, now: datetime | None = None, lang: str = "vi"
) -> tuple[str, bool]:
    """The backup report's header: (text, is_warning)."""
    now = now or datetime.now().astimezone()
    vi = lang != "en"

    def when(t: datetime) -> str:
        return t.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")

    if status.last_backup_at is None:
        return (
            "Chưa có bản sao lưu nào được ghi trong nhật ký: quy chế yêu cầu sao lưu tự động "
            "hằng ngày (landrec backup schedule)." if vi else
            "No backup has ever been logged: the regulations ask for an automatic daily "
            "backup (landrec backup schedule)."
        ), True  # fmt: skip
    age = now - status.last_backup_at
    hours = int(age.total_seconds() // 3600)
    if age > BACKUP_STALE:
        return (
            f"Bản sao lưu gần nhất lúc {when(status.last_backup_at)}, cách đây {hours} giờ: "
            "quá hạn sao lưu hằng ngày — kiểm tra lịch sao lưu." if vi else
            f"The newest backup was taken {when(status.last_backup_at)}, {hours} hours ago: "
            "the daily backup is overdue — check the schedule."
        ), True  # fmt: skip
    full = status.last_full_backup_at
    if full is None or now - full > SCANS_STALE:
        since = when(full) if full else ("chưa từng" if vi else "never")
        return (
            f"Tệp hồ sơ quét chưa được sao lưu trong 6 tháng (lần gần nhất: {since}): chạy "
            "một bản sao lưu đầy đủ (không dùng --without-scans)." if vi else
            f"Scanned files have not been backed up for 6 months (last: {since}): run a full "
            "backup (without --without-scans)."
        ), True  # fmt: skip
    return (
        f"Bản sao lưu gần nhất: {when(status.last_backup_at)} ({status.last_backup})." if vi
        else f"Newest backup: {when(status.last_backup_at)} ({status.last_backup})."
    ), False  # fmt: skip


def policy_problem(policy: Policy, value: int, lang: str = "vi") -> str | None:
    """The bounds of sys.policy, said before the server says it."""
    if policy.min_value <= value <= policy.max_value:
        return None
    if lang == "en":
        return (
            f"{policy.key}: the value must be between {policy.min_value} and "
            f"{policy.max_value} (the regulation's limits)."
        )
    return (
        f"{policy.description}: giá trị phải từ {policy.min_value} đến {policy.max_value} "
        "(giới hạn theo quy định)."
    )


def rights_from_matrix(checked: set[tuple[str, str]]) -> dict[str, list[str]]:
    """{(subsystem, kind)} → {"cadastral": ["editor", "viewer"], …} in a fixed order."""
    return {
        s: [k for k in KINDS if (s, k) in checked]
        for s in SUBSYSTEMS
        if any((s, k) in checked for k in KINDS)
    }


def matrix_from_rights(rights: dict[str, list[str]] | None) -> set[tuple[str, str]]:
    return {(s, k) for s, kinds in (rights or {}).items() for k in kinds}


def format_count(n: int, lang: str = "vi") -> str:
    """30125 → "30.125" (vi) or "30,125" (en), without Qt."""
    text = f"{int(n):,}"
    return text.replace(",", ".") if lang != "en" else text


def format_decimal(value: Decimal | float, lang: str = "vi", places: int = 1) -> str:
    """1234.5 → "1.234,5" (vi) or "1,234.5" (en), without Qt."""
    text = f"{float(value):,.{places}f}"
    if lang == "en":
        return text
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _names(items: list[str], limit: int = 6) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", … (+{len(items) - limit})"


def preview_warns(p: Preview) -> bool:
    """Whether the preview is a warning: no rights at all, or rights but no area (the
    account would see nothing). Shown like a refusal, not like a confirmation."""
    return not any(p.rights.get(s) for s in SUBSYSTEMS) or not (p.whole_province or p.communes)


def preview_text(p: Preview, lang: str = "vi") -> str:
    """What the account will see and do, in one paragraph:
    "Xem bản đồ và hồ sơ thửa của 3 xã: A, B, C (1.234 thửa). Sửa: Địa chính. …"."""
    vi = lang != "en"
    lines: list[str] = []
    if p.whole_province:
        area = "toàn tỉnh" if vi else "the whole province"
    elif p.communes:
        names = _names([unit_label(c.get("kind"), c["name"]) for c in p.communes])
        n = len(p.communes)
        area = f"{n} xã: {names}" if vi else f"{n} commune{'s' if n != 1 else ''}: {names}"
    else:
        area = ""
    count = format_count(p.parcels, lang)
    view = [s for s in SUBSYSTEMS if p.rights.get(s)]
    if not view:
        lines.append(
            "Chưa có quyền nào: tài khoản không xem được dữ liệu." if vi
            else "No rights: the account sees no data."
        )  # fmt: skip
    elif not area:
        lines.append(
            "Chưa chọn địa bàn: tài khoản không thấy thửa đất nào." if vi
            else "No area chosen: the account sees no parcels."
        )  # fmt: skip
    else:
        if "cadastral" in view:
            lines.append(
                f"Xem bản đồ và hồ sơ thửa của {area} ({count} thửa)." if vi
                else f"View the map and parcel records of {area} ({count} parcels)."
            )  # fmt: skip
        others = [SUBSYSTEM_NAMES[s].get(lang) for s in view if s not in ("cadastral", "admin")]
        if others:
            lines.append(("Xem dữ liệu: " if vi else "View data: ") + ", ".join(others) + ".")
    for kind, vi_word, en_word in (
        ("editor", "Sửa", "Edit"),
        ("approver", "Duyệt", "Approve"),
        ("administrator", "Quản trị", "Administer"),
    ):
        subs = [SUBSYSTEM_NAMES[s].get(lang) for s in SUBSYSTEMS if kind in p.rights.get(s, [])]
        if subs:
            lines.append(f"{vi_word if vi else en_word}: {', '.join(subs)}.")
    if "admin" in p.rights:
        lines.append(
            "Dùng chức năng quản trị sau khi xác thực hai lớp (TOTP)." if vi
            else "Uses administration after the second factor (TOTP)."
        )  # fmt: skip
    return " ".join(lines)
