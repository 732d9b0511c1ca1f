"""Shared by the tests: the package on the path, temporary folders."""

import os
import shutil
import socket
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # python/
for p in (ROOT, HERE):
    if p not in sys.path:
        sys.path.insert(0, p)


class TempDirCase(unittest.TestCase):
    """A test case with a fresh folder, self.dir, removed afterwards."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mlpviz-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name="run.mlpv"):
        return os.path.join(self.dir, name)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env
