"""Load generators for bench/run.py: wrk when it is installed, else a Python one. Both report the same figures.

A scenario's load is described by a LoadSpec: one HTTP request, sent back to back on N connections for a
bounded time. Its body is either fixed, or built from a pool of items (refresh tokens, device codes):

- feed "static": the same request every time;
- feed "cycle": each connection goes round its own slice of the pool (device polling: with a pool large
  enough, each device code comes back no sooner than pool/rate seconds);
- feed "chain": each connection presents the refresh token the previous response rotated to it, and takes
  a fresh one from its slice of the pool when a response carried none;
- feed "once": each connection uses each item of its slice once, in the header named by `item_header`
  (DPoP proofs: a fresh one per request); a connection whose slice runs out sends "exhausted" (an error).

Responses are classified per scenario (`classify`): "ok200" (200 is success), "device" (a 400 with
authorization_pending or slow_down is the expected answer and is counted as a note, not an error),
"password" (200 with the signed-in page) and "refresh" (200 carrying a new refresh token).

The figures are measured by the load process: requests completed, elapsed time, latency percentiles
(from sending the request, or opening the connection when one is needed, to the last byte of the
response), errors, notes, and a few error samples.
"""

import json
import multiprocessing
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 10
_REFRESH_TOKEN = re.compile(rb'"refresh_token"\s*:\s*"([^"]+)"')
PENDING = b'"authorization_pending"'
SLOW_DOWN = b'"slow_down"'
SIGNED_IN = b"You are signed in"  # templates/signed_in.html


@dataclass
class LoadSpec:
    name: str
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: bytes | None = None           # feed "static"
    body_template: str | None = None    # feed "cycle"/"chain": "{item}" is replaced by a pool item
    items: list = field(default_factory=list)
    feed: str = "static"                # static | cycle | chain | once
    item_header: str | None = None      # feed "once": the header each item goes into (the body is `body`)
    classify: str = "ok200"             # ok200 | device | password | refresh

    def body_for(self, item):
        return self.body_template.replace("{item}", item).encode("utf-8")


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


# --- the Python load generator ---------------------------------------------------------------------


class _Stats:
    def __init__(self):
        self.latencies = []
        self.ok = 0
        self.errors = 0
        self.pending = 0
        self.slow_down = 0
        self.connects = 0
        self.samples = []

    def error(self, text):
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(text)


def _request_bytes(spec, port, body, item=None):
    lines = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in spec.headers.items()]
    if item is not None:
        lines.append(f"{spec.item_header}: {item}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def _read_response(sock):
    """(status, body, keep_alive) of one HTTP/1.x response with a Content-Length (or ended by close)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response headers")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status_line = lines[0]
    status = int(status_line.split(b" ", 2)[1])
    length = connection = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            connection = value.strip().lower()
    # HTTP/1.1 keeps the connection unless told "close"; HTTP/1.0 only when told "keep-alive".
    keep_alive = connection != b"close" if status_line.startswith(b"HTTP/1.1") else connection == b"keep-alive"
    if length is None:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return status, rest, False
            rest += chunk
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed in the middle of the response body")
        rest += chunk
    return status, rest[:length], keep_alive


def _classify(spec, status, body, stats, chain):
    if spec.classify == "ok200":
        if status == 200:
            stats.ok += 1
        else:
            stats.error(f"HTTP {status}: {body[:120]!r}")
    elif spec.classify == "device":
        if status == 400 and PENDING in body:
            stats.pending += 1
        elif status == 400 and SLOW_DOWN in body:
            stats.slow_down += 1
        else:
            stats.error(f"HTTP {status}: {body[:120]!r}")
    elif spec.classify == "password":
        if status == 200 and SIGNED_IN in body:
            stats.ok += 1
        else:
            stats.error(f"HTTP {status}: not signed in")
    elif spec.classify == "refresh":
        match = _REFRESH_TOKEN.search(body) if status == 200 else None
        if match:
            stats.ok += 1
            chain.append(match.group(1).decode("ascii"))
        else:
            stats.error(f"HTTP {status}: {body[:120]!r}")


def _drive(spec, port, items, deadline, stats):
    """One connection's loop: send requests back to back until the deadline."""
    static = _request_bytes(spec, port, spec.body) if spec.feed == "static" else None
    chain = [items[0]] if spec.feed == "chain" and items else []
    reserve = list(reversed(items[1:] if spec.feed == "chain" else items)) if spec.feed in ("chain", "once") else []
    position = 0
    sock = None
    while time.monotonic() < deadline:
        if static is not None:
            request = static
        elif spec.feed == "cycle":
            request = _request_bytes(spec, port, spec.body_for(items[position % len(items)]))
            position += 1
        elif spec.feed == "once":
            request = _request_bytes(spec, port, spec.body, reserve.pop() if reserve else "exhausted")
        else:
            item = chain.pop() if chain else (reserve.pop() if reserve else "exhausted")
            request = _request_bytes(spec, port, spec.body_for(item))
        started = time.perf_counter()
        reused = sock is not None
        try:
            if sock is None:
                sock = socket.create_connection((HOST, port), timeout=REQUEST_TIMEOUT_S)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                stats.connects += 1
            sock.sendall(request)
            status, body, keep_alive = _read_response(sock)
        except (OSError, ValueError, IndexError) as exc:
            if sock is not None:
                sock.close()
                sock = None
            if reused:
                # The server closed a kept-alive connection: not an error, resend on a new one.
                if spec.feed == "chain":
                    chain.append(item)
                continue
            stats.error(f"{type(exc).__name__}: {exc}")
            time.sleep(0.01)
            continue
        stats.latencies.append(time.perf_counter() - started)
        _classify(spec, status, body, stats, chain)
        if not keep_alive:
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


def _process_main(spec, port, duration, slices, barrier, results):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends this process
    all_stats = [_Stats() for _ in slices]
    barrier.wait()
    started = time.perf_counter()
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=_drive, args=(spec, port, items, deadline, stats), daemon=True)
               for items, stats in zip(slices, all_stats)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put({
        "elapsed": time.perf_counter() - started,
        "latencies": [lat for stats in all_stats for lat in stats.latencies],
        "ok": sum(s.ok for s in all_stats),
        "errors": sum(s.errors for s in all_stats),
        "pending": sum(s.pending for s in all_stats),
        "slow_down": sum(s.slow_down for s in all_stats),
        "connects": sum(s.connects for s in all_stats),
        "samples": [text for s in all_stats for text in s.samples][:5],
    })


def run_python(spec, port, duration, connections, processes, on_start):
    """Drive the load from `processes` processes × threads (one connection per thread).

    on_start() is called once every process is ready, just before they start; it returns nothing.
    """
    processes = max(1, min(processes, connections))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    slices = [spec.items[i::connections] if spec.feed != "static" else [] for i in range(connections)]
    groups = [slices[i::processes] for i in range(processes)]
    workers = [context.Process(target=_process_main, args=(spec, port, duration, group, barrier, results),
                               daemon=True) for group in groups]
    for worker in workers:
        worker.start()
    try:
        barrier.wait(timeout=120)
        on_start()
        parts = [results.get(timeout=duration + 3 * REQUEST_TIMEOUT_S + 30) for _ in workers]
    except (threading.BrokenBarrierError, queue.Empty):
        raise RuntimeError("the Python load processes did not start or did not report in time") from None
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
                worker.join()
    latencies = sorted(lat for part in parts for lat in part["latencies"])
    return {
        "tool": f"python ({processes} processes x threads)",
        "requests": len(latencies),
        "elapsed": max(part["elapsed"] for part in parts),
        "p50_ms": _ms(percentile(latencies, 0.50)),
        "p99_ms": _ms(percentile(latencies, 0.99)),
        "errors": sum(part["errors"] for part in parts),
        "pending": sum(part["pending"] for part in parts),
        "slow_down": sum(part["slow_down"] for part in parts),
        "samples": [text for part in parts for text in part["samples"]][:5],
    }


def _ms(seconds):
    return None if seconds is None else seconds * 1000


# --- wrk ---------------------------------------------------------------------------------------------


def lua_string(text):
    """A Lua string literal of any text (decimal escapes for everything but plain printable ASCII)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


_LUA = r"""-- Written by bench/run.py for the scenario __NAME__ (wrk 4 with LuaJIT).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

wrk.method = __METHOD__
wrk.path = __PATH__
wrk.headers = __HEADERS__
wrk.body = __BODY__

local FEED = __FEED__
local CLASSIFY = __CLASSIFY__
local DATAFILE = __DATAFILE__
local NTHREADS = __NTHREADS__
local PER_THREAD = __PER_THREAD__
local PREFIX = __PREFIX__
local SUFFIX = __SUFFIX__
local ITEM_HEADER = __ITEM_HEADER__

n_ok, n_errors, n_pending, n_slow = 0, 0, 0, 0
local items, queue = {}, {}
local position = 0

function init(args)
  if FEED == "static" then return end
  local index = 0
  -- feed "once": each request is formatted here, before the load, so that sending one costs wrk no more
  -- than a static request does (formatting per request took wrk's CPU from the server's two cores).
  local headers = {}
  if FEED == "once" then
    for name, value in pairs(wrk.headers) do headers[name] = value end
  end
  for line in io.lines(DATAFILE) do
    if index % NTHREADS == tid then
      if FEED == "once" then
        headers[ITEM_HEADER] = line
        line = wrk.format(nil, nil, headers, wrk.body)
      end
      table.insert(items, line)
    end
    index = index + 1
  end
  if FEED == "chain" then
    -- One token per connection of this thread starts a chain; the rest is the reserve.
    for _ = 1, PER_THREAD do table.insert(queue, table.remove(items)) end
  end
end

if FEED ~= "static" then
  function request()
    local item
    if FEED == "cycle" then
      position = position % #items + 1
      item = items[position]
    elseif FEED == "once" then
      -- A request formatted by init, its item (a DPoP proof) in its header; used once.
      local formatted = table.remove(items)
      if formatted then return formatted end
      local headers = {}
      for name, value in pairs(wrk.headers) do headers[name] = value end
      headers[ITEM_HEADER] = "exhausted"
      return wrk.format(nil, nil, headers, wrk.body)
    else
      item = table.remove(queue) or table.remove(items) or "exhausted"
    end
    return wrk.format(nil, nil, nil, PREFIX .. item .. SUFFIX)
  end
end

if CLASSIFY ~= "ok200" then
  function response(status, headers, body)
    if CLASSIFY == "device" then
      if status == 400 and string.find(body, '"authorization_pending"', 1, true) then
        n_pending = n_pending + 1
      elseif status == 400 and string.find(body, '"slow_down"', 1, true) then
        n_slow = n_slow + 1
      else
        n_errors = n_errors + 1
      end
    elseif CLASSIFY == "password" then
      if status == 200 and string.find(body, "You are signed in", 1, true) then
        n_ok = n_ok + 1
      else
        n_errors = n_errors + 1
      end
    elseif CLASSIFY == "refresh" then
      local token = status == 200 and string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
      if token then
        n_ok = n_ok + 1
        table.insert(queue, token)
      else
        n_errors = n_errors + 1
      end
    end
  end
end

function done(summary, latency, requests)
  local ok, errors, pending, slow = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("n_ok")
    errors = errors + thread:get("n_errors")
    pending = pending + thread:get("n_pending")
    slow = slow + thread:get("n_slow")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "classified_errors": %d,'
    .. ' "pending": %d, "slow_down": %d, "connect": %d, "read": %d, "write": %d, "status": %d,'
    .. ' "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50.0), latency:percentile(99.0), errors,
    pending, slow, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_script(spec, datafile, threads, per_thread):
    prefix, _, suffix = (spec.body_template or "").partition("{item}")
    headers = "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in spec.headers.items()) + "}"
    values = {
        "__NAME__": spec.name,
        "__METHOD__": lua_string(spec.method),
        "__PATH__": lua_string(spec.path),
        "__HEADERS__": headers,
        "__BODY__": lua_string(spec.body.decode("utf-8")) if spec.body is not None else "nil",
        "__FEED__": lua_string(spec.feed),
        "__CLASSIFY__": lua_string(spec.classify),
        "__DATAFILE__": lua_string(str(datafile)),
        "__NTHREADS__": str(threads),
        "__PER_THREAD__": str(per_thread),
        "__PREFIX__": lua_string(prefix),
        "__SUFFIX__": lua_string(suffix),
        "__ITEM_HEADER__": lua_string(spec.item_header) if spec.item_header else "nil",
    }
    script = _LUA
    for key, value in values.items():
        script = script.replace(key, value)
    return script


def run_wrk(spec, port, duration, connections, threads, workdir, on_start):
    """Drive the load with wrk (whole seconds); on_start() is called just before wrk starts."""
    threads = max(1, min(threads, connections))
    seconds = max(1, round(duration))
    workdir = Path(workdir)
    datafile = workdir / f"{spec.name}.items"
    datafile.write_text("".join(item + "\n" for item in spec.items))
    script = workdir / f"{spec.name}.lua"
    script.write_text(wrk_script(spec, datafile, threads, connections // threads))
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout",
               f"{REQUEST_TIMEOUT_S}s", "-s", str(script), f"http://{HOST}:{port}{spec.path}"]
    on_start()
    # Own session, so that on any failure the whole wrk process can be killed.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=seconds + 2 * REQUEST_TIMEOUT_S + 30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    line = next((text for text in out.splitlines() if text.startswith("WRKJSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {process.returncode}): {(err or out).strip()[-500:]}")
    figures = json.loads(line[len("WRKJSON "):])
    transport = figures["connect"] + figures["read"] + figures["write"] + figures["timeout"]
    # Without a response() classifier wrk counts every status above 399 as an error.
    classified = figures["classified_errors"] if spec.classify != "ok200" else figures["status"]
    counted = ("connect", "read", "write", "timeout") + (("status",) if spec.classify == "ok200" else ())
    samples = [f"wrk: {name} errors {figures[name]}" for name in counted if figures[name]]
    if figures["classified_errors"] and spec.classify != "ok200":
        samples.append(f"wrk: {figures['classified_errors']} responses not as expected ({spec.classify})")
    return {
        "tool": f"wrk ({threads} threads)",
        "requests": figures["requests"],
        "elapsed": figures["duration_us"] / 1e6,
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "errors": transport + classified,
        "pending": figures["pending"],
        "slow_down": figures["slow_down"],
        "samples": samples,
    }


def cpu_count():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
