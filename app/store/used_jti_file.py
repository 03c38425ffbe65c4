"""Used JWT ids of a SQLite database, kept in a file beside it that every process of the host shares.

A SQLite database serves one host (its WAL index is shared memory), so every worker that can accept
a DPoP proof or a client assertion for it opens `<database>-used-jti`. Accepting a jti is then one
flock, a pread of one bucket and a pwrite of one slot instead of a write transaction, the one write
those requests had to wait for. What is written is at once visible to every process (the page cache
is shared); it survives a crash or restart of the service, but, like SQLite's own last commits under
synchronous=normal, not necessarily a power cut of the host.

Layout: a 4 KiB header, then BUCKETS buckets of SLOTS slots of 24 bytes (16 bytes of SHA-256 of kind
and jti, then the time it expires, little-endian int64). Slot 0 of a bucket instead holds until when
the used_jti table holds ids of that bucket: a bucket with no free slot sends the id to the table,
and from then until the id expires every id of that bucket is checked in the table as well, so no
id is ever looked for in one place while it sits in the other.
"""

import fcntl
import hashlib
import logging
import os
import struct
import threading

MAGIC = b"OAUTHJTI\x01\x00\x00\x00"
BUCKETS = 1 << 16
SLOTS = 16
SLOT_SIZE = 24
KEY_SIZE = 16
BUCKET_SIZE = SLOTS * SLOT_SIZE
HEADER_SIZE = 4096
FILE_SIZE = HEADER_SIZE + BUCKETS * BUCKET_SIZE  # 24 MiB: about 500,000 live ids before buckets start to fill
_INT64 = struct.Struct("<q")
_EXPIRIES = struct.Struct("<" + "16xq" * (SLOTS - 1))

_log = logging.getLogger("app.store.used_jti_file")


class UsedJtiFile:
    """use_once(kind, jti, expires_at, now): True the first time, False for a replay, None: ask the table.

    pread and pwrite, not a mapping: a write to a shared mapping of a page the kernel has just
    written back faults, inside the request, to mark it dirty again.
    """

    def __init__(self, path):
        self.path = path
        self._local = threading.local()

    def _state(self):
        state = self._local
        # One open file per thread and process: flock excludes other open files, not other holders of the
        # same one, so a descriptor inherited across fork or shared by threads would not exclude.
        if getattr(state, "pid", None) != os.getpid():
            state.pid = os.getpid()
            state.fd = None
            try:
                state.fd = _open(self.path)
            except OSError as exc:
                _log.warning("used JWT ids go to the used_jti table: %s: %s", self.path, exc)
        return state

    def use_once(self, kind, jti, expires_at, now):
        fd = self._state().fd
        if fd is None:
            return None
        bucket_index, key = bucket_of(kind, jti)
        base = HEADER_SIZE + bucket_index * BUCKET_SIZE
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            bucket = os.pread(fd, BUCKET_SIZE, base)
            if len(bucket) != BUCKET_SIZE:
                return None  # cut short behind our back: the table is still right
            expiries = _EXPIRIES.unpack_from(bucket, SLOT_SIZE)
            match = _slot_of(bucket, key)
            if match is not None and expiries[match - 1] >= now:
                return False
            free = match if match is not None else next(
                (slot for slot, expires in enumerate(expiries, 1) if expires < now), None)
            in_table_until = _INT64.unpack_from(bucket, 0)[0]
            if free is not None and in_table_until < now:
                os.pwrite(fd, key + _INT64.pack(int(expires_at)), base + free * SLOT_SIZE)
                return True
            if expires_at > in_table_until:
                os.pwrite(fd, _INT64.pack(int(expires_at)), base)
            return None
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def clear(self):
        """Forget every id (tests, between cases): the buckets become holes in the file again."""
        fd = self._state().fd
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                os.ftruncate(fd, HEADER_SIZE)
                os.ftruncate(fd, FILE_SIZE)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


def bucket_of(kind, jti):
    """(bucket, key) of an id: where it is looked for."""
    digest = hashlib.sha256(f"{kind}\0{jti}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[KEY_SIZE:KEY_SIZE + 4], "little") % BUCKETS, digest[:KEY_SIZE]


def _slot_of(bucket, key):
    """The slot (1..SLOTS-1) whose key is `key`, or None; a match must start on a slot's boundary."""
    index = bucket.find(key, SLOT_SIZE)
    while index >= 0:
        if index % SLOT_SIZE == 0:
            return index // SLOT_SIZE
        index = bucket.find(key, index + 1)
    return None


def _open(path):
    """The file's descriptor, made on first use; OSError when it is not one of ours."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size < FILE_SIZE and os.pread(fd, len(MAGIC), 0) in (b"", MAGIC):
                # New, or its making was cut short. Sparse: a page takes disk space once an id lands in it.
                os.pwrite(fd, MAGIC, 0)
                os.ftruncate(fd, FILE_SIZE)
            elif size != FILE_SIZE or os.pread(fd, len(MAGIC), 0) != MAGIC:
                raise OSError(f"not a used-jti file of this version ({size} bytes)")
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return fd
    except BaseException:
        os.close(fd)
        raise
