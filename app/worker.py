"""A gunicorn worker: one request at a time like the sync worker, but HTTP/1.1 connections stay open.

The sync worker closes every connection after its response, so each request pays a TCP handshake, a
graceful close and the client's reconnect; on a small JSON endpoint that is most of the cost. This
worker keeps connections in a selector and serves whichever has a complete request, one request at
a time in the worker's only thread (no thread pool, no GIL hand-offs), so its CPU profile stays the
sync worker's. Gunicorn's `keepalive` seconds bound how long an idle connection is kept and
`worker_connections` how many: when a worker holds that many connections it closes the one waiting
longest (HTTP/1.1 lets a server close an idle connection at any time), so idle or slow clients can
never keep new ones out.

Slow clients never hold the worker: the bytes of a request are collected into the connection's
buffer as they arrive, and the request is handed to gunicorn's parser and the application only
once its head and its body (up to BODY_BUFFER_LIMIT bytes) are complete. A connection whose request
is not complete REQUEST_TIMEOUT seconds after its first byte is dropped. (With gunicorn's own TLS
the bytes cannot be inspected before the handshake, so there the request is read as it comes,
bounded by the same deadline; TLS belongs to nginx in front.) Once complete, a plain request is read
straight from the buffer (app/http_request.py), any other by gunicorn's parser as before; and each
response leaves in one write instead of one per piece gunicorn writes (_CorkedSocket).

Connections stick to the worker that accepted them. Two things keep the workers evenly loaded: a
worker accepts at most one new connection per turn of its loop, so a burst of connections is shared
between workers; and each connection is closed after REQUESTS_PER_CONNECTION requests (like nginx's
keepalive_requests), so any drift is undone as clients reconnect.

A graceful exit (SIGTERM, or the old workers of a SIGHUP reload) loses no request: the worker takes
the connections already queued on the listening socket and then closes its copy of it, answers
every request that arrives with `Connection: close`, closes a kept-alive connection only after it
has been quiet for QUIET_SECONDS (a proxy reusing it at that instant is the one race left, and it
needs a request to cross the close), and ends every connection with a lingering close (FIN, then
reading until the client closes) so that no unread byte turns into a reset.
"""

import errno
import os
import re
import selectors
import socket
import ssl
import sys
import time
from datetime import datetime

from gunicorn import http, sock, util
from gunicorn.http import wsgi
from gunicorn.workers import base

from app.http_request import RequestReader

REQUESTS_PER_CONNECTION = 100
# A request must be complete (head and body) within this many seconds of its first byte.
REQUEST_TIMEOUT = float(os.environ.get("GUNICORN_REQUEST_TIMEOUT", "10"))
# Bodies up to this size are buffered before dispatch; a larger one is refused by the application
# (its limit is 64 KiB) without being read.
BODY_BUFFER_LIMIT = 1024 * 1024
# A response is sent in one piece once complete, or as soon as this much of it is pending.
CORK_LIMIT = 64 * 1024
# On a graceful exit, a kept-alive connection is closed once it has been quiet this long.
QUIET_SECONDS = 1.0
# After the last response, wait this long for the client to close before closing anyway.
LINGER_SECONDS = 2.0
# Headers a request may carry once: a repeated one makes it ambiguous (which Host? which body
# type?), so it gets a 400. gunicorn 26 refuses these itself; 24 and 25 do not.
_ONCE = frozenset(("HOST", "CONTENT-TYPE", "CONTENT-LENGTH"))
_WAKEUP = object()
_LISTENER = object()
_FRAMING = re.compile(rb"\n(content-length|transfer-encoding|expect)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
# What a connection's buffer holds: a whole request; the start of one; a request to answer whose
# body is too large to buffer (the connection closes after the answer, its body never read).
_READY, _WAIT, _OVERSIZED = "ready", "wait", "oversized"


def _drain(fd):
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


class _Connection:
    __slots__ = ("sock", "addr", "server", "parser", "served", "buffer", "state", "expires", "quiet_since",
                 "continued", "last")

    def __init__(self, sock_, addr, server):
        self.sock = sock_
        self.addr = addr
        self.server = server  # the listening address, for the WSGI environ
        self.parser = None
        self.served = 0
        self.buffer = bytearray()
        self.state = None  # "idle", "partial" or "linger" while in the selector; None while served
        self.expires = 0.0
        self.quiet_since = 0.0
        self.continued = False
        self.last = False  # close after this request (its body was not buffered)


class _BufferedSource:
    """What gunicorn's parser reads: the connection's buffered bytes, then the socket itself.

    The socket is read only when the buffer is empty (a request whose end could not be recognised
    in advance, or gunicorn's own TLS), and never past the request's deadline.
    """

    def __init__(self, connection):
        self.connection = connection

    def recv(self, size):
        connection = self.connection
        if connection.buffer:
            data = bytes(connection.buffer[:size])
            del connection.buffer[:size]
            return data
        remaining = connection.expires - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("the request was not complete within its deadline")
        connection.sock.settimeout(remaining)
        try:
            return connection.sock.recv(size)
        finally:
            connection.sock.settimeout(REQUEST_TIMEOUT)


def request_status(buffer, max_head):
    """_READY when `buffer` holds a whole request (or one the parser must refuse), _OVERSIZED when
    the head is complete and the body too large to buffer, else _WAIT.

    Also returns whether the client waits for "100 Continue" before sending its body.
    """
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        if len(buffer) > max_head or buffer.find(b"\n\n") >= 0:
            return _READY, False  # the parser answers 431 / 400
        return _WAIT, False
    head = bytes(buffer[:head_end + 2])
    length, chunked, expect = 0, False, False
    for name, value in _FRAMING.findall(head):
        name = name.lower()
        if name == b"content-length":
            if not value.strip().isdigit() or length:
                return _READY, False  # malformed or repeated: the parser answers 400
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
        else:
            expect = value.strip().lower() == b"100-continue"
    body = len(buffer) - head_end - 4
    if length > BODY_BUFFER_LIMIT or (chunked and body >= BODY_BUFFER_LIMIT):
        return _OVERSIZED, False
    if chunked:
        # Complete when the body ends with the last chunk (and its trailers): an early guess only
        # makes the parser read the rest from the socket, bounded by the deadline.
        complete = length > 0 or buffer.endswith(b"0\r\n\r\n") or (body > 0 and buffer.endswith(b"\r\n\r\n"))
    else:
        complete = body >= length
    return (_READY if complete else _WAIT), expect and not complete


def _has_bytes(sock_):
    """Whether the client has sent bytes not yet read (without waiting or consuming them)."""
    timeout = sock_.gettimeout()
    sock_.setblocking(False)
    try:
        return bool(sock_.recv(1, socket.MSG_PEEK))
    except OSError:  # BlockingIOError: nothing there
        return False
    finally:
        sock_.settimeout(timeout)


class _CorkedSocket:
    """The socket gunicorn's Response writes to: its sendall() calls are collected and sent as one.

    gunicorn writes a response's head and each piece of its body with a sendall() of its own, each a
    syscall and a TCP segment. Here they go out together when the worker calls flush() (the response
    is complete) or once more than CORK_LIMIT bytes are pending. Anything else asked of the socket
    (sendfile, send, ...) first sends what is pending, so the bytes keep their order.
    """

    __slots__ = ("sock", "pending", "size", "sent")

    def __init__(self, sock_):
        self.sock = sock_
        self.pending = []
        self.size = 0
        self.sent = False  # whether any byte of the response has gone out

    def sendall(self, data):
        self.pending.append(data)
        self.size += len(data)
        if self.size > CORK_LIMIT:
            self.flush()

    def flush(self):
        if self.pending:
            data = b"".join(self.pending)
            self.discard()
            self.sent = True
            self.sock.sendall(data)

    def discard(self):
        self.pending = []
        self.size = 0

    def sendfile(self, *args, **kwargs):
        self.flush()
        return self.sock.sendfile(*args, **kwargs)

    def __getattr__(self, name):
        self.flush()
        return getattr(self.sock, name)


def _snapshot_settings(cfg):
    """Make each gunicorn setting a plain attribute of `cfg`.

    Config.__getattr__ looks a setting up (settings[name].get()) on every read, and a request reads
    a couple of dozen. A worker's settings no longer change once it has forked, so it reads each one
    once. Config.__setattr__ refuses setting names, hence object.__setattr__; names that Config
    itself defines (properties such as sendfile or worker_class) keep their own code.
    """
    for name, setting in cfg.settings.items():
        if not hasattr(type(cfg), name):
            object.__setattr__(cfg, name, setting.get())


def _refuse_repeated_headers(req):
    seen = set()
    for name, _ in req.headers:
        if name in _ONCE:
            if name in seen:
                raise http.errors.InvalidHeader(name, req=req)
            seen.add(name)


class KeepAliveWorker(base.Worker):
    def init_process(self):
        _snapshot_settings(self.cfg)
        # Plain requests are read from the buffer; the others, and all of them where that cannot be
        # done, by gunicorn's parser.
        self.read_request = RequestReader(self.cfg).read_request if RequestReader.usable(self.cfg) else None
        self.selector = selectors.DefaultSelector()
        # Connections in the selector by state, each dict oldest first (dicts keep insertion order),
        # and all of one state share one timeout, so the first entry always expires first.
        self.waiting = {"idle": {}, "partial": {}, "linger": {}}
        self.exiting = False
        self.names = {}
        cfg = self.cfg
        fields = cfg.limit_request_fields or 32768
        self.max_head = (cfg.limit_request_line or 8190) + fields * ((cfg.limit_request_field_size or 8190) + 2) + 4
        super().init_process()

    # -- the loop -----------------------------------------------------------------------------

    def run(self):
        for listener in self.sockets:
            listener.setblocking(False)
            self.names[listener] = listener.getsockname()
            self.selector.register(listener, selectors.EVENT_READ, _LISTENER)
        # Signals write to this pipe (signal.set_wakeup_fd), so a TERM ends the wait at once.
        self.selector.register(self.PIPE[0], selectors.EVENT_READ, _WAKEUP)
        try:
            while self.alive:
                self.notify()
                if self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    return
                self._turn()
            self._finish()
        finally:
            for state in self.waiting.values():
                for connection in list(state):
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
            elif key.data is _LISTENER:
                if not accepted:
                    accepted = self._accept(key.fileobj) is not None
            else:
                ready.append(key.data)
        for connection in ready:
            if connection.state is not None:  # not closed to make room while an earlier one was served
                try:
                    self._readable(connection)
                except Exception:  # a bug here must cost one connection, not the worker
                    self.log.exception("Error serving a connection")
                    self._close(connection)
        self._expire()

    def _wait_seconds(self):
        wait = 1.0
        now = time.monotonic()
        for state in self.waiting.values():
            if state:
                wait = min(wait, next(iter(state)).expires - now)
        if self.exiting and self.waiting["idle"]:
            wait = min(wait, 0.05)
        return max(0.0, wait)

    def _expire(self):
        now = time.monotonic()
        for name, state in self.waiting.items():
            while state:
                oldest = next(iter(state))
                if oldest.expires > now:
                    break
                if name == "partial":
                    self.log.debug("Closing connection: its request was not complete within %s s", REQUEST_TIMEOUT)
                self._close(oldest)
        if self.exiting:
            for connection in list(self.waiting["idle"]):
                # A request that arrived since the select is served (with Connection: close) next turn.
                if now - connection.quiet_since >= QUIET_SECONDS and not _has_bytes(connection.sock):
                    self._end(connection)

    # -- graceful exit ------------------------------------------------------------------------

    def _finish(self):
        """Stop accepting, answer what was sent, and end every connection without a reset."""
        self.exiting = True
        deadline = time.monotonic() + max(1.0, self.cfg.graceful_timeout - 1.0)
        for listener in self.sockets:
            self.selector.unregister(listener)
            # Connections the kernel has already queued would be reset when the last copy of the
            # listening socket closes: take them first.
            while self._accept(listener) is not None:
                pass
            util.close(listener)
        while any(self.waiting.values()) and time.monotonic() < deadline:
            self.notify()
            self._turn()

    # -- connections --------------------------------------------------------------------------

    def _accept(self, listener):
        try:
            client, addr = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return None  # another worker took it
        except OSError:
            return None
        util.close_on_exec(client)
        # Timeout mode: non-blocking for the selector, bounded writes and (TLS) reads.
        client.settimeout(REQUEST_TIMEOUT)
        connection = _Connection(client, addr, self.names[listener])
        self._wait(connection, "idle")
        return connection

    def _wait(self, connection, state):
        """Put the connection in the selector: idle, with a partial request, or lingering."""
        total = sum(len(s) for s in self.waiting.values())
        while total >= max(1, self.cfg.worker_connections):
            oldest = min((next(iter(s)) for s in self.waiting.values() if s), key=lambda c: c.expires)
            self._close(oldest)
            total -= 1
        now = time.monotonic()
        if state == "idle":
            connection.expires = now + self.cfg.keepalive
            connection.quiet_since = now
        elif state == "partial":
            connection.expires = now + REQUEST_TIMEOUT
        else:
            connection.expires = now + LINGER_SECONDS
        connection.state = state
        self.waiting[state][connection] = True
        self.selector.register(connection.sock, selectors.EVENT_READ, connection)

    def _unwait(self, connection):
        if connection.state is not None:
            self.selector.unregister(connection.sock)
            del self.waiting[connection.state][connection]
            connection.state = None

    def _close(self, connection):
        self._unwait(connection)
        util.close(connection.sock)

    def _end(self, connection):
        """A lingering close: FIN now, then read (and discard) until the client closes, so no reset."""
        self._unwait(connection)
        try:
            connection.sock.shutdown(socket.SHUT_WR)
        except OSError:
            util.close(connection.sock)
            return
        connection.buffer = bytearray()
        self._wait(connection, "linger")

    def _readable(self, connection):
        state = connection.state
        if state == "linger":
            if not self._receive(connection) or len(connection.buffer) > 65536:
                self._close(connection)
            else:
                connection.buffer = bytearray()
            return
        if self.cfg.is_ssl:
            self._unwait(connection)
            self._serve(connection)
            return
        if not self._receive(connection):
            self._close(connection)
            return
        status, expect = request_status(connection.buffer, self.max_head)
        if status is not _WAIT:
            connection.last = status is _OVERSIZED
            self._unwait(connection)
            self._serve(connection)
        elif state == "idle":
            self._unwait(connection)
            self._wait(connection, "partial")  # the request's deadline starts with its first byte
        if expect and not connection.continued:
            connection.continued = True
            try:
                connection.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                self._close(connection)

    def _receive(self, connection):
        """Append what the socket has to the buffer; False when the client closed or failed."""
        try:
            data = connection.sock.recv(65536)
        except (BlockingIOError, InterruptedError, socket.timeout):
            return True
        except OSError:
            return False
        connection.buffer += data
        return bool(data)

    # -- requests -----------------------------------------------------------------------------

    def _serve(self, connection):
        """Answer the complete request (and any complete one pipelined behind it); keep or end the connection."""
        connection.expires = time.monotonic() + REQUEST_TIMEOUT
        while self._serve_one(connection):
            connection.continued = False
            if connection.parser is not None:  # None while every request was read from the buffer
                leftover = connection.parser.unreader.buf
                if leftover.getbuffer().nbytes:
                    connection.buffer[:0] = leftover.getvalue()
                    leftover.seek(0)
                    leftover.truncate()
            if not connection.buffer:
                self._wait(connection, "idle")
                return
            status = request_status(connection.buffer, self.max_head)[0]
            if status is _WAIT:
                self._wait(connection, "partial")
                return
            connection.last = status is _OVERSIZED
            connection.expires = time.monotonic() + REQUEST_TIMEOUT
        self._end(connection)

    def _serve_one(self, connection):
        """Read and answer one request; True when the connection can carry another."""
        req = None
        try:
            if self.read_request is not None:
                # Takes the request, body and all, off the buffer; None leaves the buffer as it was.
                req = self.read_request(connection.buffer, connection.addr)
                if req is not None:
                    return self._handle_request(connection, req) and not connection.last
            if connection.parser is None:
                if self.cfg.is_ssl:
                    connection.sock = sock.ssl_wrap_socket(connection.sock, self.cfg)
                connection.parser = http.get_parser(self.cfg, _BufferedSource(connection), connection.addr)
            req = next(connection.parser)
            _refuse_repeated_headers(req)
            if not self._handle_request(connection, req) or connection.last:
                return False
            # A body the application left unread would look like the next request: drain it from the
            # buffer. (gunicorn 24 and 25 return None, later ones False when it could not be drained.)
            return connection.parser.finish_body() is not False
        except http.errors.NoMoreData as exc:
            self.log.debug("Ignored premature client disconnection. %s", exc)
        except StopIteration as exc:
            self.log.debug("Closing connection. %s", exc)
        except socket.timeout:
            self.log.debug("Closing connection: the request was not complete within %s s", REQUEST_TIMEOUT)
        except ssl.SSLError as exc:
            if exc.args[0] != ssl.SSL_ERROR_EOF:
                self._answer_error(req, connection, exc)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.exception("Socket error processing request.")
        except Exception as exc:
            self._answer_error(req, connection, exc)
        return False

    def _answer_error(self, req, connection, exc):
        """gunicorn's error answer (400 for malformed framing); a failure in it must not end the worker."""
        try:
            self.handle_error(req, connection.sock, connection.addr, exc)
        except Exception:
            self.log.exception("Error while answering a failed request")

    def _handle_request(self, connection, req):
        """The sync worker's request handling, deciding keep-alive instead of always closing."""
        environ = {}
        resp = None
        out = _CorkedSocket(connection.sock)
        try:
            self.cfg.pre_request(self, req)
            request_start = datetime.now()
            resp, environ = wsgi.create(req, out, connection.addr, connection.server, self.cfg)
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
                out.flush()
            finally:
                self.log.access(resp, req, environ, datetime.now() - request_start)
                if hasattr(respiter, "close"):
                    respiter.close()
            return not resp.should_close()
        except OSError:
            util.reraise(*sys.exc_info())
        except (Exception, SystemExit):
            if out.sent:
                # Part of the response is on the wire: a 500 written now would corrupt it; end the connection.
                self.log.exception("Error handling request")
                raise StopIteration()
            # Nothing of it left: the unfinished response is dropped and gunicorn's error answer sent instead.
            out.discard()
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")
