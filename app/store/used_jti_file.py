"""Used JWT ids of a SQLite database, kept in a file beside it that every process of the host maps.

A SQLite database serves one host (its WAL index is shared memory), so every worker that can accept
a DPoP proof or a client assertion for it maps `<database>-used-jti`. Accepting a jti is then one
flock and a look at one bucket of that file instead of a write transaction, the one write those
requests had to wait for. What is written is at once visible to every process mapping the file; it
survives a crash or restart of the service (the kernel holds the pages), but, like SQLite's own last
commits under synchronous=normal, not necessarily a power cut of the host.

Layout: a 4 KiB header, then BUCKETS buckets of SLOTS slots of 24 bytes (16 bytes of SHA-256 of kind
and jti, then the time it expires, little-endian int64). Slot 0 of a bucket instead holds until when
the used_jti table holds ids of that bucket: a bucket with no free slot sends the id to the table,
and from then until the id expires every id of that bucket is checked in the table as well, so no
id is ever looked for in one place while it sits in the other.
"""

import fcntl
import hashlib
import logging
import mmap
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
# A header byte set once any slot was written: clear() has nothing to do for a file never written.
_WRITTEN = len(MAGIC)
_INT64 = struct.Struct("<q")
_EXPIRIES = struct.Struct("<" + "16xq" * (SLOTS - 1))

_log = logging.getLogger("app.store.used_jti_file")


class UsedJtiFile:
    """use_once(kind, jti, expires_at, now): True the first time, False for a replay, None: ask the table."""

    def __init__(self, path):
        self.path = path
        self._local = threading.local()

    def _state(self):
        state = self._local
        # One open file per thread and process: flock excludes other open files, not other holders of the
        # same one, so a descriptor inherited across fork or shared by threads would not exclude.
        if getattr(state, "pid", None) != os.getpid():
            state.pid = os.getpid()
            state.fd = state.map = None
            try:
                state.fd, state.map = _open(self.path)
            except OSError as exc:
                _log.warning("used JWT ids go to the used_jti table: %s: %s", self.path, exc)
        return state

    def use_once(self, kind, jti, expires_at, now):
        state = self._state()
        if state.map is None:
            return None
        bucket_index, key = bucket_of(kind, jti)
        base = HEADER_SIZE + bucket_index * BUCKET_SIZE
        mapping = state.map
        fcntl.flock(state.fd, fcntl.LOCK_EX)
        try:
            bucket = mapping[base:base + BUCKET_SIZE]
            expiries = _EXPIRIES.unpack_from(bucket, SLOT_SIZE)
            match = _slot_of(bucket, key)
            if match is not None and expiries[match - 1] >= now:
                return False
            free = match if match is not None else next(
                (slot for slot, expires in enumerate(expiries, 1) if expires < now), None)
            in_table_until = _INT64.unpack_from(bucket, 0)[0]
            if free is not None and in_table_until < now:
                offset = base + free * SLOT_SIZE
                mapping[offset:offset + SLOT_SIZE] = key + _INT64.pack(int(expires_at))
                if not mapping[_WRITTEN]:
                    mapping[_WRITTEN] = 1
                return True
            if expires_at > in_table_until:
                _INT64.pack_into(mapping, base, int(expires_at))
            return None
        finally:
            fcntl.flock(state.fd, fcntl.LOCK_UN)

    def clear(self):
        """Forget every id (tests, between cases)."""
        state = self._state()
        if state.map is not None:
            fcntl.flock(state.fd, fcntl.LOCK_EX)
            try:
                if state.map[_WRITTEN]:
                    state.map[HEADER_SIZE:] = bytes(FILE_SIZE - HEADER_SIZE)
                    state.map[_WRITTEN] = 0
            finally:
                fcntl.flock(state.fd, fcntl.LOCK_UN)


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
    """(descriptor, mapping) of the file, made on first use; OSError when it is not one of ours."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size < FILE_SIZE and os.pread(fd, len(MAGIC), 0) in (b"", MAGIC):
                # New (or its making was cut short). Written out, not left sparse: a first write into a hole
                # of the mapping costs a block allocation inside the request that makes it.
                zeros = bytes(1 << 20)
                for offset in range(HEADER_SIZE, FILE_SIZE, len(zeros)):
                    os.pwrite(fd, zeros, offset)
                os.pwrite(fd, MAGIC, 0)
            elif size != FILE_SIZE or os.pread(fd, len(MAGIC), 0) != MAGIC:
                raise OSError(f"not a used-jti file of this version ({size} bytes)")
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        # Mapped in full at once: no page fault inside a request later.
        return fd, mmap.mmap(fd, FILE_SIZE, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))
    except BaseException:
        os.close(fd)
        raise
