"""Two processes training one DistributedDataParallel model (gloo on
127.0.0.1): one run file, written by rank 0 alone, whose weights are every
rank's weights."""

import datetime
import os
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F

from util import TempDirCase, free_port
import mlpv_reader

WORLD = 2
STEPS = 6
EVERY = 3


def worker(rank, port, path, out):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=60))
    try:
        from mlpviz import Recorder

        torch.manual_seed(rank)  # DDP broadcasts rank 0's weights
        model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
        ddp = nn.parallel.DistributedDataParallel(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(100)
        probes = torch.randn(4, 1, 3, 4, generator=g)
        rec = Recorder(path, ddp, probes, labels=[0, 1, 2, 0], every=EVERY, precision="f32", gradients=True)
        g = torch.Generator().manual_seed(rank)  # each rank its own data
        wrote = []
        for step in range(1, STEPS + 1):
            x, y = torch.randn(8, 1, 3, 4, generator=g), torch.randint(0, 3, (8,), generator=g)
            loss = F.cross_entropy(ddp(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            # Figures that differ by rank: the file holds their mean.
            wrote.append(rec.step(loss=float(rank + 1), accuracy=0.25 * rank, reduce=True))
        rec.close()
        torch.save({"weights": [p.detach().clone() for p in model.parameters()],
                    "grads": [p.grad.detach().clone() for p in model.parameters()],
                    "wrote": wrote, "has_writer": rec.writer is not None, "passes": rec.passes},
                   os.path.join(out, f"rank{rank}.pt"))
        dist.barrier()  # neither rank tears down while the other still talks
    finally:
        dist.destroy_process_group()


class DistributedTest(TempDirCase):
    def test_two_ranks(self):
        path = self.path()
        ctx = mp.spawn(worker, args=(free_port(), path, self.dir), nprocs=WORLD, join=False)
        deadline = time.monotonic() + 120
        while not ctx.join(timeout=1):
            if time.monotonic() > deadline:
                # Never hang the suite: a worker still alive now is stuck
                # (in gloo's teardown, if it saved its results below).
                for p in ctx.processes:
                    if p.is_alive():
                        p.kill()
                        p.join()
                break
        ranks = [torch.load(os.path.join(self.dir, f"rank{r}.pt")) for r in range(WORLD)]
        self.assertEqual(sorted(os.listdir(self.dir)), ["rank0.pt", "rank1.pt", "run.mlpv"])
        self.assertTrue(ranks[0]["has_writer"])
        self.assertFalse(ranks[1]["has_writer"])
        self.assertEqual(ranks[0]["wrote"], [s % EVERY == 0 for s in range(1, STEPS + 1)])
        self.assertEqual(ranks[1]["wrote"], [False] * STEPS)
        self.assertEqual((ranks[0]["passes"], ranks[1]["passes"]), (2, 0))

        f = mlpv_reader.read(path)
        self.assertTrue(f.closed)
        self.assertEqual([p.step for p in f.passes], [3, 6])
        self.assertEqual(f.arch["model"], "Sequential")
        self.assertEqual(f.arch["head"], [{"in": 12, "out": 8}, {"in": 8, "out": 3}])
        for p in f.passes:
            self.assertEqual((p.loss, p.accuracy), (1.5, 0.125))  # means over the ranks
        last = f.passes[-1]
        for r in ranks:
            w1, b1, w2, b2 = (t.reshape(-1).numpy() for t in r["weights"])
            gw1, gb1, gw2, gb2 = (t.reshape(-1).numpy() for t in r["grads"])
            for layer, (w, b, gw, gb) in zip(last.layers, ((w1, b1, gw1, gb1), (w2, b2, gw2, gb2))):
                self.assertTrue((layer.weight == w).all())
                self.assertTrue((layer.bias == b).all())
                # DDP averaged the gradients: every rank holds the ones recorded.
                self.assertTrue((layer.grad_weight == gw).all())
                self.assertTrue((layer.grad_bias == gb).all())
