"""The subsystem (phân hệ) plugin interface. Qt-free: declarations are plain data.

A subsystem is a Python package under ``plugins/`` (or a third-party distribution
registered under the entry-point group ``landrec.plugins``) that exposes either

* ``PLUGIN``: a :class:`Plugin`, or
* ``register(registry)``: a function that calls ``registry.register(Plugin(...))``.

A plugin contributes, *as data* (the napari model: actions declared as data, Qt views
kept apart):

* :class:`Menu` — menus and sub-menus, addressed by id (``"cadastral"``,
  ``"cadastral/reports"``). The application provides ``"file"`` and ``"help"``.
* :class:`Action` — a menu entry: text in Vietnamese and English, shortcut, the handler,
  and the conditions under which it is enabled. An action without a handler is a
  declared-but-not-yet-implemented feature: the window shows it *disabled* with the
  tooltip :data:`NOT_IMPLEMENTED_TIP`; there are no fake dialogs.
* :class:`Layer` — a map layer: source relation or function, geometry type, scale range
  and style hints.
* :class:`Dock` — a dock panel built by a factory ``(context) -> QWidget``.

Handlers and factories are given either as a callable or, better, as a lazy reference
``"package.module:function"``: the declaration module then imports nothing heavy (no Qt,
no psycopg) and a plugin costs nothing until its feature is used. Both receive the
application context (:class:`AppContext`), the only thing a plugin may rely on.

See docs/plugins.md for a worked example.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any, Literal, Protocol, runtime_checkable

from app.errors import UserFacingError

#: Entry-point group under which third-party distributions register subsystems.
ENTRY_POINT_GROUP = "landrec.plugins"

#: Tooltip of a declared action whose feature is not in this release.
NOT_IMPLEMENTED_TIP = "Chưa có trong phiên bản này"
NOT_IMPLEMENTED_TIP_EN = "Not available in this version"

#: Menus the application itself provides; plugins may add actions to them.
APP_MENUS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"file": ("Tệp", "File"), "help": ("Trợ giúp", "Help")}
)

#: Condition: the action needs a live connection to the store.
NEEDS_STORE = "store"

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_DOTTED_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_MENU_ID = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)*$")
_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_RELATION = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*(\(\))?$")

GeometryType = Literal["point", "multipoint", "line", "multiline", "polygon", "multipolygon"]
GEOMETRY_TYPES: frozenset[str] = frozenset(GeometryType.__args__)  # type: ignore[attr-defined]

DockArea = Literal["left", "right", "bottom", "top"]

#: A handler: a callable taking the app context, or "package.module:function".
Handler = Callable[["AppContext"], Any] | str


class PluginError(UserFacingError):
    """A plugin is malformed, duplicated, unknown, or failed to load."""


def requires_right(right: str) -> str:
    """Condition: the signed-in person holds subsystem right ``right`` (e.g. ``"cad.read"``)."""
    if not _DOTTED_ID.match(right):
        raise PluginError(f"right {right!r} must look like 'subsystem.level', e.g. 'cad.read'")
    return f"right:{right}"


@dataclass(frozen=True)
class Text:
    """A user-visible string in Vietnamese (the default) and English."""

    vi: str
    en: str

    def __post_init__(self) -> None:
        if not self.vi.strip() or not self.en.strip():
            raise PluginError(f"text {self!r} needs both a Vietnamese and an English form")

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


@dataclass(frozen=True)
class Menu:
    """A menu (id without "/") or a sub-menu (``parent/child``) of the menu bar."""

    id: str
    title: Text
    order: int = 100

    @property
    def parent(self) -> str | None:
        return self.id.rpartition("/")[0] or None


@dataclass(frozen=True)
class Action:
    """A menu entry, declared as data.

    ``handler`` is None for a feature declared but not implemented yet (shown disabled).
    ``when`` lists conditions that must all hold for the entry to be enabled:
    :data:`NEEDS_STORE` and/or :func:`requires_right` values.
    """

    id: str  # "<plugin id>.<name>", unique in the application
    menu: str  # a Menu id, e.g. "cadastral/reports", or "file" / "help"
    text: Text
    handler: Handler | None = None
    shortcut: str | None = None  # Qt key sequence text, e.g. "Ctrl+Shift+T"
    when: tuple[str, ...] = ()
    tooltip: Text | None = None
    order: int = 100
    separator_before: bool = False

    @property
    def implemented(self) -> bool:
        return self.handler is not None


@dataclass(frozen=True)
class Layer:
    """A map layer fed by the store.

    ``source`` is a relation (``"cad.parcel"``) or a set-returning function
    (``"api.parcels_in_view()"``) — the latter is how row-level security and the bbox
    are applied together (DESIGN P2). Scales are denominators, QGIS-style:
    ``min_scale`` is the most zoomed-*out* scale at which the layer is drawn (largest
    denominator), ``max_scale`` the most zoomed-*in*; None means no limit.
    """

    id: str
    title: Text
    source: str
    geometry: GeometryType
    geometry_column: str = "geom"
    min_scale: int | None = None
    max_scale: int | None = None
    style: Mapping[str, Any] = field(default_factory=dict)  # hints: stroke, fill, label…
    visible: bool = True
    z: int = 100  # drawing order: higher is drawn later (on top)

    def visible_at(self, scale_denominator: float) -> bool:
        if self.min_scale is not None and scale_denominator > self.min_scale:
            return False
        return not (self.max_scale is not None and scale_denominator < self.max_scale)


@dataclass(frozen=True)
class Dock:
    """A dock panel; ``factory(context)`` builds the QWidget (it may import Qt)."""

    id: str
    title: Text
    factory: Handler
    area: DockArea = "right"
    when: tuple[str, ...] = ()
    visible: bool = False  # shown on start-up?


@dataclass(frozen=True)
class Plugin:
    """One subsystem (phân hệ)."""

    id: str
    title: Text
    order: int = 100
    right: str | None = None  # subsystem right prefix, e.g. "cad" (rights "cad.read", …)
    menus: tuple[Menu, ...] = ()
    actions: tuple[Action, ...] = ()
    layers: tuple[Layer, ...] = ()
    docks: tuple[Dock, ...] = ()
    requires: tuple[str, ...] = ()  # ids of subsystems this one needs
    version: str = "0"


@runtime_checkable
class AppContext(Protocol):
    """What handlers and dock factories receive. Implemented by the desktop client.

    ``window`` is the main QMainWindow (parent your dialogs to it); ``run_in_background``
    runs ``fn()`` on a worker thread and calls ``on_done(result)`` or ``on_error(exc)``
    back on the UI thread — never query the store on the UI thread.
    """

    dsn: str
    lang: str
    window: Any
    registry: PluginRegistry

    def text(self, t: Text) -> str: ...

    def run_in_background(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class EnableState:
    """What the enabled-when conditions are evaluated against.

    ``rights`` None means "not restricted by the client": the store decides (it always
    does — this only greys out entries that the database would refuse anyway).
    """

    connected: bool
    rights: frozenset[str] | None = None

    def allows(self, when: Iterable[str]) -> bool:
        for cond in when:
            if cond == NEEDS_STORE:
                if not self.connected:
                    return False
            elif cond.startswith("right:"):
                if self.rights is not None and cond[6:] not in self.rights:
                    return False
            else:
                raise PluginError(f"unknown condition {cond!r}")
        return True


def resolve(ref: Handler) -> Callable[..., Any]:
    """Turn a ``"package.module:function"`` reference into the callable (imports lazily)."""
    if callable(ref):
        return ref
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
        target = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"cannot load handler {ref!r}: {exc}") from exc
    if not callable(target):
        raise PluginError(f"handler {ref!r} is not callable")
    return target


class PluginRegistry:
    """Discovers, validates and orders the subsystems.

    ``register()`` checks one plugin on its own and against those already registered
    (unique ids of plugins, actions, layers, docks and menus). ``validate()`` checks what
    needs all of them (menus referenced by actions exist, required subsystems present);
    ``discover()`` calls it at the end.
    """

    def __init__(self) -> None:
        self._plugins: dict[str, Plugin] = {}
        self._origin: dict[str, str] = {}
        #: Plugins that failed to load in non-strict discovery: (origin, message).
        self.errors: list[tuple[str, str]] = []

    # -- registration -------------------------------------------------------------------
    def register(self, plugin: Plugin, origin: str = "<code>") -> Plugin:
        if not isinstance(plugin, Plugin):
            raise PluginError(f"{origin}: expected a landrec Plugin, got {type(plugin).__name__}")
        _check_plugin(plugin)
        if plugin.id in self._plugins:
            raise PluginError(
                f"{origin}: subsystem id {plugin.id!r} is already registered by "
                f"{self._origin[plugin.id]}; subsystem ids must be unique"
            )
        mine = _contribution_ids(plugin)
        for other in self._plugins.values():
            clash = mine & _contribution_ids(other)
            if clash:
                raise PluginError(
                    f"{origin}: {', '.join(sorted(clash))} already declared by subsystem "
                    f"{other.id!r}"
                )
        self._plugins[plugin.id] = plugin
        self._origin[plugin.id] = origin
        return plugin

    def load_module(self, module: ModuleType, origin: str | None = None) -> None:
        """Register what a plugin module exposes (``PLUGIN`` or ``register``)."""
        origin = origin or module.__name__
        plugin = getattr(module, "PLUGIN", None)
        register = getattr(module, "register", None)
        if plugin is not None:
            self.register(plugin, origin)
        elif callable(register):
            before = set(self._plugins)
            register(self)
            if set(self._plugins) == before:
                raise PluginError(f"{origin}: register(registry) registered no subsystem")
        else:
            raise PluginError(
                f"{origin} is not a LandRec subsystem: it defines neither PLUGIN nor "
                "register(registry)"
            )

    def discover(
        self,
        package: str | None = "plugins",
        entry_point_group: str | None = ENTRY_POINT_GROUP,
        *,
        strict: bool = True,
    ) -> PluginRegistry:
        """Load every sub-package of ``package`` and every entry point of the group.

        ``strict`` raises :class:`PluginError` on the first bad plugin; otherwise bad
        plugins are skipped and listed in :attr:`errors` (the application's choice, so
        that a broken third-party plugin cannot stop the client from starting).
        """
        for origin, loader in self._candidates(package, entry_point_group):
            try:
                loaded = loader()
                if isinstance(loaded, Plugin):
                    self.register(loaded, origin)
                elif isinstance(loaded, ModuleType):
                    self.load_module(loaded, origin)
                elif callable(loaded):
                    before = set(self._plugins)
                    loaded(self)
                    if set(self._plugins) == before:
                        raise PluginError(f"{origin}: register(registry) registered nothing")
                else:
                    raise PluginError(f"{origin}: entry point is not a Plugin, module or function")
            except Exception as exc:
                error = (
                    exc
                    if isinstance(exc, PluginError)
                    else PluginError(f"{origin} failed to load: {type(exc).__name__}: {exc}")
                )
                if strict:
                    raise error from exc
                self.errors.append((origin, str(error)))
        problems = self.problems()
        if problems and strict:
            raise PluginError("; ".join(problems))
        for bad in problems:
            self.errors.append(("registry", bad))
        return self

    @staticmethod
    def _candidates(package: str | None, group: str | None):
        if package:
            pkg = importlib.import_module(package)
            for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
                if info.name.startswith("_"):
                    continue
                name = f"{package}.{info.name}"
                yield name, (lambda name=name: importlib.import_module(name))
        if group:
            for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
                yield f"entry point {ep.name!r} ({ep.value})", ep.load

    # -- queries ------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Cross-plugin problems: unknown menus, missing required subsystems."""
        out = []
        menus = set(APP_MENUS) | {m.id for m in self.menus()}
        for p in self._plugins.values():
            for need in p.requires:
                if need not in self._plugins:
                    out.append(f"subsystem {p.id!r} requires unknown subsystem {need!r}")
            for m in p.menus:
                if m.parent and m.parent not in menus:
                    out.append(f"menu {m.id!r} of {p.id!r}: parent menu {m.parent!r} unknown")
            for a in p.actions:
                if a.menu not in menus:
                    out.append(f"action {a.id!r} of {p.id!r}: unknown menu {a.menu!r}")
        return out

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise PluginError("; ".join(problems))

    def plugins(self) -> list[Plugin]:
        """Registered subsystems in menu order (``order``, then id)."""
        return sorted(self._plugins.values(), key=lambda p: (p.order, p.id))

    def ids(self) -> list[str]:
        return [p.id for p in self.plugins()]

    def get(self, plugin_id: str) -> Plugin:
        try:
            return self._plugins[plugin_id]
        except KeyError:
            known = ", ".join(self.ids()) or "none"
            raise PluginError(f"unknown subsystem {plugin_id!r} (known: {known})") from None

    def __contains__(self, plugin_id: object) -> bool:
        return plugin_id in self._plugins

    def __len__(self) -> int:
        return len(self._plugins)

    def menus(self) -> list[Menu]:
        return sorted((m for p in self.plugins() for m in p.menus), key=lambda m: (m.order, m.id))

    def actions(self, menu: str | None = None) -> list[Action]:
        acts = [a for p in self.plugins() for a in p.actions if menu is None or a.menu == menu]
        return sorted(acts, key=lambda a: a.order)

    def action(self, action_id: str) -> Action:
        for a in self.actions():
            if a.id == action_id:
                return a
        raise PluginError(f"unknown action {action_id!r}")

    def layers(self) -> list[Layer]:
        return sorted((lay for p in self.plugins() for lay in p.layers), key=lambda x: x.z)

    def docks(self) -> list[Dock]:
        return [d for p in self.plugins() for d in p.docks]


def _contribution_ids(p: Plugin) -> set[str]:
    return (
        {f"action {a.id!r}" for a in p.actions}
        | {f"layer {x.id!r}" for x in p.layers}
        | {f"dock {d.id!r}" for d in p.docks}
        | {f"menu {m.id!r}" for m in p.menus}
    )


def _check_plugin(p: Plugin) -> None:
    where = f"subsystem {p.id!r}"
    if not isinstance(p.id, str) or not _ID.match(p.id):
        raise PluginError(f"{where}: id must be lower-case letters, digits and '_'")
    if not isinstance(p.title, Text):
        raise PluginError(f"{where}: title must be a Text(vi=..., en=...)")
    if p.right is not None and not _ID.match(p.right):
        raise PluginError(f"{where}: right prefix {p.right!r} is not a valid name")
    seen: set[str] = set()

    def unique(kind: str, ident: str) -> None:
        key = f"{kind}:{ident}"
        if key in seen:
            raise PluginError(f"{where}: {kind} {ident!r} declared twice")
        seen.add(key)

    for m in p.menus:
        if not _MENU_ID.match(m.id):
            raise PluginError(f"{where}: menu id {m.id!r} must look like 'name' or 'a/b'")
        if m.id.split("/")[0] in APP_MENUS:
            raise PluginError(f"{where}: menu {m.id!r} is provided by the application")
        unique("menu", m.id)
    for a in p.actions:
        if not _DOTTED_ID.match(a.id) or not a.id.startswith(p.id + "."):
            raise PluginError(f"{where}: action id {a.id!r} must start with '{p.id}.'")
        unique("action", a.id)
        if not isinstance(a.text, Text):
            raise PluginError(f"{where}: action {a.id!r} text must be a Text")
        _check_handler(where, a.id, a.handler, optional=True)
        _check_when(where, a.id, a.when)
    for lay in p.layers:
        if not _DOTTED_ID.match(lay.id) or not lay.id.startswith(p.id + "."):
            raise PluginError(f"{where}: layer id {lay.id!r} must start with '{p.id}.'")
        unique("layer", lay.id)
        if lay.geometry not in GEOMETRY_TYPES:
            raise PluginError(
                f"{where}: layer {lay.id!r} geometry {lay.geometry!r} not one of "
                f"{', '.join(sorted(GEOMETRY_TYPES))}"
            )
        if not _RELATION.match(lay.source):
            raise PluginError(
                f"{where}: layer {lay.id!r} source {lay.source!r} must be 'schema.table' "
                "or 'schema.function()'"
            )
        if (
            lay.min_scale is not None
            and lay.max_scale is not None
            and lay.min_scale < lay.max_scale
        ):
            raise PluginError(
                f"{where}: layer {lay.id!r} min_scale 1:{lay.min_scale} must be the larger "
                f"denominator (most zoomed out), max_scale 1:{lay.max_scale} the smaller"
            )
    for d in p.docks:
        if not _DOTTED_ID.match(d.id) or not d.id.startswith(p.id + "."):
            raise PluginError(f"{where}: dock id {d.id!r} must start with '{p.id}.'")
        unique("dock", d.id)
        if d.area not in ("left", "right", "bottom", "top"):
            raise PluginError(f"{where}: dock {d.id!r} area {d.area!r} unknown")
        _check_handler(where, d.id, d.factory, optional=False)
        _check_when(where, d.id, d.when)


def _check_handler(where: str, ident: str, handler: object, *, optional: bool) -> None:
    if handler is None and optional:
        return
    if isinstance(handler, str):
        if not _REF.match(handler):
            raise PluginError(
                f"{where}: {ident!r} handler {handler!r} must be 'package.module:function'"
            )
    elif not callable(handler):
        raise PluginError(f"{where}: {ident!r} handler must be callable or a reference")


def _check_when(where: str, ident: str, when: tuple[str, ...]) -> None:
    if isinstance(when, str):
        raise PluginError(f"{where}: {ident!r} when must be a tuple of conditions")
    for cond in when:
        if cond != NEEDS_STORE and not (cond.startswith("right:") and _DOTTED_ID.match(cond[6:])):
            raise PluginError(
                f"{where}: {ident!r} has unknown condition {cond!r} (use NEEDS_STORE "
                "or requires_right('cad.read'))"
            )
