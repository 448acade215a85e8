"""Case events for open consoles, as server-sent events (`GET /cases/events`).

Every change to a case's history is announced by PostgreSQL when its transaction commits
(`cases.workflow.record` → NOTIFY citygrid_cases): from the map, the CLI, Open311, a 12345
import or another server alike. One LISTEN connection per server (a daemon thread) hands each
announcement to the consoles whose token sees the case: its districts, and for a 专业部门 its
own department's cases.

Why server-sent events and not a WebSocket: the stream runs one way (actions go through the
ordinary POST routes, with their checks and audit), it is plain HTTP that proxies and gateways
pass, it needs no extra dependency on either side, and the format is a standard any client can
read. The console reads it with `fetch` rather than `EventSource`, so that the token travels in
the Authorization header, never in the URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from api.auth import Principal
from cases.flow import DEPARTMENT
from gis.db import ALIVE, CASE_EVENTS
from gis.replicas import ReadRouter, parse_lsn

log = logging.getLogger("citygrid.feed")
HEARTBEAT_S = 15.0


@dataclass(eq=False)
class Subscriber:
    who: Principal
    queue: asyncio.Queue[dict[str, Any]]
    loop: asyncio.AbstractEventLoop

    def wants(self, event: dict[str, Any]) -> bool:
        if not self.who.sees(str(event.get("district"))):
            return False
        if self.who.post == DEPARTMENT and self.who.department is not None:
            return event.get("department") == self.who.department
        return True


def _districts(notes: list[Any]) -> set[str]:
    found = set()
    for note in notes:
        try:
            found.add(str(json.loads(note.payload).get("district", "")))
        except (ValueError, AttributeError):
            continue
    return found


class CaseFeed:
    def __init__(self, url: Callable[[], str],
                 reads: Callable[[], ReadRouter | None] | None = None) -> None:
        self.url = url
        self.reads = reads or (lambda: None)   # told of each change (gis.replicas)
        self.subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._listen, daemon=True,
                                                name="citygrid-case-feed")
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url(), autocommit=True, **ALIVE) as conn:
                    conn.execute(f"LISTEN {CASE_EVENTS}")
                    self.listening.set()
                    reads = self.reads()
                    while not self._stop.is_set():
                        # as soon as one arrives (with any that came with it)
                        notes = list(conn.notifies(timeout=1.0, stop_after=1))
                        if notes and reads is not None:
                            # committed: a case list read from a standby must show them
                            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
                            if row is not None:
                                reads.mark(_districts(notes), parse_lsn(row[0]))
                        for note in notes:
                            self._publish(note.payload)
            except Exception as exc:
                self.listening.clear()
                if self._stop.is_set():
                    break
                log.warning("case feed: lost its connection (%s); retrying",
                            str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
                self._stop.wait(2.0)

    def _publish(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return
        with self._lock:
            targets = [s for s in self.subscribers if s.wants(event)]
        for s in targets:
            s.loop.call_soon_threadsafe(s.queue.put_nowait, event)

    async def stream(self, who: Principal) -> AsyncIterator[str]:
        """The events a token may see, as `text/event-stream`, with a comment every
        HEARTBEAT_S so that idle connections stay open through proxies."""
        self.start()
        sub = Subscriber(who, asyncio.Queue(), asyncio.get_running_loop())
        with self._lock:
            self.subscribers.add(sub)
        try:
            yield ": 已连接 (connected)\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                yield (f"id: {event.get('number')}:{event.get('seq')}\nevent: case\n"
                       f"data: {json.dumps(event, ensure_ascii=False)}\n\n")
        finally:
            with self._lock:
                self.subscribers.discard(sub)
