"""A small, strict, pure-Python reader of .mlpv run files of format versions
3 and 4 as mlpviz.runfile writes them (CRC-32 and zlib or no compression),
written from the Go reader's rules (collector/runfile) to check the writer:
every frame's two CRCs, the header, the sequence numbers, the index and
footer, and the pass encoding down to the last byte, with version 4's
optional sections (1: the probe set, 2: neuron health). It shares no code
with the writer."""

import json
import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np


class Damage(Exception):
    """The file is damaged (not merely cut short)."""


def _mask(c):
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def crc(b):
    return _mask(zlib.crc32(b) & 0xFFFFFFFF)


@dataclass
class Layer:
    input: np.ndarray
    output: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    grad_weight: np.ndarray
    grad_bias: np.ndarray


@dataclass
class ProbeLayer:
    input: np.ndarray
    output: np.ndarray


@dataclass
class Probe:
    true_label: int
    prediction: int
    image: np.ndarray
    logits: np.ndarray
    probs: np.ndarray
    layers: List[ProbeLayer]


@dataclass
class Health:
    mean: np.ndarray
    active: np.ndarray
    std: np.ndarray


@dataclass
class Pass:
    seq: int
    offset: int
    step: int
    epoch: int
    wall_sec: int
    wall_nsec: int
    loss: float
    accuracy: float
    true_label: int
    prediction: int
    image: np.ndarray
    logits: np.ndarray
    probs: np.ndarray
    layers: List[Layer]
    raw_len: int = 0
    scales: List[int] = field(default_factory=list)  # the f16 exponents, in array order
    probes: List[Probe] = field(default_factory=list)  # probe 1 to K-1 (version 4's section 1)
    health: List[Health] = field(default_factory=list)  # version 4's section 2
    sections: List[int] = field(default_factory=list)  # the section tags, in file order


@dataclass
class RunFile:
    version: int
    codec: int
    checksum: int
    compression: int
    precision: int
    arch: dict
    header_end: int
    passes: List[Pass]
    closed: bool  # index and footer present and consistent
    index: Optional[List[int]]
    partial_at: Optional[int]  # offset of a last record cut short, if any
    size: int


def _frame(b, off, end):
    """Returns (payload, next offset), or None when the record is cut short;
    raises Damage when its CRCs fail."""
    if end - off < 12:
        return None
    hdr = b[off:off + 12]
    if crc(hdr[:8]) != struct.unpack_from("<I", hdr, 8)[0]:
        raise Damage(f"offset {off}: record length crc mismatch")
    n = struct.unpack_from("<Q", hdr)[0]
    if n == 0:
        raise Damage(f"offset {off}: empty record")
    if off + 12 + n + 4 > end:
        return None
    payload = b[off + 12:off + 12 + n]
    if crc(payload) != struct.unpack_from("<I", b, off + 12 + n)[0]:
        raise Damage(f"offset {off}: payload crc mismatch")
    return payload, off + 12 + n + 4


class _Cursor:
    def __init__(self, b, precision):
        self.b, self.at, self.prec = b, 0, precision
        self.scales = []

    def take(self, n):
        if self.at + n > len(self.b):
            raise Damage("pass encoding ends early")
        s = self.b[self.at:self.at + n]
        self.at += n
        return s

    def floats(self):
        n = struct.unpack("<I", self.take(4))[0]
        if n == 0:
            return np.zeros(0, np.float32)
        if self.prec == 1:
            return np.frombuffer(self.take(4 * n), "<f4").astype(np.float32)
        k = struct.unpack("<h", self.take(2))[0]
        if not -160 <= k <= 180:
            raise Damage(f"float16 scale exponent {k} out of range")
        self.scales.append(k)
        h = np.frombuffer(self.take(2 * n), "<f2")
        return (h.astype(np.float64) * math.ldexp(1.0, -k)).astype(np.float32)


def decode_pass(raw, precision, seq=0, offset=0, version=3, arch=None):
    if len(raw) < 52:
        raise Damage("pass encoding ends early")
    step, epoch, sec, nsec, loss, acc, label, pred = struct.unpack_from("<qqqIffqq", raw)
    if nsec >= 1_000_000_000:
        raise Damage(f"wall nanoseconds {nsec} out of range")
    c = _Cursor(raw, precision)
    c.at = 52
    image, logits, probs = c.floats(), c.floats(), c.floats()
    nl = struct.unpack("<I", c.take(4))[0]
    layers = [Layer(*[c.floats() for _ in range(6)]) for _ in range(nl)]
    probes, health, tags = [], [], []
    if version >= 4:
        set_size = max(int((arch or {}).get("probes", 0)), 1)
        head_len = len((arch or {}).get("head", []))
        last = 0
        while c.at < len(raw):
            tag = c.take(1)[0]
            if tag <= last or tag > 2:
                raise Damage(f"section {tag} after the last layer: unknown or out of order")
            last = tag
            tags.append(tag)
            n = struct.unpack("<I", c.take(4))[0]
            if n == 0:
                raise Damage(f"section {tag} is empty")
            if tag == 1:
                if n >= set_size:
                    raise Damage(f"{n + 1} probes, the run's probe set has {set_size}")
                for _ in range(n):
                    tl, pd = struct.unpack("<qq", c.take(16))
                    im, lg, pr = c.floats(), c.floats(), c.floats()
                    pl = [ProbeLayer(c.floats(), c.floats()) for _ in range(nl)]
                    probes.append(Probe(tl, pd, im, lg, pr, pl))
            else:
                if int((arch or {}).get("health_batch", 0)) <= 0:
                    raise Damage("neuron health in a run that measures none")
                if n >= head_len:
                    raise Damage(f"the health of {n} hidden layers, the head has {head_len - 1}")
                for _ in range(n):
                    health.append(Health(c.floats(), c.floats(), c.floats()))
    if c.at != len(raw):
        raise Damage(f"{len(raw) - c.at} bytes after the last layer")
    return Pass(seq, offset, step, epoch, sec, nsec, loss, acc, label, pred, image, logits, probs,
                layers, len(raw), c.scales, probes, health, tags)


def check_pass(arch, p):
    """collector.Architecture.Check."""
    head = arch["head"]
    if len(p.layers) != len(head):
        raise Damage(f"pass has {len(p.layers)} layers, the head {len(head)}")
    for l, h in zip(p.layers, head):
        i, o = h["in"], h["out"]
        for a, want, opt in ((l.input, i, False), (l.output, o, False), (l.weight, i * o, False),
                             (l.bias, o, False), (l.grad_weight, i * o, True), (l.grad_bias, o, True)):
            if a.size != want and not (opt and a.size == 0):
                raise Damage(f"array of {a.size} values where {want} belong")
    c, hh, w = arch["input_shape"]
    if p.image.size not in (0, c * hh * w):
        raise Damage("image size")
    k = len(arch["class_names"] or [])
    if k and (p.logits.size not in (0, k) or p.probs.size not in (0, k)):
        raise Damage("logits or probs size")
    if p.probes:
        want = max(int(arch.get("probes", 0)), 1)
        if len(p.probes) != want - 1:
            raise Damage(f"{1 + len(p.probes)} probes, the run's probe set has {want}")
        pk = k or head[-1]["out"]
        for pr in p.probes:
            if pr.image.size not in (0, c * hh * w):
                raise Damage("probe image size")
            if pr.logits.size not in (0, pk) or pr.probs.size not in (0, pk):
                raise Damage("probe logits or probs size")
            if len(pr.layers) != len(head):
                raise Damage("probe layer count")
            for l, h in zip(pr.layers, head):
                if l.input.size != h["in"] or l.output.size != h["out"]:
                    raise Damage("probe activation size")


def read(data) -> RunFile:
    """Reads a whole run file (bytes or a path)."""
    if not isinstance(data, (bytes, bytearray)):
        with open(data, "rb") as f:
            data = f.read()
    b = bytes(data)
    size = len(b)
    if size < 8 or b[:4] != b"MLPV":
        raise Damage("not an mlpv file")
    version, codec = struct.unpack_from("<HH", b, 4)
    if version not in (3, 4):
        raise Damage(f"format version {version}, want 3 or 4")
    checksum, compression = codec & 0xFF, codec >> 8
    if checksum != 1 or compression not in (1, 2):
        raise Damage(f"codec {codec:#06x}: this reader takes CRC-32 with zlib or no compression")
    fr = _frame(b, 8, size)
    if fr is None:
        raise Damage("header record cut short")
    hp, off = fr
    if hp[0] != 1 or struct.unpack_from("<H", hp, 1)[0] != version or hp[4] != 0:
        raise Damage("bad header record")
    precision = hp[3]
    if precision not in (0, 1):
        raise Damage(f"unknown precision {precision}")
    arch = json.loads(hp[5:].decode())
    header_end = off

    passes, offsets = [], []
    index = None
    closed = False
    partial = None
    seq = 0
    while off < size:
        fr = _frame(b, off, size)
        if fr is None:
            partial = off
            break
        payload, nxt = fr
        t = payload[0]
        if t == 2:
            if len(payload) < 17:
                raise Damage(f"offset {off}: pass record too short")
            s, raw_len = struct.unpack_from("<QQ", payload, 1)
            if s != seq:
                raise Damage(f"offset {off}: pass record {s} where pass {seq} belongs")
            body = payload[17:]
            raw = zlib.decompress(body) if compression == 1 else body
            if len(raw) != raw_len:
                raise Damage(f"offset {off}: pass inflates to {len(raw)} bytes, declared {raw_len}")
            p = decode_pass(raw, precision, s, off, version, arch)
            check_pass(arch, p)
            passes.append(p)
            offsets.append(off)
            seq += 1
            off = nxt
        elif t == 3:
            n = struct.unpack_from("<Q", payload, 1)[0]
            if len(payload) != 9 + 8 * n:
                raise Damage("index record of the wrong length")
            index = list(struct.unpack_from(f"<{n}Q", payload, 9))
            if size - nxt < 16:
                partial = nxt
                break
            foot = b[nxt:nxt + 16]
            if foot[12:] != b"MLPV" or struct.unpack_from("<I", foot, 8)[0] != crc(foot[:8] + b"MLPV"):
                raise Damage("footer damaged")
            if struct.unpack_from("<Q", foot)[0] != off:
                raise Damage("footer points elsewhere than the index")
            if nxt + 16 != size:
                raise Damage(f"{size - nxt - 16} bytes after the footer")
            if index != offsets:
                raise Damage(f"index {index} disagrees with the records at {offsets}")
            closed = True
            off = size
        else:
            raise Damage(f"offset {off}: unknown record type {t}")
    return RunFile(version, codec, checksum, compression, precision, arch, header_end, passes,
                   closed, index, partial, size)
