"""For the Python tests that signal a child process and expect it to end as a
program started from a terminal ends: the child's SIGINT and SIGTERM at their
default actions and unblocked. The test process may have them otherwise (a
background job of a non-interactive shell ignores SIGINT; a runner may block
signals), and exec keeps an ignored or blocked signal so, which the programs
respect (tools/interrupts.py leaves an ignored signal ignored): the child
would then never see the signal the test sends. The shell tests start their
programs with `env --default-signal` for the same reason; the C++ tests' forked
children reset their handlers, and gf_tests unblocks the signals at its start.
Under ctest the test process itself starts with every signal at its default
and unblocked; run by hand, it has its shell's state."""
import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def as_a_program_starts():
    """subprocess's preexec_fn: runs in the child between fork and exec."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(SIGNALS))
