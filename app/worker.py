"""A gunicorn worker: one request at a time like the sync worker, but HTTP/1.1 connections stay open.

The sync worker closes every connection after its response, so each request pays a TCP handshake, a
graceful close and the client's reconnect; on a small JSON endpoint that is most of the cost. This
worker keeps idle connections in a selector and serves whichever is ready, one request at a time in
the worker's only thread (no thread pool, no GIL hand-offs), so its CPU profile stays the sync
worker's. Gunicorn's `keepalive` seconds bound how long an idle connection is kept and
`worker_connections` how many: when a worker holds that many idle connections it closes the one idle
longest (HTTP/1.1 lets a server close an idle connection at any time), so idle clients can never keep
new ones out.

Connections stick to the worker that accepted them. Two things keep the workers evenly loaded: a
worker accepts at most one new connection per turn of its loop, so a burst of connections is shared
between workers; and each connection is closed after REQUESTS_PER_CONNECTION requests (like nginx's
keepalive_requests), so any drift is undone as clients reconnect.

A new connection waits in the selector like an idle one until its first bytes arrive. Once a request
has started, the worker reads it to the end (at most READ_TIMEOUT seconds): as with the sync worker,
nginx in front buffers slow clients.
"""

import errno
import os
import selectors
import socket
import ssl
import sys
import time
from datetime import datetime

from gunicorn import http, sock, util
from gunicorn.http import wsgi
from gunicorn.workers import base

REQUESTS_PER_CONNECTION = 100
# A client that has started a request must finish sending it within this time (seconds).
READ_TIMEOUT = 10
_WAKEUP = object()


def _drain(fd):
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


class _Connection:
    __slots__ = ("sock", "addr", "listener", "parser", "served", "idle_until")

    def __init__(self, sock_, addr, listener):
        self.sock = sock_
        self.addr = addr
        self.listener = listener
        self.parser = None
        self.served = 0
        self.idle_until = 0.0


class KeepAliveWorker(base.Worker):
    def init_process(self):
        self.selector = selectors.DefaultSelector()
        self.idle = {}  # connection -> True, oldest first (dicts keep insertion order)
        super().init_process()

    def run(self):
        for listener in self.sockets:
            listener.setblocking(False)
            self.selector.register(listener, selectors.EVENT_READ, None)
        # Signals write to this pipe (signal.set_wakeup_fd), so a TERM ends the wait at once.
        self.selector.register(self.PIPE[0], selectors.EVENT_READ, _WAKEUP)
        try:
            while self.alive:
                self.notify()
                if self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    break
                self._turn()
        finally:
            for connection in list(self.idle):
                self._close(connection)
            self.selector.close()

    def _turn(self):
        try:
            events = self.selector.select(self._wait_seconds())
        except InterruptedError:
            return
        ready, accepted = [], False
        for key, _ in events:
            if key.data is _WAKEUP:
                _drain(self.PIPE[0])
            elif key.data is None:
                if not accepted:
                    accepted = self._accept(key.fileobj)
            else:
                ready.append(key.data)
        for connection in ready:
            if connection not in self.idle:
                continue  # closed to make room while an earlier one was served
            self._unwatch(connection)
            self._serve(connection)
        self._expire_idle()

    def _wait_seconds(self):
        if not self.idle:
            return 1.0
        oldest = next(iter(self.idle))
        return max(0.0, min(1.0, oldest.idle_until - time.monotonic()))

    def _accept(self, listener):
        try:
            client, addr = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return False  # another worker took it
        util.close_on_exec(client)
        # Served once its first bytes arrive: a client that connects and sends nothing (a browser's
        # preconnect) must not hold up the worker.
        # A timeout makes the socket non-blocking for the selector and bounds each read of a request.
        client.settimeout(READ_TIMEOUT)
        self._watch(_Connection(client, addr, listener))
        return True

    def _watch(self, connection):
        while len(self.idle) >= max(1, self.cfg.worker_connections):
            self._close(next(iter(self.idle)))
        connection.idle_until = time.monotonic() + self.cfg.keepalive
        self.idle[connection] = True
        self.selector.register(connection.sock, selectors.EVENT_READ, connection)

    def _unwatch(self, connection):
        self.selector.unregister(connection.sock)
        self.idle.pop(connection, None)

    def _expire_idle(self):
        now = time.monotonic()
        while self.idle:
            oldest = next(iter(self.idle))
            if oldest.idle_until > now:
                return
            self._close(oldest)

    def _close(self, connection):
        if connection in self.idle:
            self._unwatch(connection)
        util.close(connection.sock)

    def _serve(self, connection):
        """Answer the request that is ready (and any pipelined behind it); keep or close the connection."""
        while self._serve_one(connection):
            if not connection.parser.unreader.buf.getbuffer().nbytes:
                self._watch(connection)
                return
        util.close_graceful(connection.sock)

    def _serve_one(self, connection):
        """Read and answer one request; True when the connection can carry another."""
        req = None
        try:
            if connection.parser is None:
                if self.cfg.is_ssl:
                    connection.sock = sock.ssl_wrap_socket(connection.sock, self.cfg)
                connection.parser = http.get_parser(self.cfg, connection.sock, connection.addr)
            req = next(connection.parser)
            if not self._handle_request(connection, req):
                return False
            # A body the application left unread would look like the next request: drain it, or close.
            return connection.parser.finish_body(deadline=time.monotonic() + READ_TIMEOUT)
        except http.errors.NoMoreData as exc:
            self.log.debug("Ignored premature client disconnection. %s", exc)
        except StopIteration as exc:
            self.log.debug("Closing connection. %s", exc)
        except socket.timeout:
            self.log.debug("Closing connection: the client stalled for %s s", READ_TIMEOUT)
        except ssl.SSLError as exc:
            if exc.args[0] != ssl.SSL_ERROR_EOF:
                self.handle_error(req, connection.sock, connection.addr, exc)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.exception("Socket error processing request.")
        except BaseException as exc:
            self.handle_error(req, connection.sock, connection.addr, exc)
        return False

    def _handle_request(self, connection, req):
        """The sync worker's request handling, deciding keep-alive instead of always closing."""
        environ = {}
        resp = None
        try:
            self.cfg.pre_request(self, req)
            request_start = datetime.now()
            resp, environ = wsgi.create(req, connection.sock, connection.addr,
                                        connection.listener.getsockname(), self.cfg)
            connection.served += 1
            self.nr += 1
            if self.nr >= self.max_requests:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            if not self.alive or not self.cfg.keepalive or connection.served >= REQUESTS_PER_CONNECTION:
                resp.force_close()
            respiter = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(respiter, environ["wsgi.file_wrapper"]):
                    resp.write_file(respiter)
                else:
                    for item in respiter:
                        resp.write(item)
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - request_start)
                if hasattr(respiter, "close"):
                    respiter.close()
            return not resp.should_close()
        except OSError:
            util.reraise(*sys.exc_info())
        except (Exception, SystemExit):
            if resp and resp.headers_sent:
                # The response has started: a 500 written now would corrupt it; end the connection.
                self.log.exception("Error handling request")
                raise StopIteration()
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")
