#!/usr/bin/env python3
"""tools/golden_io.py and the golden-data scripts (tools/fixtures/make_*.py): an output
folder is made at the write, and SIGINT (Ctrl-C) or SIGTERM ends a script by
the signal (exit status 128 + signal in a shell), with no traceback and no
temporary left. Run with /usr/bin/python3 (PyTorch); exits 77 when torch is
missing.
"""
import glob
import os
import signal
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
except ImportError:
    print("SKIP: torch is not importable")
    sys.exit(77)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
sys.path.insert(0, TOOLS)
import golden_io  # noqa: E402
from program_signals import as_a_program_starts  # noqa: E402

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class WriteAtomically(unittest.TestCase):
    def test_folder_made_at_the_write(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "new", "deeper", "x.bin")
            t = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
            golden_io.write_safetensors(path, t, {"k": 1})
            back, meta = golden_io.read_safetensors(path)
            self.assertTrue(torch.equal(back["a"], t["a"]))
            self.assertEqual(meta, {"k": "1"})
            self.assertEqual(os.listdir(os.path.dirname(path)), ["x.bin"])

    def test_file_in_the_way_of_the_folder(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "file"), "wb") as f:
                f.write(b"kept")
            with self.assertRaises(SystemExit) as e:
                golden_io.write_atomically(os.path.join(d, "file", "sub", "x.bin"), [b"data"])
            self.assertRegex(str(e.exception), r"/file/sub/x\.bin: cannot make its folder .*/file/sub: Not a directory$")
            self.assertEqual(os.listdir(d), ["file"])

    # As a script runs (interrupts.die_by_signals first), a signal in the
    # middle of the write: the temporary exists, half written.
    CHILD = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import interrupts
interrupts.die_by_signals()
import golden_io
def chunks():
    yield b"x" * 65536
    assert os.path.exists(f"{sys.argv[2]}.{os.getpid()}.tmp")
    os.kill(os.getpid(), int(sys.argv[3]))
    signal.pause()
    yield b"y"
golden_io.write_atomically(sys.argv[2], chunks())
sys.exit(2)  # the signal did not end the process
"""

    def test_signal_mid_write(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "golden.bin")
            with open(path, "wb") as f:
                f.write(b"the earlier complete file")
            for sig in SIGNALS:
                with self.subTest(sig=sig):
                    r = subprocess.run([sys.executable, "-c", self.CHILD, TOOLS, path, str(int(sig))],
                                       capture_output=True, text=True, timeout=120, preexec_fn=as_a_program_starts)
                    self.assertEqual((r.returncode, r.stderr), (-sig, ""))
                    self.assertEqual(os.listdir(d), ["golden.bin"])
                    with open(path, "rb") as f:
                        self.assertEqual(f.read(), b"the earlier complete file")

    def test_another_writers_temporary_of_this_process_id(self):
        # A writer with this process id in another PID namespace (a container
        # on a shared volume) holds <path>.<pid>.tmp: the write goes through a
        # temporary of its own, and the other's is neither opened nor removed,
        # when the write succeeds or fails.
        def failing():
            yield b"half"
            raise OSError(28, "No space left on device")

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "golden.bin")
            other = f"{path}.{os.getpid()}.tmp"
            with open(other, "wb") as f:
                f.write(b"another writer's bytes")
            golden_io.write_atomically(path, [b"mine"])
            with self.assertRaises(OSError):
                golden_io.write_atomically(path, failing())
            self.assertEqual(sorted(os.listdir(d)), ["golden.bin", os.path.basename(other)])
            for name, data in ((path, b"mine"), (other, b"another writer's bytes")):
                with open(name, "rb") as f:
                    self.assertEqual(f.read(), data)

    # An importer that keeps Python's KeyboardInterrupt: a Ctrl-C right after
    # the exclusive create is held, and comes as KeyboardInterrupt inside
    # exclusive_temporary's __enter__, whose __exit__ never runs.
    INTERRUPTED_CHILD = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import interrupts, golden_io
real_close = os.close
def close_then_ctrl_c(fd):
    real_close(fd)
    os.kill(os.getpid(), signal.SIGINT)
interrupts.os.close = close_then_ctrl_c
try:
    golden_io.write_atomically(sys.argv[2], [b"data"])
except KeyboardInterrupt:
    print("interrupted", sorted(os.listdir(os.path.dirname(sys.argv[2]))), sorted(interrupts._TEMPORARIES))
"""

    def test_ctrl_c_while_the_temporary_is_made(self):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([sys.executable, "-c", self.INTERRUPTED_CHILD, TOOLS, os.path.join(d, "golden.bin")],
                               capture_output=True, text=True, timeout=120, preexec_fn=as_a_program_starts)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "interrupted [] []"), r.stderr)


class Scripts(unittest.TestCase):
    def test_script_makes_its_output_folder(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "new", "net.pkl")
            r = subprocess.run([sys.executable, os.path.join(TOOLS, "fixtures", "make_pggan_pickle.py"), out,
                                "--resolution", "8", "--fmap-base", "16", "--fmap-max", "8", "--latent-size", "8"],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.listdir(os.path.dirname(out)), ["net.pkl"])

    def test_every_golden_script_ends_quietly_by_the_signal(self):
        # Ctrl-C while the heavy imports run (seconds on a cold disk) printed
        # KeyboardInterrupt's traceback. Stand-in packages, found first, send
        # the signal from inside the first of them a script imports; no
        # script gets as far as writing.
        def writes_golden(path):
            with open(path) as f:
                return "golden_io" in f.read()
        scripts = sorted(p for p in glob.glob(os.path.join(TOOLS, "fixtures", "make_*.py")) if writes_golden(p))
        self.assertGreaterEqual(len(scripts), 15)
        with tempfile.TemporaryDirectory() as d:
            for name in ("torch", "numpy", "PIL", "torchvision"):
                os.mkdir(os.path.join(d, name))
                with open(os.path.join(d, name, "__init__.py"), "w") as f:
                    f.write("import os, signal, sys\nos.kill(os.getpid(), int(os.environ['SIG']))\n"
                            "signal.pause()\nsys.exit(2)\n")
            out = os.path.join(d, "out")
            for script in scripts:
                for sig in SIGNALS:
                    with self.subTest(script=os.path.basename(script), sig=sig):
                        env = dict(os.environ, PYTHONPATH=d, SIG=str(int(sig)))
                        with open(script) as f:  # a folder for the scripts that write several files
                            where = ["--outdir", out] if '"--outdir"' in f.read() else [os.path.join(out, "x.bin")]
                        r = subprocess.run([sys.executable, script] + where, env=env, cwd=d, capture_output=True,
                                           text=True, timeout=120, preexec_fn=as_a_program_starts)
                        self.assertEqual((r.returncode, r.stderr), (-sig, ""))
                        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
