"""The subsystem plugin interface (app/plugin.py) and the eight built-in subsystems."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

from app.config import REPO_ROOT
from app.plugin import (
    NEEDS_STORE,
    Action,
    Dock,
    EnableState,
    Layer,
    Menu,
    Plugin,
    PluginError,
    PluginRegistry,
    Text,
    requires_right,
    resolve,
)

SUBSYSTEMS = {
    "cadastral": "Địa chính",
    "land_price": "Giá đất",
    "planning": "Quy hoạch, kế hoạch sử dụng đất",
    "inventory": "Thống kê, kiểm kê",
    "dossier": "Hồ sơ quét",
    "workflow": "Quy trình xử lý hồ sơ",
    "import_export": "Nhập xuất",
    "admin": "Quản trị hệ thống",
}


@pytest.fixture(scope="module")
def registry() -> PluginRegistry:
    return PluginRegistry().discover(entry_point_group=None)


def _plugin(pid: str = "extra", **kw) -> Plugin:
    kw.setdefault("menus", (Menu(pid, Text("Thêm", "Extra")),))
    kw.setdefault("actions", (Action(f"{pid}.hello", pid, Text("Xin chào", "Hello")),))
    return Plugin(id=pid, title=Text("Phân hệ thêm", "Extra subsystem"), **kw)


# -- the built-in subsystems ---------------------------------------------------------------
def test_discovers_the_eight_subsystems_in_order(registry):
    assert registry.ids() == list(SUBSYSTEMS)
    assert {p.id: p.title.vi for p in registry.plugins()} == SUBSYSTEMS
    assert registry.errors == []
    for p in registry.plugins():
        assert p.title.en and p.title.en != p.title.vi
        assert any(m.id == p.id and m.parent is None for m in p.menus), p.id


def test_ids_are_unique_across_subsystems(registry):
    for kind in ("actions", "layers", "docks", "menus"):
        ids = [x.id for x in getattr(registry, kind)()]
        assert len(ids) == len(set(ids)), kind
    registry.validate()  # every action's menu exists, every required subsystem too


def test_layers_declared_per_subsystem(registry):
    sources = {p.id: {lay.source for lay in p.layers} for p in registry.plugins()}
    assert sources["cadastral"] == {"cad.parcel", "cad.map_sheet", "ref.admin_unit"}
    assert sources["land_price"] == {"price.road_segment", "price.zone"}
    assert sources["planning"] == {"plan.zone"}
    assert sources["inventory"] == {"inv.result"}
    parcel = next(lay for lay in registry.layers() if lay.source == "cad.parcel")
    assert parcel.geometry == "multipolygon"
    assert parcel.visible_at(1_000) and parcel.visible_at(50_000)
    assert not parcel.visible_at(200_000)  # declared min_scale 1:100 000


def test_actions_are_plain_data(registry):
    actions = registry.actions()
    assert len(actions) >= 16
    for a in actions:
        assert dataclasses.is_dataclass(a)
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.menu = "x"  # type: ignore[misc]
        assert a.text.vi and a.text.en
        # Handlers are lazy references, so declaring an action imports nothing heavy.
        assert a.handler is None or isinstance(a.handler, str)
        assert NEEDS_STORE in a.when  # every subsystem command works on the store
    implemented = {a.id for a in actions if a.implemented}
    assert "cadastral.stats_by_commune" in implemented
    assert callable(resolve(registry.action("cadastral.stats_by_commune").handler))
    # Everything not implemented is shown disabled (see test_ui_smoke), not faked.
    assert len(implemented) < len(actions)


def test_declarations_do_not_import_qt():
    code = textwrap.dedent(
        """
        import sys
        from app.plugin import PluginRegistry
        r = PluginRegistry().discover()
        assert len(r) == 8
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "psycopg"))
        assert not heavy, heavy
        """
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


# -- validation and errors -------------------------------------------------------------------
def test_duplicate_subsystem_rejected_with_clear_error(registry):
    reg = PluginRegistry()
    reg.register(_plugin("extra"), origin="first")
    with pytest.raises(PluginError, match=r"'extra' is already registered by first"):
        reg.register(_plugin("extra"), origin="second")
    assert reg.ids() == ["extra"]


def test_duplicate_contribution_rejected():
    reg = PluginRegistry()
    reg.register(_plugin("one"))
    same_menu = _plugin("two", menus=(Menu("one", Text("Một", "One")),), actions=())
    with pytest.raises(PluginError, match=r"menu 'one' already declared by subsystem 'one'"):
        reg.register(same_menu)
    clash = _plugin(
        "two",
        layers=(Layer("one.parcels", Text("Thửa", "Parcels"), "cad.parcel", "multipolygon"),),
    )
    with pytest.raises(PluginError, match=r"layer id 'one.parcels' must start with 'two.'"):
        reg.register(clash)
    twice = _plugin(
        "three",
        actions=(
            Action("three.a", "three", Text("A", "A")),
            Action("three.a", "three", Text("B", "B")),
        ),
    )
    with pytest.raises(PluginError, match=r"action 'three.a' declared twice"):
        reg.register(twice)


def test_unknown_subsystem_lookup_is_clear(registry):
    with pytest.raises(PluginError, match=r"unknown subsystem 'cadastre' \(known: cadastral,"):
        registry.get("cadastre")


def test_module_without_plugin_is_not_a_subsystem(tmp_path, monkeypatch):
    pkg = tmp_path / "fake_plugins"
    (pkg / "good").mkdir(parents=True)
    (pkg / "stray").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good" / "__init__.py").write_text(
        "from app.plugin import Action, Menu, Plugin, Text\n"
        "def register(registry):\n"
        "    registry.register(Plugin('good', Text('Tốt', 'Good'),\n"
        "        menus=(Menu('good', Text('Tốt', 'Good')),),\n"
        "        actions=(Action('good.go', 'good', Text('Đi', 'Go')),)))\n"
    )
    (pkg / "stray" / "__init__.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(PluginError, match=r"fake_plugins.stray is not a LandRec subsystem"):
        PluginRegistry().discover("fake_plugins", entry_point_group=None)

    lenient = PluginRegistry().discover("fake_plugins", entry_point_group=None, strict=False)
    assert lenient.ids() == ["good"]
    assert [origin for origin, _ in lenient.errors] == ["fake_plugins.stray"]


def test_third_party_entry_point(tmp_path, monkeypatch):
    (tmp_path / "landrec_extra.py").write_text(
        "from app.plugin import Action, Menu, Plugin, Text\n"
        "PLUGIN = Plugin('cadastral', Text('Trùng', 'Clash'))\n"
        "OTHER = Plugin('survey', Text('Đo đạc', 'Survey'), order=5,\n"
        "    menus=(Menu('survey', Text('Đo đạc', 'Survey')),),\n"
        "    actions=(Action('survey.import', 'survey', Text('Nhập số liệu đo', 'Import'),\n"
        "                    handler='landrec_extra:handler'),))\n"
        "def handler(ctx):\n"
        "    return 'ran'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [
        importlib.metadata.EntryPoint("clash", "landrec_extra:PLUGIN", "landrec.plugins"),
        importlib.metadata.EntryPoint("survey", "landrec_extra:OTHER", "landrec.plugins"),
    ]
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group=None: [e for e in eps if e.group == group],
    )
    with pytest.raises(PluginError, match=r"'cadastral' is already registered by plugins"):
        PluginRegistry().discover()
    reg = PluginRegistry().discover(strict=False)
    assert reg.ids()[0] == "survey"  # order 5: before the built-in subsystems
    assert len(reg) == 9
    assert any("clash" in origin for origin, _ in reg.errors)
    assert resolve(reg.action("survey.import").handler)(None) == "ran"


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (lambda: _plugin("Bad-Id"), "id must be lower-case"),
        (
            lambda: _plugin(actions=(Action("extra.x", "nowhere", Text("X", "X")),)),
            "unknown menu 'nowhere'",
        ),
        (
            lambda: _plugin(actions=(Action("extra.x", "extra", Text("X", "X"), handler="x"),)),
            "must be 'package.module:function'",
        ),
        (
            lambda: _plugin(actions=(Action("extra.x", "extra", Text("X", "X"), when=("vip",)),)),
            "unknown condition 'vip'",
        ),
        (
            lambda: _plugin(layers=(Layer("extra.l", Text("L", "L"), "cad.parcel", "polygons"),)),
            "geometry 'polygons' not one of",
        ),
        (
            lambda: _plugin(
                layers=(
                    Layer(
                        "extra.l",
                        Text("L", "L"),
                        "cad.parcel",
                        "polygon",
                        min_scale=1_000,
                        max_scale=10_000,
                    ),
                )
            ),
            "must be the larger denominator",
        ),
        (
            lambda: _plugin(layers=(Layer("extra.l", Text("L", "L"), "parcel", "polygon"),)),
            "must be 'schema.table'",
        ),
        (lambda: _plugin(menus=(Menu("help", Text("Giúp", "Help")),)), "provided by the app"),
        (lambda: _plugin(requires=("nope",)), "requires unknown subsystem 'nope'"),
        (
            lambda: _plugin(docks=(Dock("extra.d", Text("D", "D"), factory=42),)),
            "handler must be callable",
        ),
    ],
)
def test_malformed_plugins_rejected(plugin, message):
    with pytest.raises(PluginError, match=message):
        reg = PluginRegistry()
        reg.register(plugin())
        reg.validate()


def test_text_needs_both_languages():
    with pytest.raises(PluginError, match="Vietnamese and an English"):
        Text("Địa chính", "")
    assert Text("Địa chính", "Cadastre").get("en") == "Cadastre"
    assert Text("Địa chính", "Cadastre").get("vi") == "Địa chính"


def test_enabled_when_conditions():
    when = (NEEDS_STORE, requires_right("cad.read"))
    assert not EnableState(connected=False).allows(when)
    assert EnableState(connected=True).allows(when)  # rights not restricted client-side
    assert EnableState(connected=True, rights=frozenset({"cad.read"})).allows(when)
    assert not EnableState(connected=True, rights=frozenset({"price.read"})).allows(when)
    with pytest.raises(PluginError):
        requires_right("admin")


def test_unresolvable_handler_is_a_plugin_error():
    with pytest.raises(PluginError, match="cannot load handler 'no_such_module:f'"):
        resolve("no_such_module:f")
