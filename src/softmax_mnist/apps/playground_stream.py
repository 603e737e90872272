"""The playground's Server-Sent Events: what each open page is sent, and how many pages may be open.

    Streams(playground).open(client, gone)   an event stream for a new page (a generator of text):
        hello {data, defaults, max_runs, ...}, runs {runs, training},
        run {id, points, epochs, [templates, samples, test, status]},
        bye {zh, en}: this page's slot went to a newer page

A page gets everything first, then only what changed, at most one message per UPDATE_SECONDS
(FULL_SPEED_SECONDS while a run trains at full speed), so a page costs the training little
however fast it runs: the training thread only appends under the Playground's lock and
notifies; the JSON is made here, outside the lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from softmax_mnist.apps.playground_runs import Busy, Playground

UPDATE_SECONDS = 0.2  # a page gets at most one message per this long: redrawn up to 5 times a second
# ... and per this long while a run trains at full speed: each message has every open page redraw,
# in a browser that takes the CPUs the training wants (at 0.2 s, watching cost a 3-epoch run at
# batch 1000 about 6% on 2 cores; benchmarks/playground_cost.py). Slow motion paces itself.
FULL_SPEED_SECONDS = 0.5
KEEPALIVE_SECONDS = 15
MAX_STREAMS = 32  # open pages at once (each holds one of the server's threads: make_server)
GONE_SECONDS = 1.0  # a page that closed is noticed, and its slot freed, within about this long


@dataclass(eq=False)
class Page:
    """One open event stream: who holds it, and whether its slot went to a newer page."""

    client: str | None
    gone: Callable[[], bool]  # True once the client has closed the connection (waitress tells)
    opened: float = field(default_factory=time.monotonic)
    ended: bool = False


def sse(event: str, data) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


BYE = {"zh": f"本服务器已打开 {MAX_STREAMS} 个页面，此页面已让位给较新的页面；重新加载即可继续。",
       "en": f"{MAX_STREAMS} pages are open on this server and this one gave its place to a newer "
             "page; reload to continue."}


class Streams:
    """The open pages of a Playground, each following it through its own event stream."""

    def __init__(self, playground: Playground):
        self.pg = playground
        self.pages: list[Page] = []  # the open event streams, oldest first (under pg.cond)

    def open(self, client: str | None = None, gone: Callable[[], bool] = lambda: False):
        """An event stream for a new page of ``client`` (an address). When MAX_STREAMS are open the
        newest page wins: the client holding the most streams gives up its oldest one (a bye event),
        so idle pages, or one client's many, cannot lock others out; Busy if none ends in time."""
        cond = self.pg.cond
        with cond:
            if len(self.pages) >= MAX_STREAMS:
                self._make_room()
                if not cond.wait_for(lambda: len(self.pages) < MAX_STREAMS, 3 * GONE_SECONDS):
                    raise Busy(f"{MAX_STREAMS} pages are open on this server; close one and reload",
                               "pages", limit=MAX_STREAMS)
            page = Page(client, gone)
            self.pages.append(page)
        return self._stream(page)

    def _make_room(self) -> None:
        """End the oldest stream of the client with the most open ones (lock held)."""
        live = [p for p in self.pages if not p.ended]
        if not live:
            return
        held: dict = {}
        for p in live:
            held[p.client] = held.get(p.client, 0) + 1
        oldest = min((p for p in live if held[p.client] == max(held.values())), key=lambda p: p.opened)
        oldest.ended = True
        self.pg.cond.notify_all()

    def _stream(self, page: Page):
        """Server-Sent Events for one page: everything first, then what changed, at most one
        message per UPDATE_SECONDS. Ends within GONE_SECONDS of the page going away, or of its
        slot going to a newer page, or when the playground closes."""
        pg = self.pg
        seen, seen_list, cursors = -1, -1, {}
        try:
            yield sse("hello", pg.hello())
            quiet_since = time.monotonic()
            while True:
                with pg.cond:
                    if not pg.cond.wait_for(lambda seen=seen: pg.version != seen or pg.closed or page.ended,
                                            GONE_SECONDS):
                        messages = None
                    elif pg.closed:
                        return
                    elif page.ended:
                        messages = [("bye", BYE)]
                    else:
                        seen, messages = pg.version, []
                        if seen_list != pg.list_version:
                            seen_list = pg.list_version
                            messages.append(("runs", pg.run_list()))
                        for run in pg.runs.values():
                            delta, cursors[run.id] = run.delta(cursors.get(run.id))
                            if delta:
                                messages.append(("run", delta))
                        for gone in set(cursors) - set(pg.runs):
                            del cursors[gone]
                if page.gone():  # the client closed the connection: free the slot now
                    return
                if messages:  # JSON outside the lock: the training thread only waits for the slices
                    yield "".join(sse(e, d) for e, d in messages)
                    if page.ended:
                        return
                    quiet_since = time.monotonic()
                    run = pg.training
                    time.sleep(FULL_SPEED_SECONDS if run is not None and not run.slow else UPDATE_SECONDS)
                elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                    yield ": keepalive\n\n"  # a write to a dead connection fails: another check
                    quiet_since = time.monotonic()
        finally:
            with pg.cond:
                self.pages.remove(page)
                pg.cond.notify_all()
