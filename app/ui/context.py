"""The application context handed to plugin handlers and dock factories (app.plugin.AppContext)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.plugin import PluginRegistry, Text

if TYPE_CHECKING:
    from app.session import Session
    from app.store.summary import StoreSummary
    from app.ui.main_window import MainWindow
    from app.ui.tasks import TaskRunner


class UiContext:
    def __init__(
        self,
        session: Session,
        lang: str,
        registry: PluginRegistry,
        window: MainWindow,
        runner: TaskRunner,
    ) -> None:
        self.session = session
        self.lang = lang
        self.registry = registry
        self.window = window
        self._runner = runner

    @property
    def dsn(self) -> str:
        """Conninfo that connects as the signed-in person (read it when you connect: the
        password is withheld while the session is locked). Administration, which needs
        the TOTP-verified connection, goes through ``session.run(fn)`` instead."""
        return self.session.dsn

    @property
    def summary(self) -> StoreSummary | None:
        """The last store summary read (None before the first successful read)."""
        return self.window.summary

    def text(self, t: Text) -> str:
        return t.get(self.lang)

    def run_in_background(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._runner.submit(fn, on_done, on_error)
