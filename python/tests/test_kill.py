"""A recording process killed with SIGKILL leaves a file that reads up to
its last whole pass."""

import os
import random
import signal
import subprocess
import sys
import threading
import time

from util import TempDirCase, child_env
import mlpv_reader

RECORDER = r"""
import sys, time
import torch, torch.nn as nn
from mlpviz import Recorder
torch.manual_seed(0)
m = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.SGD(m.parameters(), lr=0.01)
rec = Recorder(sys.argv[1], m, torch.randn(3, 1, 8, 8), labels=[1, 2, 3], every=2, gradients=True)
stop = int(sys.argv[2])
while True:
    loss = m(torch.randn(8, 1, 8, 8)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if rec.step(loss=loss.item()):
        print(rec.passes, flush=True)
        if stop and rec.passes >= stop:
            print("ready", flush=True)
            time.sleep(600)
"""

# The writer alone (no torch: quick to start), with passes of about a
# megabyte, so that a kill often lands in the middle of one.
WRITER = r"""
import sys
import numpy as np
from mlpviz.runfile import Architecture, LayerPass, Pass, RunWriter
rng = np.random.default_rng(int(sys.argv[2]))
w = RunWriter(sys.argv[1], Architecture(head=[(512, 512)], input_shape=(1, 1, 4), class_names=[]), precision="f32")
i = 0
while True:
    n = 512
    w.append(Pass(step=i + 1, epoch=1, layers=[LayerPass(
        input=rng.random(n, dtype=np.float32), output=rng.random(n, dtype=np.float32),
        weight=rng.random(n * n, dtype=np.float32), bias=np.full(n, i, np.float32))]))
    i += 1
    print(i, flush=True)
"""


class KillTest(TempDirCase):
    def start(self, code, *args):
        p = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=child_env(), text=True)
        timer = threading.Timer(60, p.kill)  # never hang the suite
        timer.start()
        self.addCleanup(timer.cancel)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait(), p.stdout.close(), p.stderr.close()))
        return p

    def lines(self, p):
        for line in p.stdout:
            yield line.strip()
        self.fail(f"child ended: {p.wait()}\n{p.stderr.read()}")

    def kill(self, p):
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        self.assertEqual(p.returncode, -signal.SIGKILL)

    def test_killed_between_passes(self):
        path = self.path()
        p = self.start(RECORDER, path, 4)
        for line in self.lines(p):
            if line == "ready":
                break
        self.kill(p)
        f = mlpv_reader.read(path)
        self.assertFalse(f.closed)
        self.assertIsNone(f.partial_at)
        self.assertEqual([q.step for q in f.passes], [2, 4, 6, 8])
        self.assertEqual([q.seq for q in f.passes], [0, 1, 2, 3])
        self.assertTrue(f.passes[-1].layers[0].grad_weight.any())
        # The lock went with the process: the file can be taken over.
        from mlpviz.runfile import Architecture, RunWriter
        RunWriter(path, Architecture(head=[(1, 1)]), force=True).close()

    def test_killed_while_recording(self):
        path = self.path()
        p = self.start(RECORDER, path, 0)
        for line in self.lines(p):
            if int(line) >= 5:
                break
        self.kill(p)
        f = mlpv_reader.read(path)
        self.assertFalse(f.closed)
        self.assertGreaterEqual(len(f.passes), 5)
        self.assertEqual([q.seq for q in f.passes], list(range(len(f.passes))))

    def test_killed_mid_write(self):
        rnd = random.Random(1)
        for attempt in range(3):
            path = self.path(f"big{attempt}.mlpv")
            p = self.start(WRITER, path, attempt)
            seen = 0
            for line in self.lines(p):
                seen = int(line)
                if seen >= 2:
                    break
            time.sleep(rnd.uniform(0, 0.15))
            self.kill(p)
            f = mlpv_reader.read(path)
            self.assertFalse(f.closed)
            self.assertGreaterEqual(len(f.passes), seen)
            for i, q in enumerate(f.passes):
                self.assertEqual((q.seq, q.step, float(q.layers[0].bias[0])), (i, i + 1, float(i)))
            # Whatever follows the last whole pass is one record cut short.
            end = f.passes[-1].offset if f.partial_at is None else f.partial_at
            self.assertTrue(f.partial_at is None or f.partial_at > f.passes[-1].offset)
            self.assertLessEqual(end, f.size)
