"""Exit promptly and cleanly when the terminal goes away, or on SIGTERM.

When the SSH session running postaltop drops, the kernel hangs up the terminal: reads return EOF, writes fail
with EIO, and the session leader gets SIGHUP. A TUI that ignores this keeps running detached, often spinning a
core on its EOF-returning input. :func:`install_hangup_handler` makes every such path end the process:

* SIGHUP / SIGTERM ask the app to exit (``exit_callback``, e.g. Textual's ``app.exit``) on its event loop;
* a watchdog thread ``os._exit``\\ s if the app has not exited within ``grace`` seconds (a wedged loop, or a
  shutdown that blocks on the dead terminal) and a second signal exits at once;
* a light watcher thread notices a hung-up terminal even when no SIGHUP arrives (postaltop not the session
  leader nor in the foreground process group), by polling ``tcgetattr`` (EIO once the terminal is gone);
* once the terminal is gone, stdout/stderr are pointed at /dev/null so the shutdown cannot fail on EIO.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import termios
import threading
from collections.abc import Callable
from types import FrameType

HANGUP_GRACE_SECONDS = 2.0
"""How long the app gets to exit by itself after a hangup or SIGTERM before the process is ended hard."""

TERMINAL_POLL_SECONDS = 0.5
"""How often the watcher checks that the terminal still exists (one cheap ioctl per check)."""

_LOST_OUTPUT_ERRNOS = frozenset({errno.EIO, errno.EPIPE})
_received_signal: int | None = None


def received_signal() -> int | None:
    """The signal that ended the run (SIGHUP also stands for "terminal lost"), or None."""
    return _received_signal


def is_lost_output_error(exc: BaseException) -> bool:
    """True for the errors a write raises when the terminal or the reading pipe is gone (EIO, EPIPE)."""
    return isinstance(exc, OSError) and exc.errno in _LOST_OUTPUT_ERRNOS


def silence_output() -> None:
    """Point stdout and stderr at /dev/null so that pending and later writes (and flushes at exit) succeed."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            os.dup2(devnull, fd)
    os.close(devnull)


def terminal_is_gone(fd: int) -> bool:
    """True when ``fd`` was a terminal that has been hung up (tcgetattr fails with EIO)."""
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return bool(exc.args) and exc.args[0] == errno.EIO
    except OSError as exc:
        return exc.errno == errno.EIO
    return False


class HangupGuard:
    """The installed handlers; :meth:`close` restores the previous ones (tests, or a clean exit)."""

    def __init__(
        self,
        exit_callback: Callable[[], object],
        grace: float,
        loop: asyncio.AbstractEventLoop | None,
        watch_fd: int | None,
    ) -> None:
        self._exit_callback = exit_callback
        self._grace = grace
        self._loop = loop
        self._tty_fds = [fd for fd in (0, 1, 2) if _isatty(fd)]
        self._triggered = False
        self._stop = threading.Event()
        self._watchdog: threading.Timer | None = None
        self._previous: dict[int, object] = {}
        self.received: int | None = None
        """The signal that triggered the exit (SIGHUP when the watcher found the terminal gone)."""
        for signum in (signal.SIGHUP, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._on_signal)
            except ValueError:
                # Not the main thread (an app run from a test's worker thread): Python delivers signals to
                # the main thread only, so only the terminal watcher can help here.
                break
        self._watcher: threading.Thread | None = None
        if watch_fd is not None:
            self._watcher = threading.Thread(
                target=self._watch_terminal, args=(watch_fd,), name="postaltop-terminal-watch", daemon=True
            )
            self._watcher.start()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._triggered:
            # Asked twice: the user (or init) insists, do not wait for the grace period.
            os._exit(128 + signum)
        self.trigger(signum)

    def trigger(self, signum: int) -> None:
        """Start the exit: silence a dead terminal, arm the watchdog, ask the app to exit."""
        global _received_signal
        if self._triggered:
            return
        self._triggered = True
        self.received = _received_signal = signum
        if any(terminal_is_gone(fd) for fd in self._tty_fds):
            silence_output()
        self._watchdog = threading.Timer(self._grace, os._exit, args=(128 + signum,))
        self._watchdog.daemon = True
        self._watchdog.start()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._run_exit_callback, signum)
                return
            except RuntimeError:
                pass  # the loop closed in between: call directly below
        self._run_exit_callback(signum)

    def _run_exit_callback(self, signum: int) -> None:
        try:
            self._exit_callback()
        except BaseException:
            # Nothing else will end the process if asking the app failed.
            os._exit(128 + signum)

    def _watch_terminal(self, fd: int) -> None:
        while not self._stop.wait(TERMINAL_POLL_SECONDS):
            if terminal_is_gone(fd):
                self.trigger(signal.SIGHUP)
                return

    def close(self, *, cancel_watchdog: bool = False) -> None:
        """Restore the previous signal handlers and stop the watcher.

        Args:
            cancel_watchdog: also disarm a watchdog started by a signal. Off by default: after a hangup the
                app's own shutdown may still block on the dead terminal, and the watchdog is what ends that.
        """
        self._stop.set()
        if cancel_watchdog and self._watchdog is not None:
            self._watchdog.cancel()
        for signum, previous in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, previous)  # type: ignore[arg-type]


def install_hangup_handler(
    exit_callback: Callable[[], object],
    *,
    grace: float = HANGUP_GRACE_SECONDS,
    loop: asyncio.AbstractEventLoop | None = None,
    watch_fd: int | str | None = "auto",
) -> HangupGuard:
    """Make SIGHUP, SIGTERM and a lost terminal end the process promptly.

    Must be called from the main thread (Python only delivers signals there).

    Args:
        exit_callback: asks the app to exit (e.g. Textual's ``app.exit``); it runs on ``loop``.
        grace: seconds to wait for the app to exit before ``os._exit(128 + signal)`` (129 for SIGHUP).
        loop: the event loop to run the callback on; default the running loop, if any.
        watch_fd: terminal fd to watch for a hangup without SIGHUP; ``"auto"`` picks the first of
            stdin/stdout/stderr that is a terminal, None disables the watcher.

    Returns:
        The guard; call ``close()`` to uninstall.
    """
    if loop is None:
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
    fd: int | None
    if watch_fd == "auto":
        fd = next((candidate for candidate in (0, 1, 2) if _isatty(candidate)), None)
    else:
        fd = watch_fd if isinstance(watch_fd, int) else None
    return HangupGuard(exit_callback, grace, loop, fd)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
