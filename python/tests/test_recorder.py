"""What the recorder captures: a pass is what a fresh eval forward of the
probe gives at capture time, whatever the training batches around it do."""

import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from util import TempDirCase
import mlpv_reader
from mlpviz import Recorder


def model():
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
        nn.Linear(3 * 6 * 6, 20), nn.BatchNorm1d(20), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(20, 10), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(10, 4))


def eval_pass(m, x):
    """The head's values for one input, computed layer by layer in eval
    mode on a copy of the model: what a pass should hold."""
    m = copy.deepcopy(m).eval()
    h = x
    inputs, outputs, weights, biases = [], [], [], []
    with torch.no_grad():
        for layer in m:
            if isinstance(layer, nn.Linear):
                inputs.append(h[0].clone())
                h = layer(h)
                outputs.append(h[0].clone())
                weights.append(layer.weight.detach().clone().reshape(-1))
                biases.append(layer.bias.detach().clone())
            else:
                h = layer(h)
    return dict(inputs=inputs, outputs=outputs, weights=weights, biases=biases, logits=h[0].clone())


def train_step(m, opt, seed):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(16, 1, 6, 6, generator=g) * 3, torch.randint(0, 4, (16,), generator=g)
    out = m(x)
    loss = F.cross_entropy(out, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item(), (out.argmax(1) == y).float().mean().item()


class RecorderTest(TempDirCase):
    def setUp(self):
        super().setUp()
        torch.manual_seed(2)
        self.probes = torch.randn(5, 1, 6, 6)
        self.labels = torch.tensor([3, 1, 0, 2, 2])

    def test_passes_equal_eval_forward(self):
        m = model()
        m[1].eval()  # a module the user froze stays frozen
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        expected = []
        with Recorder(self.path(), m, self.probes, self.labels, classes=list("abcd"), every=3,
                      precision="f32") as rec:
            for step in range(1, 11):
                m.train()
                m[1].eval()
                loss, acc = train_step(m, opt, step)
                bn = m[5].running_mean.clone()
                wrote = rec.step(loss=loss, accuracy=acc)
                self.assertEqual(wrote, step % 3 == 0)
                if wrote:
                    expected.append(eval_pass(m, self.probes[:1]))
                # The capture changed no mode, left no hook, moved no statistic.
                self.assertTrue(m.training)
                self.assertFalse(m[1].training)
                self.assertTrue(m[7].training)
                self.assertTrue(torch.equal(bn, m[5].running_mean))
                for mod in m.modules():
                    self.assertFalse(mod._forward_hooks, mod)
                    self.assertFalse(mod._forward_pre_hooks, mod)
        f = mlpv_reader.read(self.path())
        self.assertEqual([p.step for p in f.passes], [3, 6, 9])
        self.assertTrue(f.closed)
        for p, e in zip(f.passes, expected):
            self.assertEqual(p.true_label, 3)
            np.testing.assert_array_equal(p.image, self.probes[0].reshape(-1).numpy())
            np.testing.assert_allclose(p.logits, e["logits"].numpy(), rtol=1e-5, atol=1e-6)
            probs = torch.softmax(e["logits"], 0).numpy()
            np.testing.assert_allclose(p.probs, probs, rtol=1e-5, atol=1e-6)
            self.assertEqual(p.prediction, int(np.argmax(probs)))
            for l, i, o, w, b in zip(p.layers, e["inputs"], e["outputs"], e["weights"], e["biases"]):
                np.testing.assert_allclose(l.input, i.numpy(), rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(l.output, o.numpy(), rtol=1e-5, atol=1e-6)
                np.testing.assert_array_equal(l.weight, w.numpy())
                np.testing.assert_array_equal(l.bias, b.numpy())
                self.assertEqual(l.grad_weight.size, 0)
        # The first layer's input is the probe's features, not a batch's.
        self.assertEqual(f.passes[0].layers[0].input.size, 108)

    def test_loss_accuracy_means_steps_epochs(self):
        m = model()
        with Recorder(self.path(), m, self.probes, every=4) as rec:
            for step in range(1, 11):
                rec.step(loss=float(step), accuracy=torch.tensor(step / 10), epoch=1 + step // 6)
            rec.step()  # 11: nothing to average
            rec.step(accuracy=0.5)  # 12
            for _ in range(4):
                rec.step()  # 13..16: a pass without loss or accuracy
            self.assertEqual(rec.steps, 16)
            self.assertEqual(rec.passes, 4)
        f = mlpv_reader.read(self.path())
        got = [(p.step, p.epoch, p.loss, round(p.accuracy, 6)) for p in f.passes]
        self.assertEqual(got[:3], [(4, 1, 2.5, 0.25), (8, 2, 6.5, 0.65), (12, 2, 9.5, 0.8)])
        self.assertEqual(got[3][:2], (16, 2))
        self.assertTrue(math.isnan(got[3][2]) and math.isnan(got[3][3]))
        self.assertEqual(f.passes[0].true_label, -1)  # no labels given

    def test_gradients(self):
        m = model()
        opt = torch.optim.SGD(m.parameters(), lr=0.01)
        heads = [m[4], m[8], m[11]]
        with Recorder(self.path(), m, self.probes, every=1, gradients=True, precision="f32") as rec:
            rec.step()  # no backward yet: zeros
            train_step(m, opt, 1)
            grads = [(h.weight.grad.clone(), h.bias.grad.clone()) for h in heads]
            rec.step()
        f = mlpv_reader.read(self.path())
        self.assertTrue(f.arch["gradients"])
        for l, h in zip(f.passes[0].layers, heads):
            self.assertEqual(l.grad_weight.size, h.weight.numel())
            self.assertFalse(l.grad_weight.any() or l.grad_bias.any())
        for l, (gw, gb) in zip(f.passes[1].layers, grads):
            np.testing.assert_array_equal(l.grad_weight, gw.reshape(-1).numpy())
            np.testing.assert_array_equal(l.grad_bias, gb.numpy())
            self.assertTrue(l.grad_weight.any())

    def test_f16_default_within_precision(self):
        m = model()
        with Recorder(self.path(), m, self.probes, every=1) as rec:
            rec.step()
        f = mlpv_reader.read(self.path())
        self.assertEqual((f.precision, f.compression), (0, 1))
        w = m[4].weight.detach().reshape(-1).numpy()
        got = f.passes[0].layers[0].weight
        top = np.abs(w).max()
        self.assertTrue((np.abs(got - w) <= np.abs(w) / 2048 + top / 2 ** 20).all())

    def test_probe_choice_and_capture(self):
        m = model()
        with Recorder(self.path(), m, self.probes, self.labels, every=100, probe=3, compression="none",
                      dataset="mine", model_name="net", batch_size=16, seed=9) as rec:
            self.assertEqual(rec.probes.shape[0], 5)  # all probes kept
            rec.step()
            self.assertTrue(rec.capture(loss=1.5))
        f = mlpv_reader.read(self.path())
        self.assertEqual(f.compression, 2)
        self.assertEqual(len(f.passes), 1)
        p = f.passes[0]
        self.assertEqual((p.step, p.true_label, p.loss), (1, 2, 1.5))
        np.testing.assert_allclose(p.image, self.probes[3].reshape(-1).numpy(), rtol=1e-3, atol=1e-3)
        a = f.arch
        self.assertEqual((a["dataset"], a["model"], a["batch_size"], a["seed"], a["probe"], a["interval"]),
                         ("mine", "net", 16, 9, "3", 100))

    def test_closed(self):
        m = model()
        rec = Recorder(self.path(), m, self.probes, every=1)
        rec.close()
        rec.close()
        with self.assertRaisesRegex(RuntimeError, "closed"):
            rec.step()
        self.assertTrue(mlpv_reader.read(self.path()).closed)

    def test_live_file(self):
        """Each pass is in the file as soon as step() returns."""
        m = model()
        rec = Recorder(self.path(), m, self.probes, every=2)
        self.addCleanup(rec.close)
        for step in range(1, 7):
            rec.step(loss=1.0)
            f = mlpv_reader.read(self.path())
            self.assertEqual(len(f.passes), step // 2)
            self.assertFalse(f.closed)
            self.assertIsNone(f.partial_at)

    def test_cuda(self):
        if not torch.cuda.is_available():
            self.skipTest("no CUDA device")
        m = model().cuda()
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        with Recorder(self.path(), m, self.probes, every=1, precision="f32", gradients=True) as rec:
            g = torch.Generator().manual_seed(0)
            x, y = torch.randn(16, 1, 6, 6, generator=g).cuda(), torch.randint(0, 4, (16,), generator=g).cuda()
            loss = F.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            rec.step(loss=loss)
            want = eval_pass(m, self.probes[:1].cuda())
        p = mlpv_reader.read(self.path()).passes[0]
        np.testing.assert_allclose(p.logits, want["logits"].cpu().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(p.layers[2].weight, m[11].weight.detach().cpu().reshape(-1).numpy())
