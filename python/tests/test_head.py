"""Finding the head in several kinds of model, and the errors a user meets."""

import os

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from util import TempDirCase, free_port
import mlpv_reader
from mlpviz import Recorder
from mlpviz.runfile import RunFileExistsError


def sequential():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4 * 4 * 4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(16, 12), nn.GELU(),
        nn.Linear(12, 5))


class OutOfOrder(nn.Module):
    """Layers registered in another order than they run, ReLU as a function."""

    def __init__(self):
        super().__init__()
        self.out = nn.Linear(10, 3)
        self.hidden = nn.Linear(2 * 6 * 6, 10)
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        x = F.relu(self.conv(x)).flatten(1)
        return self.out(F.relu(self.hidden(x)))


class TrunkLinear(nn.Module):
    """A Linear in the trunk, then a conv: only the Linear layers after it
    are the head."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(64, 64)
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.fc1 = nn.Linear(128, 20)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(20, 4)

    def forward(self, x):
        x = self.embed(x.flatten(1)).view(-1, 1, 8, 8)
        return self.fc2(self.act(self.fc1(self.conv(x).flatten(1))))


class Concat(nn.Module):
    """fc1's outputs do not feed fc2 alone: the head is fc2."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 6)
        self.fc2 = nn.Linear(70, 3)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc2(torch.cat([self.fc1(x), x[:, :64]], 1))


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.out = nn.Linear(64, 3)

    def forward(self, x):
        return self.out(self.fc(self.fc(x.flatten(1))))


def probes(k=4, c=1, h=8, w=8):
    torch.manual_seed(0)
    return torch.randn(k, c, h, w)


def shapes(rec):
    return [(m.in_features, m.out_features) for m in rec.head]


class HeadTest(TempDirCase):
    def test_sequential(self):
        m = sequential()
        with Recorder(self.path(), m, probes(), every=1) as rec:
            self.assertEqual(shapes(rec), [(64, 16), (16, 12), (12, 5)])
            self.assertEqual(rec.arch.input_shape, (1, 8, 8))
            self.assertEqual(rec.classes, ["0", "1", "2", "3", "4"])
            kinds = [mod.kind for mod in rec.arch.modules]
            self.assertEqual(kinds, ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "BatchNorm1d", "ReLU",
                                     "Dropout", "Linear", "GELU", "Linear"])
            conv = dict(rec.arch.modules[0].settings)
            self.assertEqual(conv["in_channels"], "1")
            self.assertEqual(conv["kernel_size"], "(3, 3)")
            self.assertEqual(rec.arch.model, "Sequential")
        f = mlpv_reader.read(self.path())
        self.assertEqual(f.arch["head"], [{"in": 64, "out": 16}, {"in": 16, "out": 12}, {"in": 12, "out": 5}])
        self.assertEqual(f.arch["neuron_cap"], 0)
        self.assertEqual(f.arch["probe"], "0")
        self.assertEqual(f.arch["interval"], 1)

    def test_custom_module_in_run_order(self):
        with Recorder(self.path(), OutOfOrder(), probes(), every=1) as rec:
            self.assertEqual(shapes(rec), [(72, 10), (10, 3)])
            self.assertEqual(rec.arch.model, "OutOfOrder")
            self.assertEqual([mod.kind for mod in rec.arch.modules], ["Conv2d", "Linear", "Linear"])

    def test_trunk_linear_is_not_head(self):
        with Recorder(self.path(), TrunkLinear(), probes(), every=1) as rec:
            self.assertEqual(shapes(rec), [(128, 20), (20, 4)])

    def test_chain_stops_where_sizes_break(self):
        with Recorder(self.path(), Concat(), probes(), every=1) as rec:
            self.assertEqual(shapes(rec), [(70, 3)])

    def test_flat_inputs(self):
        m = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 2))
        with Recorder(self.path(), m, torch.randn(3, 20), every=1) as rec:
            self.assertEqual(shapes(rec), [(20, 8), (8, 2)])
            self.assertEqual(rec.arch.input_shape, (1, 1, 20))
            rec.step()
        self.assertEqual(mlpv_reader.read(self.path()).passes[0].image.size, 20)

    def test_given_head(self):
        m = sequential()
        with Recorder(self.path(), m, probes(), head=[m[8], m[10]], every=1) as rec:
            self.assertEqual(shapes(rec), [(16, 12), (12, 5)])
        with self.assertRaisesRegex(ValueError, r"head\[0\] is a ReLU"):
            Recorder(self.path("b.mlpv"), m, probes(), head=[m[1]])
        with self.assertRaisesRegex(ValueError, "not a module of the model"):
            Recorder(self.path("b.mlpv"), m, probes(), head=[nn.Linear(12, 5)])
        with self.assertRaisesRegex(ValueError, "do not chain"):
            Recorder(self.path("b.mlpv"), m, probes(), head=[m[4], m[10]])
        self.assertFalse(os.path.exists(self.path("b.mlpv")))

    def test_data_parallel_unwrapped(self):
        m = sequential()
        with Recorder(self.path(), nn.DataParallel(m), probes(), every=1) as rec:
            self.assertEqual(rec.head[0], m[4])
            self.assertEqual(rec.arch.model, "Sequential")

    def test_ddp_unwrapped(self):
        os.environ["MASTER_ADDR"] = "127.0.0.1"
        os.environ["MASTER_PORT"] = str(free_port())
        dist.init_process_group("gloo", rank=0, world_size=1)
        self.addCleanup(dist.destroy_process_group)
        m = sequential()
        ddp = nn.parallel.DistributedDataParallel(m)
        with Recorder(self.path(), ddp, probes(), every=1) as rec:
            self.assertEqual(rec.rank, 0)
            self.assertEqual(shapes(rec), [(64, 16), (16, 12), (12, 5)])
            self.assertEqual(rec.arch.model, "Sequential")
            rec.step(loss=1.0, reduce=True)
        self.assertEqual(len(mlpv_reader.read(self.path()).passes), 1)

    def test_errors(self):
        p = self.path()
        with self.assertRaisesRegex(ValueError, "no head found"):
            Recorder(p, nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), probes())
        with self.assertRaisesRegex(ValueError, r"probe of shape \[3, 8, 8\] does not fit the model"):
            Recorder(p, sequential(), probes(c=3))
        with self.assertRaisesRegex(ValueError, "want a batch"):
            Recorder(p, sequential(), torch.randn(64))
        with self.assertRaisesRegex(ValueError, "probe 4 out of range"):
            Recorder(p, sequential(), probes(), probe=4)
        with self.assertRaisesRegex(ValueError, "3 labels for 4 probes"):
            Recorder(p, sequential(), probes(), labels=[1, 2, 3])
        with self.assertRaisesRegex(ValueError, "2 class names for the model's 5 outputs"):
            Recorder(p, sequential(), probes(), classes=["a", "b"])
        with self.assertRaisesRegex(ValueError, "every must be"):
            Recorder(p, sequential(), probes(), every=0)
        self.assertFalse(os.path.exists(p))
        s = Shared()
        with self.assertRaisesRegex(ValueError, "runs 2 times"):
            Recorder(p, s, probes(), head=[s.fc, s.out])
        # Found automatically, the shared layer's chain stops before it.
        with Recorder(p, s, probes()) as rec:
            self.assertEqual(shapes(rec), [(64, 3)])
        with self.assertRaises(RunFileExistsError) as cm:
            Recorder(p, sequential(), probes())
        self.assertIsInstance(cm.exception, ValueError)
        self.assertIn("already exists", str(cm.exception))
        Recorder(p, sequential(), probes(), force=True).close()
