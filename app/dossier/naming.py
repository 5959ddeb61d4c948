"""Batch import: file names that say which parcel a scan belongs to (Qt-free).

The convention is a pattern with fields in angle brackets, by default
``<commune>_<sheet>_<parcel>_<type>`` (extension ignored), e.g. ``25402_12_145_GCN.pdf``:
commune code (5 digits, the old code when the sheet is pre-2025), map sheet number, parcel
number, document type code. Offices name their scans differently, so the pattern is a
setting; the separators between fields are literal text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATTERN = "<commune>_<sheet>_<parcel>_<type>"
FIELDS = {
    "commune": r"(?P<commune>\d{5})",
    "sheet": r"(?P<sheet>\d{1,4})",
    "parcel": r"(?P<parcel>\d{1,6})",
    "type": r"(?P<type>[A-Za-zĐđ]+)",
    "number": r"(?P<number>[^_]+)",
    "any": r"(?:.*?)",
}
#: Type codes in file names → doc.document.doc_type.
TYPE_CODES = {
    "GCN": "giay_chung_nhan",
    "DDK": "don_dang_ky",
    "DON": "don_dang_ky",
    "HD": "hop_dong",
    "BV": "ban_ve",
    "QD": "quyet_dinh",
    "TL": "trich_luc",
    "TLBD": "trich_luc",
    "KHAC": "khac",
}


class PatternError(ValueError):
    pass


def compile_pattern(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(<[a-z]+>)", pattern)
    out = []
    seen = set()
    for part in parts:
        if part.startswith("<") and part.endswith(">"):
            name = part[1:-1]
            if name not in FIELDS:
                raise PatternError(f"Trường «{name}» không có trong mẫu tên tệp "
                                   f"(dùng: {', '.join(sorted(FIELDS))})")  # fmt: skip
            if name in seen and name != "any":
                raise PatternError(f"Trường «{name}» xuất hiện hai lần trong mẫu tên tệp")
            seen.add(name)
            out.append(FIELDS[name])
        else:
            out.append(re.escape(part))
    if not {"commune", "sheet", "parcel"} <= seen:
        raise PatternError("Mẫu tên tệp phải có <commune>, <sheet> và <parcel>")
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedName:
    path: Path
    commune: str
    sheet: int
    parcel: int
    doc_type: str
    number: str | None = None


def fold_type(code: str) -> str:
    code = unicodedata.normalize("NFD", code.upper().replace("Đ", "D"))
    return "".join(c for c in code if not unicodedata.combining(c))


def parse_name(path: Path, rx: re.Pattern[str]) -> ParsedName | None:
    m = rx.match(unicodedata.normalize("NFC", path.stem))
    if not m:
        return None
    g = m.groupdict()
    doc_type = TYPE_CODES.get(fold_type(g.get("type") or "KHAC"))
    if doc_type is None:
        return None
    return ParsedName(path, g["commune"], int(g["sheet"]), int(g["parcel"]), doc_type,
                      g.get("number"))  # fmt: skip


@dataclass
class ImportPlan:
    """What a folder holds: files to import (with their parcel), and what is reported."""

    matched: list[tuple[ParsedName, int]] = field(default_factory=list)  # (name, parcel id)
    bad_name: list[Path] = field(default_factory=list)  # do not follow the convention
    no_parcel: list[ParsedName] = field(default_factory=list)  # parcel not found / not mine
    ambiguous: list[ParsedName] = field(default_factory=list)  # several parcels match
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)  # (file, same as)


def plan_import(
    files: Iterable[Path],
    pattern: str,
    find_parcels,  # (commune code, sheet, parcel) -> list of parcel ids
    file_hash,  # Path -> sha256
) -> ImportPlan:
    rx = compile_pattern(pattern)
    plan = ImportPlan()
    first_of: dict[str, Path] = {}
    for path in sorted(files):
        parsed = parse_name(path, rx)
        if parsed is None:
            plan.bad_name.append(path)
            continue
        digest = file_hash(path)
        if digest in first_of:
            plan.duplicates.append((path, first_of[digest]))
            continue
        first_of[digest] = path
        ids = find_parcels(parsed.commune, parsed.sheet, parsed.parcel)
        if not ids:
            plan.no_parcel.append(parsed)
        elif len(ids) > 1:
            plan.ambiguous.append(parsed)  # duplicate parcel numbers exist (≈0.2%)
        else:
            plan.matched.append((parsed, ids[0]))
    return plan
