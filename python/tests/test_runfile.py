"""The run file writer against the independent reader: bytes, CRCs,
sequence numbers, index and footer, float16 scaling, crash leftovers,
locking and replacing."""

import fcntl
import json
import os
import struct
import zlib

import numpy as np

from util import TempDirCase
import mlpv_reader
from mlpviz import runfile
from mlpviz.runfile import Architecture, BusyError, LayerPass, Module, Pass, RunFileExistsError, RunWriter

HEAD = [(6, 5), (5, 3)]


def arch(**kw):
    a = dict(head=list(HEAD), input_shape=(1, 2, 3), class_names=["a", "b", "c"],
             modules=[Module("Linear", [("in_features", "6"), ("out_features", "5")]), Module("ReLU")],
             dataset="test", model="Tiny", interval=2, batch_size=8, seed=5, probe="0")
    a.update(kw)
    return Architecture(**a)


def make_pass(rng, step, grads=True, scale=1.0):
    layers = []
    for i, o in HEAD:
        layers.append(LayerPass(
            input=(rng.standard_normal(i) * scale).astype(np.float32),
            output=(rng.standard_normal(o) * scale).astype(np.float32),
            weight=(rng.standard_normal(i * o) * scale).astype(np.float32),
            bias=(rng.standard_normal(o) * scale).astype(np.float32),
            grad_weight=(rng.standard_normal(i * o) * 1e-6).astype(np.float32) if grads else None,
            grad_bias=(rng.standard_normal(o) * 1e-6).astype(np.float32) if grads else None))
    logits = rng.standard_normal(3).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum()
    return Pass(step=step, epoch=2, layers=layers, wall_ns=1_700_000_000_123_456_789 + step,
                loss=0.25 * step, accuracy=0.5, image=rng.random(6).astype(np.float32),
                true_label=1, prediction=int(np.argmax(probs)), logits=logits, probs=probs.astype(np.float32))


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def close_f16(tc, got, want, what):
    """float16's rounding: half a unit in the last place of each value, and
    a little of the array's largest for values held as subnormals."""
    want = np.asarray(want, np.float64)
    got = np.asarray(got, np.float64)
    tc.assertEqual(got.shape, want.shape, what)
    top = np.abs(want).max() if want.size else 0
    bad = np.abs(got - want) > np.abs(want) / 2048 + top / (1 << 20)
    tc.assertFalse(bad.any(), f"{what}: {got[bad][:5]} for {want[bad][:5]}")


class FormatTest(TempDirCase):
    def write(self, passes, precision="f16", compression="zlib", close=True, **kw):
        path = self.path()
        w = RunWriter(path, arch(**kw), precision=precision, compression=compression)
        for p in passes:
            w.append(p)
        if close:
            w.close()
        return path, w

    def test_magic_and_header_bytes(self):
        path, _ = self.write([])
        b = read_bytes(path)
        self.assertEqual(b[:8], b"MLPV" + struct.pack("<HH", 3, 0x0101))
        n = struct.unpack_from("<Q", b, 8)[0]
        self.assertEqual(struct.unpack_from("<I", b, 16)[0], mlpv_reader.crc(b[8:16]))
        payload = b[20:20 + n]
        self.assertEqual(payload[:5], bytes([1, 3, 0, 0, 0]))
        header = json.loads(payload[5:])
        self.assertEqual(list(header), ["dataset", "model", "input_shape", "class_names", "modules", "head",
                                        "full_head", "neuron_cap", "gradients", "interval", "batch_size",
                                        "seed", "probe"])
        self.assertEqual(header["head"], [{"in": 6, "out": 5}, {"in": 5, "out": 3}])
        self.assertEqual(header["full_head"], header["head"])
        self.assertEqual(header["modules"][0], {"kind": "Linear", "settings": [
            {"key": "in_features", "value": "6"}, {"key": "out_features", "value": "5"}]})
        self.assertEqual(header["modules"][1], {"kind": "ReLU"})
        self.assertEqual(struct.unpack_from("<I", b, 20 + n)[0], mlpv_reader.crc(payload))
        # No pass: the index is empty and the footer points at it.
        f = mlpv_reader.read(path)
        self.assertTrue(f.closed)
        self.assertEqual(f.index, [])
        self.assertEqual(len(b), f.header_end + 12 + 9 + 4 + 16)

    def test_masked_crc(self):
        # TFRecord's masking of zlib's CRC-32 ("123456789" has CRC 0xcbf43926).
        c = 0xCBF43926
        want = (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
        self.assertEqual(runfile.masked_crc(b"123456789"), want)

    def test_f16_bytes(self):
        # max 2.0 = 0.5 * 2**2: k = 13, so 1, -2, 0.5 are stored as 2**13, -2**14, 2**12.
        b = runfile.encode_floats(np.array([1.0, -2.0, 0.5], np.float32), runfile.PRECISION_F16)
        self.assertEqual(b.hex(), "03000000" "0d00" "0070" "00f4" "006c")
        self.assertEqual(runfile.encode_floats(np.zeros(0, np.float32), 0), b"\0\0\0\0")
        self.assertEqual(runfile.encode_floats(None, 0), b"\0\0\0\0")
        # Zeros and non-finite values only: no scale.
        b = runfile.encode_floats(np.array([0, np.inf, -np.inf], np.float32), 0)
        self.assertEqual(b.hex(), "03000000" "0000" "0000" "007c" "00fc")
        b = runfile.encode_floats(np.array([1.5, -2.25], np.float32), runfile.PRECISION_F32)
        self.assertEqual(b, struct.pack("<Iff", 2, 1.5, -2.25))

    def test_f16_scale(self):
        for scale, k in ((1e-6, 34), (1.0, 14), (3.0, 13), (65504.0, -1), (1e30, -85)):
            v = np.array([scale, -scale / 3], np.float32)
            b = runfile.encode_floats(v, 0)
            got = struct.unpack_from("<h", b, 4)[0]
            self.assertEqual(got, k, scale)
            top = abs(float(np.float32(scale))) * 2.0 ** got
            self.assertTrue(2 ** 14 <= top < 2 ** 15, (scale, got, top))

    def round_trip(self, precision, compression):
        rng = np.random.default_rng(7)
        passes = [make_pass(rng, 2 * (i + 1), scale=10.0 ** (i - 2)) for i in range(5)]
        path, w = self.write(passes, precision, compression)
        self.assertEqual(w.passes, 5)
        f = mlpv_reader.read(path)
        self.assertEqual((f.version, f.checksum, f.compression), (3, 1, {"zlib": 1, "none": 2}[compression]))
        self.assertEqual(f.precision, {"f16": 0, "f32": 1}[precision])
        self.assertTrue(f.closed)
        self.assertIsNone(f.partial_at)
        self.assertEqual([p.seq for p in f.passes], list(range(5)))
        self.assertEqual(f.index, [p.offset for p in f.passes])
        self.assertEqual(f.arch["class_names"], ["a", "b", "c"])
        for want, got in zip(passes, f.passes):
            self.assertEqual((got.step, got.epoch, got.true_label, got.prediction), (want.step, 2, 1, want.prediction))
            self.assertEqual((got.wall_sec, got.wall_nsec), divmod(want.wall_ns, 10 ** 9))
            self.assertEqual(got.loss, np.float32(want.loss))
            pairs = [(got.image, want.image), (got.logits, want.logits), (got.probs, want.probs)]
            for gl, wl in zip(got.layers, want.layers):
                pairs += [(gl.input, wl.input), (gl.output, wl.output), (gl.weight, wl.weight), (gl.bias, wl.bias),
                          (gl.grad_weight, wl.grad_weight), (gl.grad_bias, wl.grad_bias)]
            for i, (g, wv) in enumerate(pairs):
                if precision == "f32":
                    np.testing.assert_array_equal(g, wv)
                else:
                    close_f16(self, g, wv, f"pass {got.seq} array {i}")
        return f

    def test_round_trip_f16_zlib(self):
        f = self.round_trip("f16", "zlib")
        # Gradients of 1e-6 keep float16's relative precision through their scale.
        self.assertTrue(all(k == 0 or k > 14 for k in f.passes[0].scales[-2:]))

    def test_round_trip_f32_zlib(self):
        self.round_trip("f32", "zlib")

    def test_round_trip_f16_none(self):
        self.round_trip("f16", "none")

    def test_raw_length_and_zlib_bytes(self):
        rng = np.random.default_rng(1)
        p = make_pass(rng, 1)
        path, _ = self.write([p])
        f = mlpv_reader.read(path)
        b = read_bytes(path)
        off = f.passes[0].offset
        n = struct.unpack_from("<Q", b, off)[0]
        payload = b[off + 12:off + 12 + n]
        raw = runfile.encode_pass(p, 0)
        self.assertEqual(payload[0], 2)
        self.assertEqual(struct.unpack_from("<QQ", payload, 1), (0, len(raw)))
        self.assertEqual(payload[17:], zlib.compress(raw, 1))
        self.assertEqual(f.passes[0].raw_len, len(raw))

    def test_no_gradients_and_no_image(self):
        rng = np.random.default_rng(2)
        p = make_pass(rng, 1, grads=False)
        p.image = None
        path, _ = self.write([p])
        got = mlpv_reader.read(path).passes[0]
        self.assertEqual(got.image.size, 0)
        self.assertEqual(got.layers[0].grad_weight.size, 0)

    def test_pass_must_fit(self):
        rng = np.random.default_rng(3)
        w = RunWriter(self.path(), arch())
        p = make_pass(rng, 1)
        p.layers[1].weight = p.layers[1].weight[:-1]
        with self.assertRaisesRegex(ValueError, "layer 2 weight has 14 values"):
            w.append(p)
        p = make_pass(rng, 1)
        p.logits = np.zeros(4, np.float32)
        with self.assertRaisesRegex(ValueError, "logits has 4 values for 3 classes"):
            w.append(p)
        p = make_pass(rng, 1)
        p.layers = p.layers[:1]
        with self.assertRaisesRegex(ValueError, "has 1 layers, the head has 2"):
            w.append(p)
        w.close()
        self.assertEqual(len(mlpv_reader.read(self.path()).passes), 0)
        with self.assertRaisesRegex(RuntimeError, "already closed"):
            w.append(make_pass(rng, 1))

    def test_limits(self):
        with self.assertRaisesRegex(ValueError, "weights"):
            RunWriter(self.path(), arch(head=[(4096, 4096)]))
        with self.assertRaisesRegex(ValueError, "no Linear layer"):
            RunWriter(self.path(), arch(head=[]))
        self.assertFalse(os.path.exists(self.path()))

    def test_cut_anywhere(self):
        """A file cut at any byte reads up to its last whole pass."""
        rng = np.random.default_rng(4)
        path, _ = self.write([make_pass(rng, i + 1) for i in range(3)])
        b = read_bytes(path)
        full = mlpv_reader.read(b)
        ends = [p.offset for p in full.passes] + [len(b) - 16 - (12 + 9 + 8 * 3 + 4)]
        for cut in range(full.header_end, len(b)):
            f = mlpv_reader.read(b[:cut])
            whole = sum(1 for i in range(3) if ends[i + 1] <= cut)
            self.assertEqual(len(f.passes), whole, cut)
            self.assertFalse(f.closed, cut)
            at_boundary = cut in ends
            self.assertEqual(f.partial_at is None, at_boundary, cut)

    def test_damage_is_seen(self):
        rng = np.random.default_rng(5)
        path, _ = self.write([make_pass(rng, i + 1) for i in range(2)])
        b = bytearray(read_bytes(path))
        f = mlpv_reader.read(bytes(b))
        b[f.passes[1].offset + 40] ^= 1
        with self.assertRaisesRegex(mlpv_reader.Damage, "crc"):
            mlpv_reader.read(bytes(b))

    def test_refuses_existing_and_busy(self):
        path = self.path()
        w = RunWriter(path, arch())
        # Another writer of the same file: refused, forced or not.
        for force in (False, True):
            with self.assertRaises(BusyError) as cm:
                RunWriter(path, arch(), force=force)
            self.assertIn(str(os.getpid()), str(cm.exception))
        # The Go tools' check: an flock on the file fails while it is written.
        fd = os.open(path, os.O_RDONLY)
        with self.assertRaises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        w.close()
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by close
        os.close(fd)
        with self.assertRaises(RunFileExistsError) as cm:
            RunWriter(path, arch())
        self.assertIsInstance(cm.exception, ValueError)
        self.assertIn("force=True", str(cm.exception))

    def test_force_replaces_with_first_pass(self):
        rng = np.random.default_rng(6)
        path = self.path()
        old = self.write([make_pass(rng, 1)])[0]
        before = read_bytes(old)
        w = RunWriter(path, arch(model="New"), force=True)
        self.assertEqual(read_bytes(path), before)  # the old run, until the first pass
        w.append(make_pass(rng, 7))
        f = mlpv_reader.read(path)
        self.assertEqual((f.arch["model"], len(f.passes), f.passes[0].step), ("New", 1, 7))
        w.close()
        self.assertEqual(sorted(os.listdir(self.dir)), ["run.mlpv"])  # no temporary file left
        # A replacement that never gets a pass leaves the old file.
        w = RunWriter(path, arch(model="Newer"), force=True)
        w.close()
        self.assertTrue(w.kept)
        self.assertEqual(mlpv_reader.read(path).arch["model"], "New")
        self.assertEqual(sorted(os.listdir(self.dir)), ["run.mlpv"])

    def test_bad_options(self):
        with self.assertRaisesRegex(ValueError, "precision"):
            RunWriter(self.path(), arch(), precision="f8")
        with self.assertRaisesRegex(ValueError, "compression"):
            RunWriter(self.path(), arch(), compression="zstd")
        self.assertFalse(os.path.exists(self.path()))

    def test_makes_folders(self):
        path = os.path.join(self.dir, "a", "b", "run.mlpv")
        RunWriter(path, arch()).close()
        self.assertTrue(mlpv_reader.read(path).closed)
