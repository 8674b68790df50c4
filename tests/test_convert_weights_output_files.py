#!/usr/bin/env python3
"""tools/convert_weights.py: the output file: its folder made at the write, and write_atomic interrupted
by a signal or writing through pipes, links and descriptors.
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing."""
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # convert_weights_fixture
# First: it exits 77 when torch or NumPy is missing, and puts tools/, tools/reference/ and
# tools/fixtures/ on sys.path.
from convert_weights_fixture import SCRIPT, TOOLS, run_here  # noqa: E402
import convert_weights as cw  # noqa: E402
from program_signals import as_a_program_starts  # noqa: E402


class OutputFolderTest(unittest.TestCase):
    """DST in a folder that does not exist yet is written there, as every
    program makes its output's folder; a file in the way is one line."""

    def test_output_folder_made(self):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "parity_32x1.bin")
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "new", "sub", "state.pt")
            r = run_here("export", src, out)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertTrue(os.path.isfile(out))
            with open(os.path.join(d, "file"), "w") as f:
                f.write("in the way")
            bad = os.path.join(d, "file", "state.pt")
            # Refused by the script before NumPy and PyTorch load: run as a process.
            r = subprocess.run([sys.executable, SCRIPT, "export", src, bad], capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr, f"convert_weights: error: {bad}: cannot make its folder {os.path.join(d, 'file')}: "
                                       "Not a directory\n")
            # A folder as DST, with or without its '/': named as a folder, before any work.
            for folder in (d, d + "/"):
                r = subprocess.run([sys.executable, SCRIPT, "export", src, folder], capture_output=True, text=True,
                                   timeout=300)
                self.assertEqual((r.returncode, r.stderr), (1, f"convert_weights: error: {folder}: is a folder; give the "
                                                               f"output's file name (as {os.path.join(folder, 'out.bin')})\n"))

    def test_refused_run_leaves_no_folder(self):
        # SRC missing: refused after DST's checks, before any write; DST's new
        # folder is made only at the write, so none is left.
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "new", "sub", "state.pt")
            r = run_here("export", os.path.join(d, "missing.bin"), out)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "new")))


class InterruptedWriteTest(unittest.TestCase):
    """A SIGINT (Ctrl-C) or SIGTERM while write_atomic writes: the process dies of
    that signal, no temporary is left and the earlier file is whole."""

    # One process imports convert_weights (NumPy, PyTorch: seconds) once, then
    # forks a process per case, which runs the code as `python3 -c CODE TOOLS
    # ARGS...` would from there: an exception it leaves (KeyboardInterrupt,
    # SystemExit) ends that process at the interpreter's top level, as in a
    # fresh one. Prints the exit statuses, as subprocess gives them.
    SERVER = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
import convert_weights  # noqa: F401  (the slow import, once for all cases)
code, cases, err, statuses = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], []
for i, args in enumerate(cases):
    pid = os.fork()
    if pid == 0:
        fd = os.open(f"{err}.{i}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
        sys.argv = ["-c", sys.argv[1], *args]
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        break  # the code ran to its end: exit 0, as a -c script
    statuses.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
else:
    print(json.dumps(statuses))
"""

    def run_cases(self, code, cases):
        """[(exit status, stderr)] of `python3 -c code TOOLS *args` for each args in cases."""
        with tempfile.TemporaryDirectory() as d:
            err = os.path.join(d, "stderr")
            r = subprocess.run([sys.executable, "-c", self.SERVER, TOOLS, code, json.dumps(cases), err],
                               capture_output=True, text=True, timeout=120 + 30 * len(cases),
                               preexec_fn=as_a_program_starts)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            statuses = json.loads(r.stdout)
            self.assertEqual(len(statuses), len(cases))
            stderrs = []
            for i in range(len(cases)):
                with open(f"{err}.{i}") as f:
                    stderrs.append(f.read())
            return list(zip(statuses, stderrs))

    CHILD = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import convert_weights as cw
def chunks():
    yield b"x" * 65536
    assert os.path.exists(f"{sys.argv[2]}.{os.getpid()}.tmp")
    os.kill(os.getpid(), int(sys.argv[3]))
    signal.pause()
    yield b"y"
cw.write_atomic(sys.argv[2], chunks())
sys.exit(2)  # the signal did not end the process
"""

    def test_signal_mid_write(self):
        import signal
        sigs = (signal.SIGINT, signal.SIGTERM)
        with tempfile.TemporaryDirectory() as d:
            folders = [os.path.join(d, str(int(sig))) for sig in sigs]
            for folder in folders:
                os.mkdir(folder)
                with open(os.path.join(folder, "net.bin"), "wb") as f:
                    f.write(b"the earlier complete file")
            results = self.run_cases(self.CHILD, [[os.path.join(folder, "net.bin"), str(int(sig))]
                                                  for folder, sig in zip(folders, sigs)])
            for folder, sig, (status, stderr) in zip(folders, sigs, results):
                self.assertEqual(status, -sig, stderr)
                self.assertEqual(sorted(os.listdir(folder)), ["net.bin"])
                with open(os.path.join(folder, "net.bin"), "rb") as f:
                    self.assertEqual(f.read(), b"the earlier complete file")

    # As the program runs (die_by_signals first), with the signal sent where
    # a raised KeyboardInterrupt or SIGTERM exception once escaped: just as
    # write_atomic installs its handler (before its try), and while the
    # except of a failed write removes the temporary (which stayed).
    WINDOW = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import convert_weights as cw
cw.die_by_signals()
sig, where = int(sys.argv[3]), sys.argv[4]
if where == "install":
    real_signal = signal.signal
    def hooked(s, h):
        old = real_signal(s, h)
        if s == sig and callable(h):
            os.kill(os.getpid(), sig)
        return old
    signal.signal = hooked
    chunks = [b"new"]
else:
    def failing():
        yield b"x" * 65536
        raise OSError(28, "No space left on device")
    real_remove = os.remove
    def remove(p):
        os.kill(os.getpid(), sig)
        real_remove(p)
    os.remove = remove
    chunks = failing()
cw.write_atomic(sys.argv[2], chunks)
sys.exit(2)  # the signal did not end the process
"""

    def test_signal_as_handler_goes_in_or_during_cleanup(self):
        import signal
        cases = [(where, sig) for where in ("install", "cleanup") for sig in (signal.SIGINT, signal.SIGTERM)]
        with tempfile.TemporaryDirectory() as d:
            folders = [os.path.join(d, str(i)) for i in range(len(cases))]
            for folder in folders:
                os.mkdir(folder)
                with open(os.path.join(folder, "net.bin"), "wb") as f:
                    f.write(b"the earlier complete file")
            results = self.run_cases(self.WINDOW, [[os.path.join(folder, "net.bin"), str(int(sig)), where]
                                                   for folder, (where, sig) in zip(folders, cases)])
            for folder, (where, sig), result in zip(folders, cases, results):
                with self.subTest(where=where, sig=sig):
                    self.assertEqual(result, (-sig, ""))
                    self.assertEqual(sorted(os.listdir(folder)), ["net.bin"])
                    with open(os.path.join(folder, "net.bin"), "rb") as f:
                        self.assertEqual(f.read(), b"the earlier complete file")

    def test_signal_while_importing_torch(self):
        # Ctrl-C while `import torch` runs (seconds on a cold disk) printed
        # KeyboardInterrupt's traceback. A stand-in torch package, found
        # first, sends the signal from inside the import.
        import signal
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "torch"))
            with open(os.path.join(d, "torch", "__init__.py"), "w") as f:
                f.write("import os, signal, sys\nos.kill(os.getpid(), int(os.environ['SIG']))\n"
                        "signal.pause()\nsys.exit(2)\n")
            src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "parity_32x1.bin")
            out = os.path.join(d, "out", "state.pt")
            for sig in (signal.SIGINT, signal.SIGTERM):
                env = dict(os.environ, PYTHONPATH=d, SIG=str(int(sig)))
                r = subprocess.run([sys.executable, SCRIPT, "export", src, out], env=env,
                                   capture_output=True, text=True, timeout=120, preexec_fn=as_a_program_starts)
                self.assertEqual((r.returncode, r.stderr, r.stdout), (-sig, "", ""))
                self.assertFalse(os.path.exists(out))

    def test_pipe_in_place_and_link_kept(self):
        # A rename over a device or pipe would replace the node (as root, export to
        # /dev/null made it a regular file); a FIFO stands in for the device here.
        with tempfile.TemporaryDirectory() as d:
            fifo = os.path.join(d, "out.fifo")
            os.mkfifo(fifo)
            rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            try:
                cw.write_atomic(fifo, [b"through ", b"the pipe"])
                self.assertEqual(os.read(rd, 64), b"through the pipe")
            finally:
                os.close(rd)
            self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
            target, link = os.path.join(d, "net.bin"), os.path.join(d, "latest.bin")
            cw.write_atomic(target, [b"old"])
            os.symlink("net.bin", link)
            cw.write_atomic(link, [b"new"])
            self.assertTrue(os.path.islink(link))
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"new")
            self.assertEqual(sorted(os.listdir(d)), ["latest.bin", "net.bin", "out.fifo"])

    def test_descriptor_written_through_not_replaced(self):
        # `export ... /dev/stdout >> all.bin`: the name leads through
        # /proc/self/fd/1 to a regular file, which a rename would replace.
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "all.bin")
            cw.write_atomic(target, [b"kept|"])
            inode = os.stat(target).st_ino
            fd = os.open(target, os.O_WRONLY | os.O_APPEND)  # as the shell's >>
            like_dev_stdout = os.path.join(d, "stdout")
            os.symlink(f"/proc/self/fd/{fd}", like_dev_stdout)
            names = [f"/dev/fd/{fd}", f"/proc/self/fd/{fd}", like_dev_stdout]
            try:
                for name in names:
                    cw.write_atomic(name, [name.encode(), b"|"])
            finally:
                os.close(fd)
            self.assertEqual(os.stat(target).st_ino, inode)
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"kept|" + b"".join(n.encode() + b"|" for n in names))
            self.assertEqual(sorted(os.listdir(d)), ["all.bin", "stdout"])

    def test_fixture_writer_refuses_descriptor_names(self):
        # golden_io renames over its output; over /dev/stdout (a link) as root
        # that replaced the link. It refuses links and nodes, keeping the file.
        import golden_io
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "all.bin")
            with open(target, "wb") as f:
                f.write(b"kept")
            fd = os.open(target, os.O_WRONLY | os.O_APPEND)
            like_dev_stdout = os.path.join(d, "stdout")
            os.symlink(f"/proc/self/fd/{fd}", like_dev_stdout)
            try:
                for name in (like_dev_stdout, f"/dev/fd/{fd}"):
                    with self.assertRaises(SystemExit):
                        golden_io.write_atomically(name, [b"x"])
            finally:
                os.close(fd)
            self.assertTrue(os.path.islink(like_dev_stdout))
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"kept")
            self.assertEqual(sorted(os.listdir(d)), ["all.bin", "stdout"])


if __name__ == "__main__":
    unittest.main()
