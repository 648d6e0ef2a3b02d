"""How fast the collector may send: a smooth per-process limiter, or one budget per host.

TMDB limits requests per client IP address (about 40-50 per second), not per
process. Collectors that run side by side on one host (the two splits of a date,
several dates of a backfill, any other TMDB task) therefore share one budget.
:class:`HostRateLimiter` keeps that budget in a small file that every process
and container on the host opens from the same directory (a Docker volume or a
bind-mounted host directory, ``TMDB_RATE_LIMIT_DIR``): the file holds the next
time a request may be sent, and each caller, under ``flock``, takes that slot
and moves it on by ``1/rate``. This is GCRA without a burst allowance: the host
as a whole sends at most ``rate`` requests per second, evenly spaced, and a
collector running alone gets the whole rate.

:class:`RateLimiter` is the same schedule inside one process, used when no
directory is configured.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tmdb_mlops.errors import ConfigError

#: A stored next-send time further ahead than this is stale (a clock step, or a
#: file left from another boot): legitimate reservations never reach that far
#: unless thousands of requests are queued at once.
STALE_AHEAD_SECONDS = 300.0

_RECORD = 32  # bytes read back; a record is 25: "%024.6f\n"


class Limiter(Protocol):
    """What the TMDB client needs from a limiter."""

    interval: float

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the slot's time on the limiter's clock."""
        ...


class RateLimiter:
    """Spaces requests at most ``rate`` per second across threads, without bursts.

    Each caller reserves the next free slot and sleeps until it; a smooth
    schedule keeps a server-side per-second limit from ever seeing a burst.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the slot's time on the limiter's clock."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
        return slot


def budget_file(directory: str | Path, key: str) -> Path:
    """The state file of one API host's budget: ``<directory>/<host>_<port>.next``.

    One file per API host, because the limit is per (client IP, server): a test
    sandbox on another port never shares TMDB's budget.
    """
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", key).strip("._") or "tmdb"
    return Path(directory) / f"{safe}.next"


class HostRateLimiter:
    """At most ``rate`` requests per second from every process sharing ``directory``.

    The state is one number, the next send time on the wall clock (the one clock
    every container on a host shares), in a file locked with ``flock`` for each
    reservation. Threads of one process take a lock first (``flock`` does not
    separate threads sharing a descriptor); a forked child opens its own
    descriptor. A caller that dies holding a reservation only wastes its slot,
    and the kernel drops its lock. Unreadable or stale state restarts the
    schedule at "now", so a corrupt file cannot stall the host.

    Raises:
        ConfigError: the directory cannot be created or the file cannot be opened.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        rate: float,
        key: str = "tmdb",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.path = budget_file(directory, key)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        with self._lock:
            self._descriptor()  # fail now, with the directory named, not at the first request

    def _descriptor(self) -> int:
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise ConfigError(
                f"TMDB_RATE_LIMIT_DIR: cannot use {self.path} ({exc.strerror or exc})"
            ) from None
        # Collectors running as other users share the same budget; a file created
        # by another user cannot be changed, and is already shared.
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o666)
        self._fd, self._pid = fd, os.getpid()
        return fd

    def _reserve(self) -> tuple[float, float]:
        """Take the next slot under both locks; returns (now, slot)."""
        with self._lock:
            fd = self._descriptor()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    now = self._clock()
                    stored = _parse(os.pread(fd, _RECORD, 0))
                    if stored is None or stored > now + STALE_AHEAD_SECONDS:
                        stored = now
                    slot = max(now, stored)
                    os.pwrite(fd, b"%024.6f\n" % (slot + self.interval), 0)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError as exc:  # the volume went away, a full disk: one line, not a traceback
                raise ConfigError(
                    f"TMDB_RATE_LIMIT_DIR: cannot use {self.path} ({exc.strerror or exc})"
                ) from None
        return now, slot

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the slot's time (seconds since the epoch)."""
        now, slot = self._reserve()
        if slot > now:
            self._sleep(slot - now)
        return slot

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


def _parse(record: bytes) -> float | None:
    try:
        value = float(record.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return value if math.isfinite(value) else None
