"""SIGINT (Ctrl-C) and SIGTERM in the Python tools (standard library only).

A tool ends by the signal, exit status 128 + signal in a shell, as a C++
program of ganforge does: no KeyboardInterrupt traceback from wherever the
signal lands, and no temporary of a write in progress left on the disk.
Shared by tools/convert_weights.py (write_atomic), tools/golden_io.py
(write_atomically, the golden-data scripts), bench/bench_json.py and
scripts/fashion_mnist_zip.py; exclusive_temporary makes their temporaries.
"""
import os
import secrets
import signal
import sys
import threading


def die_by_signals():
    """For a program (not an importer): SIGINT and SIGTERM end the process at
    once by their default action, with no traceback wherever they land
    (importing PyTorch, computing); only removed_on_signal catches them, to
    remove a temporary first. Python's KeyboardInterrupt would print a
    traceback from wherever it is raised. A signal the process ignores
    (nohup, a background job's SIGINT) stays ignored. Called first, before
    the heavy imports."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(sig, signal.SIG_DFL)


def die_of(sig):
    """Ends the process by sig with its default action, as if never caught (exit status 128 + sig in a shell)."""
    try:
        sys.stdout.flush()
    except OSError:  # a closed pipe: what it held is lost either way
        pass
    signal.signal(sig, signal.SIG_DFL)
    signal.raise_signal(sig)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})  # held (called where it is blocked): delivered here
    os._exit(128 + sig)  # not reached: the default action of SIGINT and SIGTERM ends the process


# The temporaries on the disk while removed_on_signal is entered;
# _remove_temporaries_and_die removes them. Only the main thread changes it,
# and a Python signal handler runs in the main thread between two bytecodes,
# never inside a set update.
_TEMPORARIES = set()


def _remove_temporaries_and_die(sig, frame):
    """SIGINT or SIGTERM while a temporary exists: remove it, then end by the
    signal. Raising instead (KeyboardInterrupt) would print a traceback, or
    leave the temporary, where it landed outside the writer's try (as the
    handler is installed) or inside the except that cleans up."""
    for tmp in list(_TEMPORARIES):
        try:
            os.unlink(tmp)
        except OSError:  # not made yet, or already renamed
            pass
    die_of(sig)


class removed_on_signal:
    """While it is entered, SIGINT and SIGTERM remove tmp and end the process
    (die_of), where their action is the default (die_by_signals sets it); a
    handler of the caller's (an importer's KeyboardInterrupt) stays, and the
    writer's own except removes tmp then.
        with removed_on_signal(tmp):
            try: write tmp, rename it
            except BaseException: remove tmp, raise"""

    def __init__(self, tmp):
        self.tmp, self.installed = tmp, []

    def __enter__(self):
        _TEMPORARIES.add(self.tmp)  # before the handler: it may run at once
        if threading.current_thread() is threading.main_thread():  # signal.signal works there only
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) == signal.SIG_DFL:
                    signal.signal(sig, _remove_temporaries_and_die)
                    self.installed.append(sig)
        return self

    def __exit__(self, *exc):
        # Blocked while the default action comes back: pthread_sigmask first
        # runs a handler already due (it ends the process), and a signal that
        # arrives meanwhile waits and ends the process, by default, at the unblock.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            for sig in self.installed:
                signal.signal(sig, signal.SIG_DFL)
            _TEMPORARIES.discard(self.tmp)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return False


class exclusive_temporary(removed_on_signal):
    """removed_on_signal over a temporary it makes beside path: the file
    <path>.<pid>.tmp, created exclusively (O_EXCL), or where that name exists,
    <path>.<pid>-<8 hex digits>.tmp. The process id alone kept writers apart
    only within one PID namespace: two containers on one volume share ids,
    and opening the name truncated the other's file (as
    engine/io/atomic_file.h). Entering gives the temporary's name, an empty
    file the writer opens, renames, or removes on failure; an exception that
    leaves the block (a KeyboardInterrupt before the writer's try) removes
    it too, as one raised while entering does.
        with exclusive_temporary(path) as tmp:
            try: write tmp, rename it
            except BaseException: remove tmp, raise"""

    def __init__(self, path):
        super().__init__(None)
        self.path = path

    def __enter__(self):
        # Held while the file is made and registered: a signal between the two
        # would leave it behind.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        self.tmp = None
        try:
            for attempt in range(17):
                tmp = f"{self.path}.{os.getpid()}{'-' + secrets.token_hex(4) if attempt else ''}.tmp"
                try:
                    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))
                    self.tmp = tmp
                    break
                except FileExistsError:  # another writer's: never opened, never removed here
                    if attempt == 16:
                        raise
            super().__enter__()
            # The held signal comes here: a KeyboardInterrupt (an importer's
            # handler) raised while entering is cleaned up below, since
            # __exit__ never runs for it.
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            return self.tmp
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            super().__exit__(None, None, None)  # the default actions back, where installed
            self._remove_own()
            raise

    def __exit__(self, exc_type, *rest):
        super().__exit__(exc_type, *rest)
        if exc_type is not None:
            self._remove_own()
        return False

    def _remove_own(self):
        _TEMPORARIES.discard(self.tmp)
        if self.tmp is not None and os.path.exists(self.tmp):
            os.remove(self.tmp)
