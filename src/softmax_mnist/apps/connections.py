"""What one client may hold of a waitress server, and how long a request may take to arrive.

waitress closes a connection after ``channel_timeout`` seconds of silence and stops accepting at
``connection_limit`` open ones; a client that sends a byte every few seconds is never silent, so
520 such connections used to fill the server for good. ``guard(server, max_bytes)`` adds:

- a deadline: a request's head must arrive whole within HEADER_SECONDS of its first byte, the
  rest of it within REQUEST_SECONDS; a connection past its deadline is closed;
- a per-client cap: one address holds at most PER_CLIENT connections; past it, a new connection
  closes that address's connection that has waited longest without a request being served (an
  idle keep-alive or a dribbling one; never one whose request runs, such as an event stream). So
  one client's flood costs only its own connections, and even on 127.0.0.1, where a page and the
  flood share the address, the page's fresh request gets in;
- a body over ``max_bytes`` announced with ``Expect: 100-continue`` is refused from its headers
  with a JSON 413 and no ``100 Continue`` (the client has not sent it yet, so nothing is lost);
  one without it is read (up to waitress's backstop) and refused by the app with the same 413.
"""

from __future__ import annotations

import json
import logging
import time

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.utilities import RequestEntityTooLarge

log = logging.getLogger(__name__)

HEADER_SECONDS = 10  # a browser sends its request head in one packet; 10 s is for a very slow link
REQUEST_SECONDS = 60  # the whole request: a 2 MiB upload at 300 kbit/s
PER_CLIENT = 64  # connections per address (a browser opens at most 6 per server; 32 pages' streams fit)


def too_large_message(size: int | None, max_bytes: int) -> str:
    """The one line for a body over the limit (the app says the same)."""
    what = f"{size:,} bytes" if size is not None else "over the limit"
    return f"request too large: {what}, the limit is {max_bytes:,} bytes"


class TooLarge(RequestEntityTooLarge):
    """waitress's 413 with a JSON body, as the app's own errors are."""

    def to_response(self, ident=None):
        body = json.dumps({"error": self.body}).encode("utf-8")
        return f"{self.code} {self.reason}", [("Content-Type", "application/json")], body


class Parser(HTTPRequestParser):
    """waitress's parser, refusing an announced body over ``max_bytes`` before any of it is sent."""

    max_bytes = 0  # set per server by guard()

    def received(self, data):
        n = super().received(data)
        if (self.headers_finished and self.expect_continue and not self.error
                and self.content_length > self.max_bytes):
            self.error = TooLarge(too_large_message(self.content_length, self.max_bytes))
            self.completed = True
        if self.error is not None:
            if type(self.error) is RequestEntityTooLarge:  # waitress's backstop: JSON too
                self.error = TooLarge(too_large_message(self.content_length or None, self.max_bytes))
            self.expect_continue = False  # an error is answered at once: no 100 Continue first
        return n


class Channel(HTTPChannel):
    """One connection: its request's deadline and its address's cap (module docstring)."""

    parser_class = Parser

    def __init__(self, server, sock, addr, adj, map=None):
        super().__init__(server, sock, addr, adj, map)
        self.waiting_since = self.creation_time  # when the request being received began
        self.client = addr[0] if isinstance(addr, tuple) and addr else addr
        peers = server.clients.setdefault(self.client, set())
        peers.add(self)
        live = [c for c in peers if not c.will_close]
        if len(live) > PER_CLIENT:
            waiting = [c for c in live if c is not self and not c.requests]
            victim = min(waiting, key=lambda c: c.waiting_since) if waiting else self
            log.info("%s holds %d connections: closing its oldest waiting one", self.client, len(live))
            victim.will_close = True

    def received(self, data):
        if self.request is None and data:  # the first bytes of a new request
            self.waiting_since = time.time()
        return super().received(data)

    def readable(self):
        request = self.request
        if request is not None and not request.completed and not self.will_close:
            allowed = REQUEST_SECONDS if request.headers_finished else HEADER_SECONDS
            if time.time() - self.waiting_since > allowed:
                log.info("%s: request not received within %d s, connection closed", self.client, allowed)
                self.will_close = True  # writable() now says so, and handle_write closes it
                return False
        return super().readable()

    def del_channel(self, map=None):
        peers = self.server.clients.get(self.client)
        if peers is not None:
            peers.discard(self)
            if not peers:
                del self.server.clients[self.client]
        super().del_channel(map)


def guard(server, max_bytes: int):
    """Give waitress ``server`` (create_server's answer, one or several listening sockets) the
    limits above; returns it."""
    parser = type("Parser", (Parser,), {"max_bytes": max_bytes})
    channel = type("Channel", (Channel,), {"parser_class": parser})
    listeners = ([server] if isinstance(server, BaseWSGIServer)  # else a MultiSocketServer
                 else [s for s in server.map.values() if isinstance(s, BaseWSGIServer)])
    for s in listeners:
        s.channel_class, s.clients = channel, {}
    return server
