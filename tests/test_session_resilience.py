"""A session survives a dropped link (issue 4 §5): offline → reconnecting … → connected,
in-flight work reported failed, back-off, no password guessing, nothing on the caller's
thread while offline. The link is the WAN proxy (app/net) and its cut()."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from app.net.latency_proxy import LatencyProxy
from app.session import LinkDropped, LinkState, StateChange, sign_in


@pytest.fixture
def linked(demo_db, person_factory):
    """(proxy, session, events): a viewer signed in through a 5 ms proxy, fast back-off."""
    person = person_factory(demo_db, rights={"cadastral": ["viewer"]}, whole_province=True)
    proxy = LatencyProxy.for_dsn(demo_db, rtt_ms=5, mbit=None).start()
    target = conninfo_to_dict(proxy.wrap_dsn(demo_db))
    target.pop("user", None)
    target.pop("password", None)
    session = sign_in(target, person.role, person.password)
    events: list[StateChange] = []
    session.add_state_listener(events.append)
    yield proxy, session, events, person
    session.close()
    proxy.stop()


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_dropped_link_goes_offline_retries_with_backoff_and_resumes(linked) -> None:
    proxy, session, events, person = linked
    assert session.state == LinkState.CONNECTED
    generation = session.generation
    count = "SELECT count(*) FROM api.parcels_in_bbox(-9e7, -9e7, 9e7, 9e7, 0)"
    visible = session.run(lambda c: c.execute(count).fetchone()[0])
    assert visible >= 3_000  # the demo province (other tests may split parcels)

    # Work in flight when the link drops fails in its own thread, loudly.
    failures: list[BaseException] = []

    def in_flight() -> None:
        try:
            session.run(lambda c: c.execute("SELECT pg_sleep(2)"))
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=in_flight)
    worker.start()
    time.sleep(0.3)
    proxy.cut(1.2)
    worker.join(5)
    assert len(failures) == 1 and isinstance(failures[0], LinkDropped)
    assert isinstance(failures[0], psycopg.OperationalError)  # existing handlers catch it
    _wait_for(lambda: session.offline and session.state == LinkState.RECONNECTING)

    # While offline, a caller is told at once instead of waiting on the network.
    t0 = time.perf_counter()
    with pytest.raises(LinkDropped, match="offline"):
        session.run(lambda c: c.execute("SELECT 1"))
    assert time.perf_counter() - t0 < 0.1

    _wait_for(lambda: session.state == LinkState.CONNECTED)
    states = [e.state for e in events]
    assert states[0] == LinkState.OFFLINE
    assert states[-1] == LinkState.CONNECTED
    assert set(states[1:-1]) == {LinkState.RECONNECTING}
    waits = [e.retry_in_s for e in events if e.retry_in_s is not None]
    # Immediate retry, then 0.5 s, 1 s …: the 1.2 s cut needs ≥ 2 failed attempts.
    assert waits[:2] == [0.5, 1.0]
    assert all(e.error for e in events if e.retry_in_s is not None)
    assert events[-1].attempt == len(waits) + 1

    # The view is re-requested by the canvas: the same query works on the new connection.
    assert session.run(lambda c: c.execute(count).fetchone()[0]) == visible
    assert session.run(lambda c: c.execute("SELECT session_user").fetchone()[0]) == person.role
    assert session.generation == generation + 1
    assert person.password not in repr(session)
    assert proxy.stats.refused == 0  # the listener was down: connections were refused


def test_no_retry_with_a_refused_password_or_while_locked(linked, demo_db) -> None:
    proxy, session, events, person = linked
    session.forget_password()  # idle lock engaged …
    proxy.cut(0.3)  # … and the link drops
    with pytest.raises(LinkDropped):
        session.run(lambda c: c.execute("SELECT 1"))
    _wait_for(lambda: events and events[-1].gave_up)
    assert [e.state for e in events] == [LinkState.OFFLINE, LinkState.OFFLINE]
    time.sleep(0.5)
    assert len(events) == 2  # no attempt without the password (it would be a failed login)

    # Unlock with a password the server no longer accepts: one attempt, then it stops (P5).
    with psycopg.connect(demo_db, autocommit=True) as owner:
        owner.execute(
            psycopg.sql.SQL("ALTER ROLE {} PASSWORD 'Changed-Elsewhere-1!'").format(
                psycopg.sql.Identifier(person.role)
            )
        )
    session.remember_password(person.password)
    _wait_for(lambda: events[-1].gave_up and len(events) > 2)
    assert [e.state for e in events[2:]] == [LinkState.RECONNECTING, LinkState.OFFLINE]
    time.sleep(0.8)
    assert len(events) == 4 and session.offline

    session.remember_password("Changed-Elsewhere-1!")
    _wait_for(lambda: session.state == LinkState.CONNECTED)
    assert session.run(lambda c: c.execute("SELECT 7").fetchone()) == (7,)


def test_other_connections_report_the_drop(linked) -> None:
    proxy, session, events, _ = linked
    with psycopg.connect(session.dsn, autocommit=True) as reader:  # a canvas-style reader
        proxy.cut(0.2)
        with pytest.raises(psycopg.OperationalError) as lost:
            reader.execute("SELECT 1")
    assert session.report_link_error(lost.value)
    assert not session.report_link_error(psycopg.errors.DivisionByZero("x"))
    _wait_for(lambda: session.state == LinkState.CONNECTED)
    assert events[0].state == LinkState.OFFLINE and events[-1].state == LinkState.CONNECTED
    seen: list[StateChange] = []
    remove = session.add_state_listener(seen.append)
    remove()
    proxy.cut(0.1)
    with pytest.raises(LinkDropped):
        session.run(lambda c: c.execute("SELECT 1"))
    assert seen == []  # removed observers hear nothing
