"""Vietnamese names and places for the demo province (Bình Phước-like).

Pure data plus a few vectorised pickers; no randomness of its own: every function takes
the caller's ``numpy.random.Generator`` so the demo stays deterministic. All text is NFC
(checked at import) because PostgreSQL compares bytes: an NFD "Nguyễn" would not match
the NFC one a clerk types.

Place names follow the real province where the author was confident (old districts and
many old commune names); codes are synthetic in the style of the GSO lists. The people
are invented: family-name weights roughly follow published Vietnamese surname shares,
with southern spellings (Huỳnh, Võ) weighted up and the S'tiêng name Điểu present.
"""

from __future__ import annotations

import unicodedata

import numpy as np

# --------------------------------------------------------------------------------------
# People

#: (family name, relative weight). Nguyễn ≈ 38 %; Huỳnh/Võ are the southern forms.
FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.0), ("Huỳnh", 3.5),
    ("Hoàng", 2.0), ("Phan", 4.5), ("Võ", 3.0), ("Vũ", 1.5), ("Đặng", 2.1), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Trương", 0.8),
    ("Đinh", 0.6), ("Lâm", 0.4), ("Mai", 0.4), ("Tạ", 0.2), ("Cao", 0.3), ("Lưu", 0.3),
    ("Điểu", 0.6), ("Thạch", 0.2), ("Châu", 0.3), ("Đoàn", 0.5), ("Kiều", 0.1),
)  # fmt: skip

#: Middle names by gender; a woman is rarely "Văn" and a man never "Thị".
MIDDLE_MALE = ("Văn", "Văn", "Văn", "Hữu", "Minh", "Đức", "Quốc", "Công", "Thanh", "Ngọc",
               "Hoàng", "Xuân", "Thành", "Trọng", "Anh", "Tấn")  # fmt: skip
MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Thị", "Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Hồng",
                 "Bích", "Phương", "Minh", "Thúy", "Xuân")  # fmt: skip

GIVEN_MALE = ("An", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Hải", "Hiếu", "Hòa", "Hùng",
              "Hưng", "Khoa", "Khánh", "Lâm", "Lộc", "Long", "Lợi", "Minh", "Nam", "Nghĩa",
              "Phong", "Phúc", "Quang", "Sơn", "Tài", "Tâm", "Thắng", "Thành", "Tiến",
              "Toàn", "Trung", "Tuấn", "Tùng", "Vinh", "Việt", "Hậu", "Thịnh", "Trí", "Quý",
              "Sang", "Tú", "Kiệt", "Duy", "Hoàng", "Nhân", "Thuận", "Phát", "Tín")  # fmt: skip
GIVEN_FEMALE = ("Anh", "Bích", "Chi", "Diễm", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền",
                "Hoa", "Hồng", "Hương", "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai",
                "Ngân", "Nga", "Ngọc", "Nhi", "Nhung", "Oanh", "Phượng", "Quyên", "Thảo",
                "Thủy", "Trang", "Trinh", "Tuyết", "Uyên", "Vân", "Yến", "Xuân", "Thơ",
                "Thắm", "Hậu", "Tiên", "My", "Duyên", "Nguyệt", "Lệ", "Ánh", "Diệu")  # fmt: skip

#: Province codes of birth in CCCD numbers (3 digits) with weights: most owners were born
#: in Bình Phước (070), many moved in from the north and centre in the 1980s–90s.
BIRTH_PROVINCES: tuple[tuple[str, float], ...] = (
    ("070", 52.0), ("075", 6.0), ("079", 5.0), ("074", 3.0), ("072", 2.0), ("038", 4.0),
    ("040", 4.0), ("036", 3.0), ("034", 3.0), ("042", 2.5), ("052", 2.5), ("051", 2.0),
    ("049", 2.0), ("001", 1.5), ("066", 2.0), ("067", 1.5), ("068", 1.0), ("031", 1.0),
    ("030", 1.0), ("035", 1.0),
)  # fmt: skip


def _weights(pairs):
    w = np.array([p[1] for p in pairs], dtype=float)
    return w / w.sum()


FAMILY_P = _weights(FAMILY_NAMES)
BIRTH_PROVINCE_P = _weights(BIRTH_PROVINCES)


def pick_person_names(
    rng: np.random.Generator, female: np.ndarray, family: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Family, middle and given names (object arrays) for people of the given genders.

    ``family`` forces the family name where it is not None (children take their
    father's); middle and given names always agree with the gender.
    """
    n = len(female)
    fam = np.array([f for f, _ in FAMILY_NAMES], dtype=object)[
        rng.choice(len(FAMILY_NAMES), size=n, p=FAMILY_P)
    ]
    if family is not None:
        keep = np.array([x is not None for x in family], dtype=bool)
        fam[keep] = np.asarray(family, dtype=object)[keep]
    mid_m = np.array(MIDDLE_MALE, dtype=object)[rng.integers(0, len(MIDDLE_MALE), n)]
    mid_f = np.array(MIDDLE_FEMALE, dtype=object)[rng.integers(0, len(MIDDLE_FEMALE), n)]
    giv_m = np.array(GIVEN_MALE, dtype=object)[rng.integers(0, len(GIVEN_MALE), n)]
    giv_f = np.array(GIVEN_FEMALE, dtype=object)[rng.integers(0, len(GIVEN_FEMALE), n)]
    middle = np.where(female, mid_f, mid_m)
    given = np.where(female, giv_f, giv_m)
    return fam, middle, given


# --------------------------------------------------------------------------------------
# Administrative units

PROVINCE_CODE = "70"
PROVINCE_NAME = "Bình Phước"

#: Old districts (before 2025-07-01) in the order the demo uses them: (code, name, kind).
#: kind: thanh_pho / thi_xa (hold phường) or huyen (holds one thị trấn and xã).
DISTRICTS: tuple[tuple[str, str, str], ...] = (
    ("689", "Thành phố Đồng Xoài", "thanh_pho"),
    ("695", "Huyện Đồng Phú", "huyen"),
    ("697", "Thị xã Chơn Thành", "thi_xa"),
    ("698", "Huyện Phú Riềng", "huyen"),
    ("694", "Huyện Hớn Quản", "huyen"),
    ("696", "Huyện Bù Đăng", "huyen"),
    ("690", "Thị xã Bình Long", "thi_xa"),
    ("692", "Huyện Lộc Ninh", "huyen"),
    ("688", "Thị xã Phước Long", "thi_xa"),
    ("691", "Huyện Bù Gia Mập", "huyen"),
    ("693", "Huyện Bù Đốp", "huyen"),
)

#: Old communes per district, in use order: (kind, bare name). kind: phuong, thi_tran, xa.
OLD_COMMUNES: dict[str, tuple[tuple[str, str], ...]] = {
    "689": (("phuong", "Tân Phú"), ("phuong", "Tân Đồng"), ("phuong", "Tân Bình"),
            ("xa", "Tiến Hưng"), ("phuong", "Tân Xuân"), ("phuong", "Tân Thiện"),
            ("phuong", "Tiến Thành"), ("xa", "Tân Thành")),
    "695": (("thi_tran", "Tân Phú"), ("xa", "Tân Lập"), ("xa", "Thuận Lợi"),
            ("xa", "Đồng Tâm"), ("xa", "Tân Phước"), ("xa", "Tân Hưng"), ("xa", "Tân Lợi"),
            ("xa", "Tân Hòa"), ("xa", "Thuận Phú"), ("xa", "Đồng Tiến"), ("xa", "Tân Tiến")),
    "697": (("phuong", "Hưng Long"), ("phuong", "Thành Tâm"), ("xa", "Nha Bích"),
            ("phuong", "Minh Hưng"), ("xa", "Minh Thắng"), ("phuong", "Minh Long"),
            ("xa", "Minh Lập"), ("phuong", "Minh Thành"), ("xa", "Quang Minh")),
    "698": (("xa", "Phú Riềng"), ("xa", "Bù Nho"), ("xa", "Long Hà"), ("xa", "Long Tân"),
            ("xa", "Long Hưng"), ("xa", "Long Bình"), ("xa", "Phước Tân"),
            ("xa", "Bình Tân"), ("xa", "Bình Sơn"), ("xa", "Phú Trung")),
    "694": (("thi_tran", "Tân Khai"), ("xa", "Thanh An"), ("xa", "An Khương"),
            ("xa", "An Phú"), ("xa", "Tân Lợi"), ("xa", "Tân Hưng"), ("xa", "Minh Đức"),
            ("xa", "Minh Tâm"), ("xa", "Phước An"), ("xa", "Thanh Bình"), ("xa", "Đồng Nơ"),
            ("xa", "Tân Hiệp"), ("xa", "Tân Quan")),
    "696": (("thi_tran", "Đức Phong"), ("xa", "Đường 10"), ("xa", "Đak Nhau"),
            ("xa", "Phú Sơn"), ("xa", "Thọ Sơn"), ("xa", "Bình Minh"), ("xa", "Bom Bo"),
            ("xa", "Minh Hưng"), ("xa", "Đoàn Kết"), ("xa", "Đồng Nai"), ("xa", "Đức Liễu"),
            ("xa", "Thống Nhất"), ("xa", "Nghĩa Trung"), ("xa", "Nghĩa Bình"),
            ("xa", "Đăng Hà"), ("xa", "Phước Sơn")),
    "690": (("phuong", "An Lộc"), ("phuong", "Phú Thịnh"), ("phuong", "Phú Đức"),
            ("phuong", "Hưng Chiến"), ("xa", "Thanh Lương"), ("xa", "Thanh Phú")),
    "692": (("thi_tran", "Lộc Ninh"), ("xa", "Lộc Hòa"), ("xa", "Lộc An"), ("xa", "Lộc Tấn"),
            ("xa", "Lộc Thạnh"), ("xa", "Lộc Hiệp"), ("xa", "Lộc Thiện"),
            ("xa", "Lộc Thuận"), ("xa", "Lộc Quang"), ("xa", "Lộc Phú"), ("xa", "Lộc Thành"),
            ("xa", "Lộc Thái"), ("xa", "Lộc Điền"), ("xa", "Lộc Hưng"), ("xa", "Lộc Thịnh"),
            ("xa", "Lộc Khánh")),
    "688": (("phuong", "Thác Mơ"), ("phuong", "Long Thủy"), ("phuong", "Phước Bình"),
            ("phuong", "Long Phước"), ("phuong", "Sơn Giang"), ("xa", "Long Giang"),
            ("xa", "Phước Tín")),
    "691": (("xa", "Bù Gia Mập"), ("xa", "Đak Ơ"), ("xa", "Đức Hạnh"), ("xa", "Phú Văn"),
            ("xa", "Đa Kia"), ("xa", "Phước Minh"), ("xa", "Bình Thắng"),
            ("xa", "Phú Nghĩa")),
    "693": (("thi_tran", "Thanh Bình"), ("xa", "Hưng Phước"), ("xa", "Phước Thiện"),
            ("xa", "Thiện Hưng"), ("xa", "Thanh Hòa"), ("xa", "Tân Thành"),
            ("xa", "Tân Tiến")),
}  # fmt: skip

#: Names for new (post-2025) communes per old district: (phường names, xã names).
NEW_COMMUNES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "689": (("Đồng Xoài", "Bình Phước"), ("Tân Thành",)),
    "695": ((), ("Tân Lập", "Đồng Phú", "Thuận Lợi", "Đồng Tâm", "Tân Tiến")),
    "697": (("Chơn Thành", "Minh Hưng"), ("Nha Bích",)),
    "698": ((), ("Phú Riềng", "Long Hà", "Phú Trung", "Phước Tân", "Bình Tân")),
    "694": ((), ("Tân Khai", "Tân Hưng", "Tân Quan", "Minh Đức")),
    "696": ((), ("Bù Đăng", "Đak Nhau", "Bom Bo", "Thọ Sơn", "Nghĩa Trung", "Phú Nghĩa")),
    "690": (("Bình Long", "An Lộc"), ("Thanh Lương",)),
    "692": ((), ("Lộc Ninh", "Lộc Thành", "Lộc Tấn", "Lộc Quang", "Lộc Hưng", "Lộc Thạnh")),
    "688": (("Phước Long", "Phước Bình"), ("Long Giang",)),
    "691": ((), ("Bù Gia Mập", "Đak Ơ", "Phú Văn", "Đa Kia")),
    "693": ((), ("Thiện Hưng", "Hưng Phước", "Tân Tiến")),
}

#: Syllables for further place names once the curated lists run out.
PLACE_FIRST = ("Tân", "Phú", "Long", "Thành", "Lộc", "Bình", "An", "Hưng", "Thuận", "Đồng",
               "Phước", "Minh", "Thanh", "Hòa", "Đức", "Thiện", "Nghĩa", "Quang", "Vĩnh",
               "Xuân", "Mỹ", "Trung", "Thống", "Tiến", "Hiệp", "Khánh", "Thái", "Sơn",
               "Đại", "Hoài")  # fmt: skip
PLACE_SECOND = ("Lập", "Hòa", "Phú", "Lợi", "Hưng", "Thịnh", "Tiến", "Thành", "An", "Bình",
                "Long", "Sơn", "Tân", "Hiệp", "Phát", "Đức", "Tâm", "Nghĩa", "Quý", "Lộc",
                "Thuận", "Khánh", "Trung", "Mỹ", "Xuân", "Điền", "Thạnh", "Quang", "Phong",
                "Hải")  # fmt: skip

KIND_PREFIX = {"phuong": "Phường", "xa": "Xã", "thi_tran": "Thị trấn"}


def generated_place_names(rng: np.random.Generator, avoid: set[str]) -> list[str]:
    """All two-syllable names not in ``avoid``, in a seed-dependent order."""
    names = [f"{a} {b}" for a in PLACE_FIRST for b in PLACE_SECOND if a != b]
    order = rng.permutation(len(names))
    return [names[i] for i in order if names[i] not in avoid]


# --------------------------------------------------------------------------------------
# Hamlets, roads, rivers

NAMED_HAMLETS = ("Suối Đá", "Bàu Teng", "Sóc Ruộng", "Cây Điệp", "Bù Xăng", "Đồng Bia",
                 "Phước Hòa", "Tân Hòa", "Thuận Phú", "Suối Binh", "Bàu Ké", "Sóc Lớn",
                 "Cầu Ván", "Bàu Sen", "Cây Gõ", "Tân Phước", "Đồng Chắc", "Chàng Hai",
                 "Bù Tam", "Sóc Bưng")  # fmt: skip

#: National (QL) and provincial (ĐT) roads for the province-long main lines.
MAIN_ROADS_NS = ("Quốc lộ 14", "Quốc lộ 13", "ĐT 741", "ĐT 759", "ĐT 756", "ĐT 752",
                 "ĐT 757", "ĐT 760")  # fmt: skip
MAIN_ROADS_EW = ("ĐT 753", "ĐT 751", "Quốc lộ 14C", "ĐT 758", "ĐT 754", "ĐT 755",
                 "ĐT 750")  # fmt: skip

#: Urban street names (phường, thị trấn).
STREETS = ("Phú Riềng Đỏ", "Hùng Vương", "Trần Hưng Đạo", "Lê Duẩn", "Nguyễn Huệ",
           "Hai Bà Trưng", "Lê Lợi", "Nguyễn Văn Linh", "Trường Chinh", "Điểu Ong",
           "Tôn Đức Thắng", "Lý Thường Kiệt", "Nguyễn Trãi", "Võ Thị Sáu", "Trần Phú",
           "Quang Trung", "Lê Quý Đôn", "Ngô Quyền", "Phan Bội Châu", "Nguyễn Du",
           "Nguyễn Chí Thanh", "Lạc Long Quân", "Âu Cơ", "Cách Mạng Tháng Tám",
           "30 Tháng 4", "Trần Quốc Toản", "Nguyễn Thị Minh Khai", "Lê Hồng Phong",
           "Đinh Tiên Hoàng", "Phạm Ngọc Thạch", "Hoàng Văn Thụ", "Nguyễn Bỉnh Khiêm",
           "Bà Triệu", "Huỳnh Văn Nghệ", "Tú Xương", "Chu Văn An", "Võ Văn Tần",
           "Lê Thánh Tông", "Trần Văn Ơn", "Nguyễn Văn Trỗi", "Điện Biên Phủ",
           "Nguyễn Thái Học", "Phan Chu Trinh", "Lê Văn Tám", "Đồng Khởi")  # fmt: skip

RIVERS = ("Sông Bé", "Suối Rạt", "Sông Măng", "Suối Tung", "Suối Đôi", "Suối Cam",
          "Suối Nhung", "Sông Sài Gòn")  # fmt: skip

# --------------------------------------------------------------------------------------
# Organisations and communities

COMPANY_FORMS = ("Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV", "Doanh nghiệp tư nhân")
COMPANY_TRADES = ("Cao su", "Chế biến Hạt điều", "Nông sản", "Xây dựng", "Thương mại Dịch vụ",
                  "Gỗ", "Vật liệu Xây dựng", "Vận tải", "Phát triển Nông nghiệp",
                  "Chăn nuôi", "Bất động sản", "Cơ khí")  # fmt: skip
COMPANY_TAGS = ("Hoàng Phát", "Thành Công", "Phú Lợi", "Minh Khang", "Tân Tiến", "Sông Bé",
                "Bình Phước", "Đồng Phú", "Phước Hòa", "An Khang", "Trường Thịnh", "Hưng Thịnh",
                "Đại Nam", "Việt Thắng", "Thiên Phú", "Nam Sơn")  # fmt: skip
RELIGIOUS = ("Chùa", "Giáo xứ", "Thánh thất Cao Đài", "Tịnh xá", "Hội thánh Tin Lành")
BELIEF = ("Đình", "Miếu", "Đền")
SCHOOL_LEVELS = ("Trường Mầm non", "Trường Tiểu học", "Trường THCS", "Trường THPT")


def _check_nfc() -> None:
    def walk(x):
        if isinstance(x, str):
            yield x
        elif isinstance(x, dict):
            for k, v in x.items():
                yield from walk(k)
                yield from walk(v)
        elif isinstance(x, tuple | list):
            for v in x:
                yield from walk(v)

    for name, value in list(globals().items()):
        if name.isupper():
            for s in walk(value):
                if unicodedata.normalize("NFC", s) != s:  # pragma: no cover - data guard
                    raise ValueError(f"{name}: {s!r} is not NFC")


_check_nfc()


class RoadNamer:
    """Names for roads of each class, drawn from the lists above without repeats in a row.

    Main roads take national/provincial numbers, town roads street names, and village
    roads the "Đường số N" / "Hẻm N" style used in cadastral records.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._counts = {"main": 0, "branch": 0, "alley": 0}
        self._mains = list(MAIN_ROADS_NS + MAIN_ROADS_EW)
        self._streets = list(STREETS)

    def road_name(self, road_class: str) -> str:
        n = self._counts[road_class]
        self._counts[road_class] += 1
        if road_class == "main":
            if self.rng.random() < 0.6:
                return self._mains[int(self.rng.integers(len(self._mains)))]
            return f"Đường {self._streets[int(self.rng.integers(len(self._streets)))]}"
        if road_class == "branch":
            if self.rng.random() < 0.5:
                return f"Đường {self._streets[int(self.rng.integers(len(self._streets)))]}"
            return f"Đường số {n % 40 + 1}"
        return f"Hẻm {n % 90 + 1}"

    def river_name(self) -> str:
        return RIVERS[int(self.rng.integers(len(RIVERS)))]
