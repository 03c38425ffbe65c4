"""A per-process cache of decoded clients on PostgreSQL, emptied by the database's own change notifications.

Reading a client on PostgreSQL is a round trip on every client-authenticated request (measured: ~160 µs of worker
CPU inside a request, plus ~50 µs of the database's); on SQLite it costs ~10 µs, so SQLite has no cache.
Migration 0012 makes every UPDATE, DELETE or TRUNCATE of `application`, whoever makes it, send its client_id on
CHANNEL when it commits. One listener thread per process holds its own connection, LISTENs, and drops each
client named.

What keeps an entry from being stale:
- entries are served only while the listener is listening and nothing has reached its socket unprocessed;
  otherwise (an outage of the listener's connection, a reconnect, notifications being read) every lookup reads
  the database, and a lost connection empties the cache;
- a row read from the database is kept only if no notification, disconnect or reconnect came in between the
  lookup's start and its store (a generation counter), so a row read just before a change cannot outlive it;
- every entry also expires after ENTRY_TTL, in case a notification is ever lost.
"""

import logging
import os
import select
import socket
import threading
import time
import weakref
from collections import OrderedDict

log = logging.getLogger("app.client_cache")

CHANNEL = "platform_oauth_client_changed"
# The payload that stands for every client (a TRUNCATE; a client_id too long for a payload).
EVERYTHING = "*"
# A safety net only: a notification drops an entry within milliseconds of the commit. This bounds how long a
# notification lost to a bug could leave a changed client served, at the price of one read per client per
# process every few seconds.
ENTRY_TTL = 5.0
MAX_ENTRIES = 4096
# How long the listener waits before connecting again after a failure.
RETRY_INTERVAL = 1.0
# Without the trigger of migration 0012 (not applied yet, dropped or disabled) no change would be announced.
_TRIGGER_ENABLED = ("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('application')"
                    " AND tgname = 'application_changed' AND tgenabled <> 'D')")


class ClientCache:
    """Clients by client_id for one process, served only while the database's change notifications are heard."""

    def __init__(self, connect, *, monotonic=time.monotonic):
        """connect: () -> a new autocommit psycopg connection to the service's database, for the listener."""
        self._connect = connect
        self._entries = _Entries(monotonic)
        self._listener = None
        self._listener_pid = None
        self._start_lock = threading.Lock()

    def find(self, client_id, read):
        """The cached client, or read() (the database's Client or None), kept when it may be."""
        if self._listener_pid != os.getpid():
            self._start_listener()
        return self._entries.find(client_id, read)

    @property
    def listening(self):
        """True while entries may be served (tests and diagnostics)."""
        return self._entries.listening

    @property
    def notifications(self):
        """How many change notifications this process has processed (tests and diagnostics)."""
        return self._entries.notifications

    @property
    def listener_backend_pid(self):
        """The PostgreSQL backend pid of the listener's connection while it is connected, else None."""
        return self._listener.backend_pid if self._listener is not None else None

    def close(self):
        """Stop this process's listener and close its connection; lookups read the database from then on."""
        if self._listener is not None:
            self._listener.stop()

    def _start_listener(self):
        # One listener per process, started lazily: gunicorn forks its workers after the app may have been
        # created, and a thread does not survive a fork. A forked child forgets what its parent cached.
        with self._start_lock:
            if self._listener_pid == os.getpid():
                return
            self._entries.reset()
            self._listener = _Listener(self._entries, self._connect)
            self._listener_pid = os.getpid()
            # Stops the thread when the cache is dropped (tests build many apps) and closes its connection at exit.
            weakref.finalize(self, self._listener.stop)
            self._listener.start()


class _Entries:
    """The entries, the generation counter and the listener's state, behind one lock."""

    def __init__(self, monotonic):
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._entries = OrderedDict()  # client_id -> (Client, expires_at), least recently used first
        self._generation = 0  # changes with every notification, disconnect and reconnect
        self._socket_poll = None  # a poll object on the listening connection's socket, None while not listening
        self._draining = False  # the listener is reading notifications that are not processed yet
        self.notifications = 0

    @property
    def listening(self):
        return self._socket_poll is not None

    def reset(self):
        with self._lock:
            self._entries.clear()
            self._generation += 1
            self._socket_poll = None
            self._draining = False

    def find(self, client_id, read):
        now = self._monotonic()
        with self._lock:
            usable = self._usable()
            if usable:
                entry = self._entries.get(client_id)
                if entry is not None and now < entry[1]:
                    self._entries.move_to_end(client_id)
                    return entry[0]
            generation = self._generation
        client = read()
        # Only clients are kept: an unknown client_id always asks the database.
        if usable and client is not None:
            with self._lock:
                if generation == self._generation:
                    self._entries[client_id] = (client, now + ENTRY_TTL)
                    self._entries.move_to_end(client_id)
                    if len(self._entries) > MAX_ENTRIES:
                        self._entries.popitem(last=False)
        return client

    def _usable(self):
        # A readable socket holds a notification (or the connection's end) that the listener has not read yet.
        return self._socket_poll is not None and not self._draining and not self._socket_poll.poll(0)

    def listening_on(self, fileno):
        poll = select.poll()
        poll.register(fileno, select.POLLIN)
        with self._lock:
            self._generation += 1
            self._socket_poll = poll

    def not_listening(self):
        with self._lock:
            self._entries.clear()
            self._generation += 1
            self._socket_poll = None
            self._draining = False

    def draining(self, draining):
        with self._lock:
            self._draining = draining

    def invalidate(self, client_id):
        with self._lock:
            self._generation += 1
            self.notifications += 1
            if client_id == EVERYTHING:
                self._entries.clear()
            else:
                self._entries.pop(client_id, None)


class _Listener:
    """The thread that LISTENs on its own connection and hands each notification to the entries.

    It holds no reference to the ClientCache, so a cache nobody uses any more can be collected and stop it.
    """

    def __init__(self, entries, connect):
        self._entries = entries
        self._connect = connect
        self._pid = os.getpid()
        self._stopping = threading.Event()
        # stop() wakes the thread out of its wait on the connection through this pair.
        self._wake_receive, self._wake_send = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="client-cache-listener", daemon=True)
        self._outage = False
        self.backend_pid = None

    def start(self):
        self._thread.start()

    def stop(self):
        # Only in the process that started the thread: a forked child's copy must not wake its parent's.
        if self._pid != os.getpid() or self._stopping.is_set():
            return
        self._stopping.set()
        try:
            self._wake_send.send(b"x")
        except OSError:
            pass  # the thread has ended and closed the pair
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)

    def _run(self):
        # Anything other than a connection failure ends the thread with its traceback; the cache then stays
        # off in this process (lookups read the database), which is safe.
        import psycopg  # the postgres extra: this thread only runs on PostgreSQL

        try:
            while not self._stopping.is_set():
                try:
                    self._listen()
                except (psycopg.Error, OSError, _Unannounced) as exc:
                    if not self._outage and not self._stopping.is_set():
                        log.warning("client cache off (every lookup reads the database) until its listener "
                                    "reconnects: %s", _first_line(exc))
                        self._outage = True
                self._stopping.wait(RETRY_INTERVAL)
        finally:
            self._wake_receive.close()
            self._wake_send.close()

    def _listen(self):
        """Connect, LISTEN and process notifications until stopped; raises when the connection fails."""
        connection = self._connect()
        try:
            if connection.info.server_version >= 140000:
                # A listener is idle by design: a server-wide idle_session_timeout would end it again and again.
                connection.execute("SET idle_session_timeout = 0")
            connection.execute(f"LISTEN {CHANNEL}")
            if not connection.execute(_TRIGGER_ENABLED).fetchone()[0]:
                raise _Unannounced("application has no enabled change trigger (migration 0012)")
            self.backend_pid = connection.info.backend_pid
            waiting = select.poll()
            waiting.register(connection.fileno(), select.POLLIN)
            waiting.register(self._wake_receive.fileno(), select.POLLIN)
            if self._outage:
                log.info("client cache on again: its listener hears client changes")
                self._outage = False
            self._entries.listening_on(connection.fileno())
            while not self._stopping.is_set():
                waiting.poll()
                if self._stopping.is_set():
                    break
                self._entries.draining(True)
                for notification in connection.notifies(timeout=0):
                    self._entries.invalidate(notification.payload)
                self._entries.draining(False)
        finally:
            # Stop serving before the socket closes, so no lookup polls a closed (or reused) descriptor.
            self._entries.not_listening()
            self.backend_pid = None
            connection.close()


class _Unannounced(Exception):
    """Changes to clients would not be announced, so the cache must stay off."""


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
