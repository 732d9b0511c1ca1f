"""The probe set: format version 4's probe section as the writer encodes
and checks it, and the recorder's K probes per pass, each what a direct
eval forward of its image gives; a single probe still writes version 3,
byte for byte as before."""

import hashlib
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from util import TempDirCase
import mlpv_reader
from mlpviz import Recorder, runfile
from mlpviz.recorder import MAX_PROBES
from mlpviz.runfile import LayerPass, Pass, Probe, ProbeLayer, RunWriter

from test_recorder import model  # the recorder tests' model: BatchNorm, dropout, a 3-layer head
from test_runfile import HEAD, arch  # the same tiny head as the writer's tests


def det(n, seed):
    """n values of mixed sign and magnitude from exact arithmetic, no RNG:
    the same bits on every machine."""
    i = np.arange(n, dtype=np.float64)
    return (((i * 37 + seed * 11) % 97 - 48) / 7.0 * 10.0 ** ((i % 5) - 2)).astype(np.float32)


def golden_pass(step):
    layers = [LayerPass(input=det(i, 1 + step), output=det(o, 2 + step), weight=det(i * o, 3 + step),
                        bias=det(o, 4 + step), grad_weight=det(i * o, 5 + step) * 1e-6,
                        grad_bias=det(o, 6 + step) * 1e-6) for i, o in HEAD]
    return Pass(step=step, epoch=2, layers=layers, wall_ns=1_700_000_000_123_456_789 + step, loss=0.25 * step,
                accuracy=0.5, image=np.abs(det(6, 7)), true_label=1, prediction=2, logits=det(3, 8),
                probs=np.abs(det(3, 9)))


def probe_of(j, classes=3):
    return Probe(true_label=j % 3, prediction=(j + 1) % 3, image=np.abs(det(6, 20 + j)),
                 logits=det(classes, 30 + j), probs=np.abs(det(classes, 40 + j)),
                 layers=[ProbeLayer(input=det(i, 50 + j), output=det(o, 60 + j)) for i, o in HEAD])


def with_probes(step, k, classes=3):
    p = golden_pass(step)
    p.probes = [probe_of(j, classes) for j in range(1, k)]
    return p


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class ProbeSectionTest(TempDirCase):
    # Digests of the files the writer gave before it knew probe sets (the
    # commit before them), for golden_pass(1) and golden_pass(2) with
    # compression "none": a single-probe run must keep these bytes.
    GOLDEN = {"f16": "7fe7ad0cb80202d430bf21c970ec96b3213e860d0d97f0f1a3ae80dceb562ba9",
              "f32": "9cdbe6de57cb2c9640c5ab479a4a479434898d0a7b1ccb96e67024a35fb8a5d7"}

    def test_single_probe_bytes_unchanged(self):
        for prec, want in self.GOLDEN.items():
            for probes in (0, 1):
                path = self.path(f"{prec}{probes}.mlpv")
                w = RunWriter(path, arch(probes=probes), precision=prec, compression="none")
                self.assertEqual(w.version, 3)
                w.append(golden_pass(1))
                w.append(golden_pass(2))
                w.close()
                self.assertEqual(sha(path), want, (prec, probes))
                f = mlpv_reader.read(path)
                self.assertEqual(f.version, 3)
                self.assertNotIn("probes", f.arch)
                self.assertEqual([p.sections for p in f.passes], [[], []])

    def test_round_trip(self):
        for prec in ("f16", "f32"):
            path = self.path(prec + ".mlpv")
            w = RunWriter(path, arch(probes=4), precision=prec)
            self.assertEqual(w.version, runfile.FORMAT_VERSION_PROBES)
            passes = [with_probes(s, 4) for s in (1, 2)]
            for p in passes:
                w.append(p)
            w.close()
            b = read_bytes(path)
            self.assertEqual(b[:8], b"MLPV" + struct.pack("<HH", 4, 0x0101))
            self.assertEqual(b[20:23], bytes([1, 4, 0]))  # the header record's version
            f = mlpv_reader.read(path)
            self.assertEqual((f.version, f.arch["probes"]), (4, 4))
            self.assertEqual(list(f.arch)[-2:], ["probe", "probes"])
            for want, got in zip(passes, f.passes):
                self.assertEqual(got.sections, [1])
                self.assertEqual(len(got.probes), 3)
                for wp, gp in zip(want.probes, got.probes):
                    self.assertEqual((gp.true_label, gp.prediction), (wp.true_label, wp.prediction))
                    pairs = [(gp.image, wp.image), (gp.logits, wp.logits), (gp.probs, wp.probs)]
                    for gl, wl in zip(gp.layers, wp.layers):
                        pairs += [(gl.input, wl.input), (gl.output, wl.output)]
                    for g, v in pairs:
                        if prec == "f32":
                            np.testing.assert_array_equal(g, v)
                        else:
                            top = np.abs(v).max()
                            self.assertTrue((np.abs(g - v) <= np.abs(v) / 2048 + top / 2 ** 20).all())

    def test_section_bytes(self):
        """The section is Go's: tag 1, count, then per probe its labels,
        image, logits, probs and each layer's input and output, after the
        bytes a single-probe pass encodes to."""
        p = with_probes(3, 3)
        raw = runfile.encode_pass(p, runfile.PRECISION_F32)
        base = runfile.encode_pass(golden_pass(3), runfile.PRECISION_F32)
        self.assertEqual(raw[:len(base)], base)

        def arr(v):
            return struct.pack("<I", v.size) + v.astype("<f4").tobytes()

        want = bytes([1]) + struct.pack("<I", 2)
        for pr in p.probes:
            want += struct.pack("<qq", pr.true_label, pr.prediction) + arr(pr.image) + arr(pr.logits) + arr(pr.probs)
            for l in pr.layers:
                want += arr(l.input) + arr(l.output)
        self.assertEqual(raw[len(base):], want)

    def test_max_raw_counts_the_probes(self):
        # Every array present at full size: the largest pass the
        # architecture allows, which the reader bounds a pass by.
        for prec in ("f16", "f32"):
            for k in (1, 2, 7):
                w = RunWriter(self.path(f"{prec}{k}.mlpv"), arch(probes=k), precision=prec)
                self.assertEqual(len(runfile.encode_pass(with_probes(1, k), w.precision)), w.max_raw, (prec, k))
                w.close()
        # Unknown classes: a probe's logits take the head's outputs.
        a = arch(class_names=[], probes=3)
        self.assertEqual(a.probe_classes(), 3)
        full = a.check_limits(runfile.PRECISION_F32)
        single = arch(class_names=[]).check_limits(runfile.PRECISION_F32)
        # tag, count, then per probe: labels, image, logits and probs, and
        # four activation arrays (4-byte counts and f32 values).
        self.assertEqual(full - single, 1 + 4 + 2 * (16 + (4 + 6 * 4) + 2 * (4 + 3 * 4) + 4 * 4 + 4 * (6 + 5 + 5 + 3)))

    def test_pass_must_fit(self):
        w = RunWriter(self.path(), arch(probes=4))
        for change, msg in (
            (lambda p: p.probes.pop(), "pass at step 1 holds 3 probes, the run's probe set has 4"),
            (lambda p: setattr(p.probes[1], "image", np.zeros(5, np.float32)),
             "probe 3 image has 5 values, the 1x2x3 input takes 6"),
            (lambda p: setattr(p.probes[0], "probs", np.zeros(4, np.float32)),
             "probe 2 probs has 4 values for 3 classes"),
            (lambda p: p.probes[2].layers.pop(), "probe 4 has 1 layers, the head has 2"),
            (lambda p: setattr(p.probes[0].layers[1], "output", np.zeros(0, np.float32)),
             "probe 2 layer 2 output has 0 values, the head's 5x3 layer takes 3"),
        ):
            p = with_probes(1, 4)
            change(p)
            with self.assertRaisesRegex(ValueError, msg):
                w.append(p)
        # Left out as a whole, image, logits and probs may be empty.
        w.append(golden_pass(1))
        p = with_probes(2, 4)
        p.probes[0].image = p.probes[0].logits = p.probes[0].probs = None
        w.append(p)
        w.close()
        f = mlpv_reader.read(self.path())
        self.assertEqual([len(q.probes) for q in f.passes], [0, 3])
        self.assertEqual(f.passes[1].probes[0].image.size, 0)
        # A single-probe run takes no probe set: its file is version 3.
        w = RunWriter(self.path("single.mlpv"), arch())
        with self.assertRaisesRegex(ValueError, "holds 2 probes, the run's probe set has 1"):
            w.append(with_probes(1, 2))
        w.close()
        # Unknown classes: a probe's logits are the head's outputs.
        w = RunWriter(self.path("nc.mlpv"), arch(class_names=[], probes=2))
        w.append(with_probes(1, 2))
        with self.assertRaisesRegex(ValueError, "probe 2 logits has 4 values for 3 classes"):
            w.append(with_probes(2, 2, classes=4))
        w.close()

    def test_limits(self):
        with self.assertRaisesRegex(ValueError, "a probe set of 4097"):
            RunWriter(self.path(), arch(probes=4097))
        with self.assertRaisesRegex(ValueError, "a probe set of -1"):
            RunWriter(self.path(), arch(probes=-1))
        big = [(4000, 2000), (2000, 10)]  # 64 MB of weights and gradients a pass at f32
        arch(head=big, probes=1).check_limits(runfile.PRECISION_F32)
        with self.assertRaisesRegex(ValueError, "a pass would take"):
            RunWriter(self.path(), arch(head=big, probes=4096), precision="f32")


# --------------------------------------------------------------------------
# The recorder.




def forward_rows(m, x):
    """Each head layer's inputs and outputs and the logits for the rows of
    x, layer by layer in eval mode on a copy of the model."""
    import copy
    m = copy.deepcopy(m).eval()
    h, ins, outs = x, [], []
    with torch.no_grad():
        for layer in m:
            if isinstance(layer, nn.Linear):
                ins.append(h.clone())
                h = layer(h)
                outs.append(h.clone())
            else:
                h = layer(h)
    return ins, outs, h


def train_step(m, opt, seed):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(16, 1, 6, 6, generator=g) * 3, torch.randint(0, 4, (16,), generator=g)
    loss = F.cross_entropy(m(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


class RecorderProbeSetTest(TempDirCase):
    def setUp(self):
        super().setUp()
        torch.manual_seed(2)
        self.probes = torch.randn(4, 1, 6, 6)
        self.labels = torch.tensor([3, 1, 0, 2])

    def record(self, precision, probe=2, **kw):
        m = model()
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        expected = []
        with Recorder(self.path(), m, self.probes, self.labels, every=2, probe=probe, precision=precision,
                      **kw) as rec:
            for step in range(1, 7):
                m.train()
                train_step(m, opt, step)
                if rec.step():
                    expected.append((forward_rows(m, self.probes[rec.probe_set]),
                                     [forward_rows(m, self.probes[i:i + 1]) for i in rec.probe_set]))
        return rec, mlpv_reader.read(self.path()), expected

    def check(self, rec, f, expected, close):
        order = [2, 0, 1, 3]
        self.assertEqual(rec.probe_set, order)
        self.assertEqual((f.version, f.arch["probes"], f.arch["probe"]), (4, 4, "2"))
        self.assertEqual(rec.arch.probes, 4)
        self.assertEqual([p.step for p in f.passes], [2, 4, 6])
        for p, ((ins, outs, logits), singles) in zip(f.passes, expected):
            self.assertEqual(len(p.probes), 3)
            self.assertEqual(p.sections, [1])
            samples = [(p.image, p.true_label, p.prediction, p.logits, p.probs,
                        [(l.input, l.output) for l in p.layers])]
            samples += [(q.image, q.true_label, q.prediction, q.logits, q.probs,
                         [(l.input, l.output) for l in q.layers]) for q in p.probes]
            for j, (image, label, pred, lg, pr, acts) in enumerate(samples):
                idx = order[j]
                close(image, self.probes[idx].reshape(-1).numpy())
                self.assertEqual(label, int(self.labels[idx]))
                # What the batch's row gives, and what a forward of the
                # probe alone gives.
                for want_logits, want_ins, want_outs, r in ((logits, ins, outs, j),
                                                            (singles[j][2], singles[j][0], singles[j][1], 0)):
                    close(lg, want_logits[r].numpy())
                    probs = torch.softmax(want_logits[r], 0).numpy()
                    close(pr, probs)
                    for (gi, go), wi, wo in zip(acts, want_ins, want_outs):
                        close(gi, wi[r].reshape(-1).numpy())
                        close(go, wo[r].numpy())
                self.assertEqual(pred, int(np.argmax(pr)))

    def test_probe_set_equals_forward_f32(self):
        rec, f, expected = self.record("f32")

        def close(g, w):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        self.check(rec, f, expected, close)
        # Probe 0 is probes[probe], exactly.
        np.testing.assert_array_equal(f.passes[0].image, self.probes[2].reshape(-1).numpy())
        np.testing.assert_array_equal(f.passes[0].probes[2].image, self.probes[3].reshape(-1).numpy())

    def test_probe_set_equals_forward_f16(self):
        rec, f, expected = self.record("f16", gradients=True)

        def close(g, w):
            w = np.asarray(w, np.float64)
            top = np.abs(w).max() if w.size else 0
            bad = np.abs(np.asarray(g, np.float64) - w) > np.abs(w) / 1024 + top / 2 ** 19 + 1e-6
            self.assertFalse(bad.any(), f"{np.asarray(g)[bad][:4]} for {w[bad][:4]}")
        self.check(rec, f, expected, close)
        self.assertTrue(f.arch["gradients"])

    def test_single_probe_writes_version_3(self):
        """K = 1: version 3, no probe count, no section, and the pass's bytes
        are those of the single forward the recorder made before probe sets."""
        m = model()
        x = self.probes[1:2]
        with Recorder(self.path(), m, x, [3], every=1, precision="f32", compression="none") as rec:
            rec.step(loss=0.5)
        self.assertEqual((rec.probe_set, rec.arch.probes), ([0], 0))
        f = mlpv_reader.read(self.path())
        self.assertEqual(f.version, 3)
        self.assertEqual(read_bytes(self.path())[:6], b"MLPV" + struct.pack("<H", 3))
        self.assertNotIn("probes", f.arch)
        got = f.passes[0]
        self.assertEqual((got.probes, got.sections), ([], []))
        # The pass as the recorder wrote it before: hooks on the head during
        # one eval forward of the probe alone.
        io = {}
        heads = [m[4], m[8], m[11]]
        def hook(mod, inputs, output):
            io[id(mod)] = (inputs[0][0], output[0])
        hs = [h.register_forward_hook(hook) for h in heads]
        m.eval()
        with torch.no_grad():
            logits = m(x)[0]
        for h in hs:
            h.remove()
        probs = torch.softmax(logits, 0)
        want = Pass(step=1, epoch=1, wall_ns=got.wall_sec * 10 ** 9 + got.wall_nsec, loss=0.5,
                    image=x[0].reshape(-1).numpy(), true_label=3, prediction=int(np.argmax(probs.numpy())),
                    logits=logits.numpy(), probs=probs.numpy(),
                    layers=[LayerPass(input=io[id(h)][0].numpy(), output=io[id(h)][1].numpy(),
                                      weight=h.weight.detach().reshape(-1).numpy(), bias=h.bias.detach().numpy())
                            for h in heads])
        b = read_bytes(self.path())
        payload_at = got.offset + 12
        raw = b[payload_at + 17:payload_at + 17 + got.raw_len]
        self.assertEqual(raw, runfile.encode_pass(want, runfile.PRECISION_F32))

    def test_at_most_100_probes(self):
        torch.manual_seed(3)
        probes = torch.randn(150, 1, 2, 3)
        labels = list(range(150))
        m = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        with Recorder(self.path(), m, probes, labels, every=1, probe=120, precision="f32") as rec:
            rec.step()
            rec.step()
        self.assertEqual(MAX_PROBES, 100)
        self.assertEqual(rec.probes.shape[0], 150)  # all kept
        self.assertEqual(rec.probe_set, [120] + list(range(99)))
        f = mlpv_reader.read(self.path())
        self.assertEqual((f.version, f.arch["probes"]), (4, 100))
        for p in f.passes:
            self.assertEqual(len(p.probes), 99)
            self.assertEqual(p.true_label, 120)
            self.assertEqual([q.true_label for q in p.probes], list(range(99)))
            np.testing.assert_array_equal(p.image, probes[120].reshape(-1).numpy())
            np.testing.assert_array_equal(p.probes[-1].image, probes[98].reshape(-1).numpy())
            with torch.no_grad():
                want = m.eval()(probes[98:99])[0].numpy()
            np.testing.assert_allclose(p.probes[-1].logits, want, rtol=1e-5, atol=1e-6)

    def test_cuda(self):
        if not torch.cuda.is_available():
            self.skipTest("no CUDA device")
        m = model().cuda()
        probes = self.probes.cuda()  # the probes may live on the GPU too
        with Recorder(self.path(), m, probes, self.labels, every=1, probe=3, precision="f32") as rec:
            rec.step()
        p = mlpv_reader.read(self.path()).passes[0]
        ins, outs, logits = forward_rows(m, probes[[3, 0, 1, 2]])
        for j, q in enumerate([p] + p.probes):
            np.testing.assert_allclose(q.logits, logits[j].cpu().numpy(), rtol=1e-4, atol=1e-5)
            np.testing.assert_array_equal(q.image, probes[[3, 0, 1, 2][j]].cpu().reshape(-1).numpy())
            np.testing.assert_allclose(q.layers[1].output, outs[1][j].cpu().numpy(), rtol=1e-4, atol=1e-5)

    def test_no_labels_and_unknown_rows(self):
        m = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        with Recorder(self.path(), m, torch.randn(3, 6), every=1) as rec:
            rec.step()
        f = mlpv_reader.read(self.path())
        self.assertEqual([f.passes[0].true_label] + [q.true_label for q in f.passes[0].probes], [-1, -1, -1])

        class Pooled(nn.Module):
            """A model that mixes its batch: no row per probe."""

            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(6, 3)

            def forward(self, x):
                return self.fc(x.mean(0, keepdim=True))

        with self.assertRaisesRegex(ValueError, "one row of logits per probe"):
            Recorder(self.path("b.mlpv"), Pooled(), torch.randn(3, 6))
        Recorder(self.path("c.mlpv"), Pooled(), torch.randn(1, 6)).close()  # one probe: as before


if __name__ == "__main__":
    import unittest
    unittest.main()
