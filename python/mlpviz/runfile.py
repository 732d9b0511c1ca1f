"""Writing ``.mlpv`` run files, format versions 3 and 4, as mlpviz's Go tools read them.

This module needs only the standard library and numpy; the PyTorch side is
:mod:`mlpviz.recorder`. The layout is the Go package
``collector/runfile``'s (all integers little-endian)::

    magic   "MLPV" | format version uint16 (3 or 4) | codec uint16
    record  header: type 1 | version uint16 (the magic's) | precision uint8 | 0 uint8 | Architecture as JSON
    record  pass:   type 2 | sequence uint64 | raw length uint64 | compressed pass encoding
    ...     one pass record per append, sequence numbers 0, 1, 2, ...
    record  index:  type 3 | count uint64 | count x offset uint64
    footer  index offset uint64 | masked CRC of (offset bytes | "MLPV") uint32 | "MLPV"

Every record is framed as: payload length uint64 | masked CRC of those 8
bytes uint32 | payload | masked CRC of the payload uint32.

A run of a probe set (``Architecture.probes`` > 1) is written as format
version 4 (:data:`FORMAT_VERSION_PROBES`), whose passes may end in the
optional sections below; any other run as version 3 (:data:`FORMAT_VERSION`),
byte for byte as before, so that mlpviz releases older than the probe set
read it. The Go reader gates the sections by the version alone, whatever
the codec.

The codec's low byte names the checksum, its high byte the compression of
pass records. Version 2 files (the Go trainer's) are codec 0: CRC-32C and
zstd. This writer uses checksum 1, CRC-32 as :func:`zlib.crc32` computes it,
masked as TFRecord masks (``((c >> 15) | (c << 17)) + 0xa282ead8`` mod
2**32), and compression 1 (the bytes of :func:`zlib.compress`) or 2 (none:
the pass encoding as is). A pass record that is not zstd carries the length
of the encoding before compression, so a reader can bound what it inflates.

The pass encoding (before compression)::

    step int64 | epoch int64 | wall seconds int64 | wall nanoseconds uint32
    loss float32 | accuracy float32 | true label int64 | prediction int64
    array image | array logits | array probs
    layer count uint32, then per layer:
      array input | output | weight | bias | grad weight | grad bias
    from format version 4, optional sections to the end of the pass, each
    opened by its tag uint8, in increasing tag order, each at most once:
      1 probes: count uint32 (the probe set less the pass's own probe),
        then per probe: true label int64 | prediction int64 | array image |
        array logits | array probs | per layer of the pass: array input |
        array output
      2 health: count uint32 (hidden layers), then per hidden layer:
        array mean | array active fraction | array standard deviation
        (the Go trainer's; this writer writes none)

    A pass without probes leaves the section out: it encodes to the bytes
    version 3 gives it.

    array: count uint32, then for count > 0
      f16: scale exponent k int16 | count float16 bit patterns
      f32: count float32 bit patterns

A float16 value v of an array with exponent k stands for v * 2**-k, where k
puts the array's largest finite magnitude in [2**14, 2**15).

Crash safety is the Go writer's: the magic and header go out in one write,
every pass in one write of its whole framed record (no fsync), and close()
appends the index and footer and syncs. A process killed at any moment
leaves a file that reads up to its last whole pass. The file is locked with
``flock(LOCK_EX | LOCK_NB)`` while it is written, the lock mlpviz's own
writers take, so that two writers never share a path.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import numbers
import os
import stat
import struct
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "FORMAT_VERSION_PROBES",
    "Architecture",
    "Module",
    "LayerPass",
    "Pass",
    "Probe",
    "ProbeLayer",
    "RunWriter",
    "RunFileExistsError",
    "BusyError",
    "encode_pass",
    "encode_floats",
    "masked_crc",
]

FORMAT_VERSION = 3  # a run of one probe per pass: as older mlpviz releases read it
FORMAT_VERSION_PROBES = 4  # a run of a probe set (Architecture.probes > 1)
MAGIC = b"MLPV"

# Codec: checksum in the low byte, pass compression in the high byte.
CHECKSUM_CRC32C = 0  # format version 2, the Go trainer's
CHECKSUM_CRC32 = 1  # zlib.crc32
COMPRESSION_ZSTD = 0
COMPRESSION_ZLIB = 1
COMPRESSION_NONE = 2

PRECISION_F16 = 0
PRECISION_F32 = 1

REC_HEADER = 1
REC_PASS = 2
REC_INDEX = 3

SECTION_PROBES = 1  # format version 4's optional pass sections
SECTION_HEALTH = 2

MAGIC_LEN = 8
FRAME_HEADER_LEN = 12
FRAME_CRC_LEN = 4
FOOTER_LEN = 16

# The Go reader's bounds (collector/runfile/runfile.go): a file that exceeds
# them would not be read, so the writer refuses them up front.
MAX_HEAD_WEIGHTS = 1 << 23
MAX_NEURONS = 1 << 20
MAX_HEAD_LAYERS = 64
MAX_IMAGE = 1 << 22
MAX_CLASSES = 1 << 16
MAX_PROBE_SET = 1 << 12  # the probe set, the pass's own probe included
MAX_PASS_BYTES = 100 << 20
MAX_HEADER_LEN = 16 << 20

FIXED_PASS_LEN = 8 + 8 + 8 + 4 + 4 + 4 + 8 + 8

_u16 = struct.Struct("<H")
_u32 = struct.Struct("<I")
_u64 = struct.Struct("<Q")
_scalars = struct.Struct("<qqqI4s4sqq")
_labels = struct.Struct("<qq")


def masked_crc(data) -> int:
    """TFRecord's masked CRC, over CRC-32 as zlib.crc32 computes it."""
    c = zlib.crc32(data) & 0xFFFFFFFF
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _frame(payload: bytes) -> bytes:
    n = _u64.pack(len(payload))
    return b"".join((n, _u32.pack(masked_crc(n)), payload, _u32.pack(masked_crc(payload))))


def _footer(index_offset: int) -> bytes:
    off = _u64.pack(index_offset)
    return off + _u32.pack(masked_crc(off + MAGIC)) + MAGIC


# --------------------------------------------------------------------------
# What a run file holds: collector/pass.go's Architecture and Pass.


@dataclass
class Module:
    """One module of the whole model, for the architecture summary."""

    kind: str
    settings: List[tuple] = field(default_factory=list)  # (key, value) strings

    def to_json(self) -> dict:
        d = {"kind": self.kind}
        if self.settings:
            d["settings"] = [{"key": str(k), "value": str(v)} for k, v in self.settings]
        return d


@dataclass
class Architecture:
    """A run's description, written once in the header (Go's
    ``collector.Architecture``; JSON field names are its tags)."""

    head: List[tuple]  # (in, out) of every Linear layer of the head
    input_shape: tuple = (0, 0, 0)  # channels, height, width
    class_names: List[str] = field(default_factory=list)
    modules: List[Module] = field(default_factory=list)
    dataset: str = "custom"
    model: str = ""
    full_head: Optional[List[tuple]] = None  # defaults to head
    neuron_cap: int = 0
    gradients: bool = False
    interval: int = 0
    batch_size: int = 0
    seed: int = 0
    probe: str = ""
    probes: int = 0  # the probe set's size: the pass's own probe and Pass.probes; 0 or 1: one

    def to_json(self) -> dict:
        def shapes(h):
            return [{"in": int(i), "out": int(o)} for i, o in h]

        d = {
            "dataset": str(self.dataset),
            "model": str(self.model),
            "input_shape": [int(x) for x in self.input_shape],
            "class_names": [str(c) for c in self.class_names],
            "modules": [m.to_json() for m in self.modules],
            "head": shapes(self.head),
            "full_head": shapes(self.full_head if self.full_head is not None else self.head),
            "neuron_cap": int(self.neuron_cap),
            "gradients": bool(self.gradients),
            "interval": int(self.interval),
            "batch_size": int(self.batch_size),
            "seed": int(self.seed),
        }
        if self.probe:
            d["probe"] = str(self.probe)
        if self.probes > 1:
            d["probes"] = int(self.probes)
        return d

    def format_version(self) -> int:
        """The format version a file of this run is written in: 4 for a probe
        set, else 3."""
        return FORMAT_VERSION_PROBES if self.probes > 1 else FORMAT_VERSION

    def probe_classes(self) -> int:
        """How many logits and probs each probe of Pass.probes takes (or
        none): one per class, or where the classes are unknown one per
        output of the head's last layer (Go's ProbeClasses)."""
        n = len(self.class_names)
        if n or not self.head:
            return n
        return int(self.head[-1][1])

    def image_size(self) -> int:
        c, h, w = self.input_shape
        return int(c) * int(h) * int(w)

    def check_limits(self, precision: int) -> int:
        """Raises ValueError where a Go reader would refuse a file of this
        architecture; returns the largest pass encoding it takes."""
        if len(self.input_shape) != 3:
            raise ValueError(f"input shape {list(self.input_shape)}: want channels, height, width")
        classes = len(self.class_names)
        if classes > MAX_CLASSES:
            raise ValueError(f"{classes} class names (a run file holds at most {MAX_CLASSES})")
        img = 1
        for d in self.input_shape:
            if d < 0 or d > MAX_IMAGE:
                raise ValueError(f"input shape {list(self.input_shape)}: dimension out of range")
            img *= d
        if img > MAX_IMAGE:
            raise ValueError(f"input shape {list(self.input_shape)}: over {MAX_IMAGE} values")
        if (isinstance(self.probes, bool) or not isinstance(self.probes, numbers.Integral)
                or not 0 <= self.probes <= MAX_PROBE_SET):
            raise ValueError(f"a probe set of {self.probes!r} (a run file holds 0 to {MAX_PROBE_SET})")
        if not self.head:
            raise ValueError("the head has no Linear layer")
        if len(self.head) > MAX_HEAD_LAYERS:
            raise ValueError(f"{len(self.head)} head layers (a run file holds at most {MAX_HEAD_LAYERS})")
        weights = neurons = 0
        for i, (n_in, n_out) in enumerate(self.head):
            if n_in <= 0 or n_out <= 0 or n_in > MAX_NEURONS or n_out > MAX_NEURONS:
                raise ValueError(f"head layer {i + 1}: bad shape {n_in}x{n_out}")
            weights += n_in * n_out
            neurons += n_in + n_out
            if weights > MAX_HEAD_WEIGHTS or neurons > MAX_NEURONS:
                raise ValueError(
                    f"a head of {weights:,} weights and {neurons} neurons or more, over the "
                    f"{MAX_HEAD_WEIGHTS:,} weights and {MAX_NEURONS} neurons a run file holds "
                    "(give a smaller head)")
        e = 4 if precision == PRECISION_F32 else 2

        def arr(n):
            return (6 if precision == PRECISION_F16 else 4) + n * e

        total = FIXED_PASS_LEN + arr(img) + 2 * arr(classes or MAX_CLASSES) + 4
        acts = 0  # one probe's activations
        for n_in, n_out in self.head:
            total += 2 * arr(n_in * n_out) + arr(n_in) + 3 * arr(n_out)
            acts += arr(n_in) + arr(n_out)
        extra = max(self.probes, 1) - 1
        if extra > 0:
            total += 1 + 4 + extra * (16 + arr(img) + 2 * arr(self.probe_classes()) + acts)
        if total > MAX_PASS_BYTES:
            raise ValueError(f"a pass would take {total} bytes, over the {MAX_PASS_BYTES} a run file holds")
        return total


@dataclass
class LayerPass:
    """What one Linear layer of the head held for the probe (float32 arrays;
    weight is Out x In row-major, flattened)."""

    input: np.ndarray
    output: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    grad_weight: Optional[np.ndarray] = None
    grad_bias: Optional[np.ndarray] = None


@dataclass
class ProbeLayer:
    """One Linear layer's activations for one probe of Pass.probes."""

    input: np.ndarray
    output: np.ndarray


@dataclass
class Probe:
    """One image of the probe set other than the pass's own (probe 0): what
    the same weights made of it (Go's ``collector.Probe``)."""

    true_label: int = -1
    prediction: int = -1
    image: Optional[np.ndarray] = None
    logits: Optional[np.ndarray] = None
    probs: Optional[np.ndarray] = None
    layers: List[ProbeLayer] = field(default_factory=list)  # one per layer of the head


@dataclass
class Pass:
    """One collection: the head's state for one probe at one step, and, in
    a run of a probe set, the other probes' (``probes``: probe 1 to K-1;
    the fields above it are probe 0)."""

    step: int
    epoch: int
    layers: List[LayerPass]
    wall_ns: int = 0  # Unix time in nanoseconds; 0: now
    loss: float = float("nan")
    accuracy: float = float("nan")
    image: Optional[np.ndarray] = None
    true_label: int = -1
    prediction: int = -1
    logits: Optional[np.ndarray] = None
    probs: Optional[np.ndarray] = None
    probes: List[Probe] = field(default_factory=list)


def _n(a) -> int:
    return 0 if a is None else int(np.size(a))


def check_pass(arch: Architecture, p: Pass) -> None:
    """Go's Architecture.Check: raises ValueError when p does not fit."""
    if len(p.layers) != len(arch.head):
        raise ValueError(f"pass at step {p.step} has {len(p.layers)} layers, the head has {len(arch.head)}")
    for i, (l, (n_in, n_out)) in enumerate(zip(p.layers, arch.head)):
        for name, n, want, optional in (
            ("input", _n(l.input), n_in, False),
            ("output", _n(l.output), n_out, False),
            ("weight", _n(l.weight), n_in * n_out, False),
            ("bias", _n(l.bias), n_out, False),
            ("weight gradient", _n(l.grad_weight), n_in * n_out, True),
            ("bias gradient", _n(l.grad_bias), n_out, True),
        ):
            if n != want and (not optional or n != 0):
                raise ValueError(
                    f"pass at step {p.step}: layer {i + 1} {name} has {n} values, "
                    f"the head's {n_in}x{n_out} layer takes {want}")
    _check_sample(arch, p.step, "", p.image, p.logits, p.probs, len(arch.class_names))
    _check_probes(arch, p)


def _check_sample(arch: Architecture, step: int, who: str, image, logits, probs, classes: int) -> None:
    """A probe's image, logits and probs; classes is how many class outputs
    they take, 0 for any number (Go's checkSample)."""
    img = arch.image_size()
    if _n(image) not in (0, img):
        raise ValueError(f"pass at step {step}: {who}image has {_n(image)} values, "
                         f"the {'x'.join(map(str, arch.input_shape))} input takes {img}")
    if classes:
        for name, a in (("logits", logits), ("probs", probs)):
            if _n(a) not in (0, classes):
                raise ValueError(f"pass at step {step}: {who}{name} has {_n(a)} values for {classes} classes")


def _check_probes(arch: Architecture, p: Pass) -> None:
    """The probe set: none, or the architecture's count less the pass's own
    probe, each with its activations of every layer (Go's checkProbes).
    Probes are numbered from 1 in messages, as users count them (probe 1 is
    the pass's own)."""
    if not p.probes:
        return
    want = max(arch.probes, 1)
    if len(p.probes) != want - 1:
        raise ValueError(f"pass at step {p.step} holds {1 + len(p.probes)} probes, "
                         f"the run's probe set has {want}")
    classes = arch.probe_classes()
    for j, pr in enumerate(p.probes):
        who = f"probe {j + 2} "
        _check_sample(arch, p.step, who, pr.image, pr.logits, pr.probs, classes)
        if len(pr.layers) != len(arch.head):
            raise ValueError(f"pass at step {p.step}: {who}has {len(pr.layers)} layers, "
                             f"the head has {len(arch.head)}")
        for i, (l, (n_in, n_out)) in enumerate(zip(pr.layers, arch.head)):
            for name, n, want_n in (("input", _n(l.input), n_in), ("output", _n(l.output), n_out)):
                if n != want_n:
                    raise ValueError(f"pass at step {p.step}: {who}layer {i + 1} {name} has {n} values, "
                                     f"the head's {n_in}x{n_out} layer takes {want_n}")


# --------------------------------------------------------------------------
# The binary pass encoding (collector/runfile/codec.go).


def f16_shift(v: np.ndarray) -> int:
    """The power of two that brings the largest finite magnitude of v into
    [2**14, 2**15), as codec.go's f16Shift; 0 when there is none."""
    a = np.abs(v)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 0
    m = float(a.max())
    if m == 0.0:
        return 0
    _, e = math.frexp(m)  # m < 2**e
    return 15 - e


def encode_floats(v, precision: int) -> bytes:
    """One array: count uint32, then the values at the precision."""
    if v is None:
        return b"\0\0\0\0"
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    n = v.size
    if n == 0:
        return b"\0\0\0\0"
    if precision == PRECISION_F32:
        return _u32.pack(n) + v.astype("<f4", copy=False).tobytes()
    k = f16_shift(v)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if k == 0:
            h = v.astype("<f2")
        else:
            # Exact in float64; then rounded to float32 and to float16 (ties
            # to even), the roundings Go makes.
            h = (v.astype(np.float64) * math.ldexp(1.0, k)).astype(np.float32).astype("<f2")
    return _u32.pack(n) + struct.pack("<h", k) + h.tobytes()


def encode_pass(p: Pass, precision: int) -> bytes:
    """The binary pass encoding of p, uncompressed."""
    wall = p.wall_ns or time.time_ns()
    sec, nsec = divmod(int(wall), 1_000_000_000)
    parts = [
        _scalars.pack(int(p.step), int(p.epoch), sec, nsec,
                      np.float32(p.loss).tobytes(), np.float32(p.accuracy).tobytes(),
                      int(p.true_label), int(p.prediction)),
        encode_floats(p.image, precision),
        encode_floats(p.logits, precision),
        encode_floats(p.probs, precision),
        _u32.pack(len(p.layers)),
    ]
    for l in p.layers:
        for a in (l.input, l.output, l.weight, l.bias, l.grad_weight, l.grad_bias):
            parts.append(encode_floats(a, precision))
    if p.probes:
        parts.append(bytes([SECTION_PROBES]))
        parts.append(_u32.pack(len(p.probes)))
        for pr in p.probes:
            parts.append(_labels.pack(int(pr.true_label), int(pr.prediction)))
            parts.append(encode_floats(pr.image, precision))
            parts.append(encode_floats(pr.logits, precision))
            parts.append(encode_floats(pr.probs, precision))
            for i in range(len(p.layers)):  # as Go writes: one pair per layer of the pass
                l = pr.layers[i] if i < len(pr.layers) else None
                parts.append(encode_floats(l.input if l is not None else None, precision))
                parts.append(encode_floats(l.output if l is not None else None, precision))
    return b"".join(parts)


# --------------------------------------------------------------------------
# Errors and locking.


class RunFileExistsError(FileExistsError, ValueError):
    """The run file exists and force was not given (a ValueError too)."""


class BusyError(RuntimeError):
    """Another process is writing the run file (it holds its lock)."""

    def __init__(self, path: str, pid: int = 0):
        self.path, self.pid = path, pid
        who = "another process"
        if pid:
            who = f"process {pid}"
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                if cmd:
                    who += f" ({cmd[:77] + '...' if len(cmd) > 80 else cmd})"
            except OSError:
                pass
        super().__init__(f"{path} is being written by {who}; wait for it to finish, or choose another path")


def _lock_holder(fd: int) -> int:
    """The process holding a flock on fd's file, from /proc/locks, or 0."""
    try:
        st = os.fstat(fd)
        want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == want:
                    return int(fields[4])
    except (OSError, ValueError):
        pass
    return 0


def _lock(fd: int, path: str) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise BusyError(path, _lock_holder(fd)) from None
        raise RuntimeError(f"cannot lock {path}: {e.strerror}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _sync_dir(d: str) -> None:
    try:
        fd = os.open(d or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def parse_precision(s) -> int:
    if s in (PRECISION_F16, PRECISION_F32):
        return s
    t = str(s).strip().lower()
    if t == "f16":
        return PRECISION_F16
    if t == "f32":
        return PRECISION_F32
    raise ValueError(f'unknown precision {s!r} (want "f16" or "f32")')


def parse_compression(s) -> int:
    t = str(s).strip().lower()
    if t == "zlib":
        return COMPRESSION_ZLIB
    if t == "none":
        return COMPRESSION_NONE
    raise ValueError(f'unknown compression {s!r} (want "zlib" or "none")')


# --------------------------------------------------------------------------
# The writer.


class RunWriter:
    """Appends passes to a run file (format version 3, or 4 for a run of a
    probe set: ``arch.probes`` > 1; :attr:`version` says which).

    The file appears at ``path`` at once, holding the magic and the header,
    and grows by one whole record per :meth:`append`. With ``force`` an
    existing file is replaced: the new one is written under a temporary name
    beside it and renamed into place with its first pass, so that a run that
    fails before its first pass loses nothing. Without ``force`` an existing
    file is refused (:class:`RunFileExistsError`); a file another writer holds
    always is (:class:`BusyError`). Methods are safe to call from several
    threads.
    """

    def __init__(self, path, arch: Architecture, *, precision="f16", compression="zlib",
                 level: int = 1, force: bool = False):
        self.path = os.fspath(path)
        self.arch = arch
        self.precision = parse_precision(precision)
        self.compression = parse_compression(compression)
        if self.compression == COMPRESSION_ZLIB and not (-1 <= int(level) <= 9):
            raise ValueError(f"zlib level {level} out of range (-1 to 9)")
        self.level = int(level)
        self.max_raw = arch.check_limits(self.precision)
        arch_json = json.dumps(arch.to_json(), separators=(",", ":")).encode()
        if len(arch_json) > MAX_HEADER_LEN - 8:
            raise ValueError(f"the architecture takes {len(arch_json)} bytes, more than a run file holds")
        codec = CHECKSUM_CRC32 | self.compression << 8
        self.version = arch.format_version()
        header = (MAGIC + _u16.pack(self.version) + _u16.pack(codec)
                  + _frame(bytes([REC_HEADER]) + _u16.pack(self.version)
                           + bytes([self.precision, 0]) + arch_json))

        self._mu = threading.Lock()
        self._offsets: List[int] = []
        self._size = 0
        self._err: Optional[BaseException] = None
        self._cut = False  # after _err, the file was cut back to its last whole record
        self._closed = False
        self._fd = -1
        self._temp = ""  # temporary name until published
        self._old_fd = -1  # the file being replaced, locked until then
        self.kept = False  # close() found no pass and left an old file in place

        d = os.path.dirname(self.path)
        if d:
            os.makedirs(d, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            fd = -1
        if fd >= 0:
            try:
                _lock(fd, self.path)
            except BaseException:
                os.close(fd)  # another writer replacing it already: the file is theirs
                raise
            self._start(fd, header, remove=self.path)
            return
        self._old_fd = self._claim(force)
        fd, self._temp = tempfile.mkstemp(prefix="." + os.path.basename(self.path) + ".",
                                          suffix=".partial", dir=d or ".")
        try:
            _lock(fd, self._temp)
        except BaseException:
            os.close(fd)
            os.unlink(self._temp)
            self._release_old()
            raise
        self._start(fd, header, remove=self._temp)

    def _claim(self, force: bool) -> int:
        """Locks the file at path that is to be replaced; -1 when there is none."""
        while True:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                return -1
            if stat.S_ISDIR(st.st_mode):
                raise ValueError(f"cannot create {self.path}: it is a directory")
            if not stat.S_ISREG(st.st_mode):
                raise ValueError(f"cannot replace {self.path}: it is not a regular file")
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return -1
            try:
                _lock(fd, self.path)
            except BaseException:
                os.close(fd)
                raise
            if not force:
                os.close(fd)
                raise RunFileExistsError(
                    f"{self.path} already exists; choose another path or pass force=True to overwrite it")
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same:
                return fd
            os.close(fd)

    def _start(self, fd: int, header: bytes, remove: str) -> None:
        try:
            _write_all(fd, header)
        except OSError as e:
            os.close(fd)
            try:
                os.unlink(remove)
            except OSError:
                pass
            self._release_old()
            raise RuntimeError(f"cannot create {self.path}: writing its header: {e.strerror}") from None
        self._fd, self._size = fd, len(header)

    def _release_old(self) -> None:
        if self._old_fd >= 0:
            os.close(self._old_fd)
            self._old_fd = -1

    def _publish(self) -> None:
        os.fsync(self._fd)
        if self._old_fd >= 0:
            os.rename(self._temp, self.path)
            self._release_old()
        else:
            try:
                os.link(self._temp, self.path)
            except FileExistsError:
                raise RuntimeError(f"{self.path} appeared while this run was being written; "
                                   f"its own file is kept at {self._temp}") from None
            except OSError:  # a file system without hard links
                os.rename(self._temp, self.path)
            else:
                os.unlink(self._temp)
        self._temp = ""
        _sync_dir(os.path.dirname(self.path))

    @property
    def passes(self) -> int:
        """The number of passes written so far."""
        return len(self._offsets)

    @property
    def bytes(self) -> int:
        """The size of the file written so far."""
        return self._size

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, p: Pass) -> None:
        """Writes p as one record in a single write (no fsync). A pass that
        does not fit the architecture is refused with ValueError; a failed
        write is cut back off the file and raises RuntimeError."""
        check_pass(self.arch, p)
        raw = encode_pass(p, self.precision)
        if len(raw) > self.max_raw:
            raise ValueError(f"{self.path}: pass at step {p.step} encodes to {len(raw)} bytes, "
                             f"more than a run file of this architecture holds ({self.max_raw})")
        if self.compression == COMPRESSION_ZLIB:
            body = zlib.compress(raw, self.level)
        else:
            body = raw
        with self._mu:
            if self._closed:
                raise RuntimeError(f"cannot add the pass at step {p.step}: {self.path} is already closed")
            if self._err is not None:
                raise RuntimeError(f"cannot add the pass at step {p.step} to {self.path}: "
                                   f"an earlier write failed: {self._err}")
            payload = b"".join((bytes([REC_PASS]), _u64.pack(len(self._offsets)),
                                _u64.pack(len(raw)), body))
            rec = _frame(payload)
            try:
                _write_all(self._fd, rec)
            except OSError as e:
                self._err = e
                try:
                    os.ftruncate(self._fd, self._size)
                    os.lseek(self._fd, self._size, os.SEEK_SET)
                    self._cut = True
                except OSError:
                    self._cut = False
                raise RuntimeError(f"writing the pass at step {p.step} to {self.path} "
                                   f"(byte {self._size}): {e.strerror}") from None
            self._offsets.append(self._size)
            self._size += len(rec)
            if self._temp:
                try:
                    self._publish()
                except OSError as e:
                    self._err = e
                    raise RuntimeError(f"cannot put {self.path} in place: {e}") from None

    def close(self) -> None:
        """Writes the index and footer in one write, syncs and closes the
        file, releasing its lock. A file that was to replace another and got
        no pass is removed, leaving the other in place (``kept``). Calling
        close again does nothing."""
        with self._mu:
            if self._closed:
                return
            self._closed = True
            try:
                if self._temp and not self._offsets:
                    self.kept = self._old_fd >= 0
                    os.close(self._fd)
                    os.unlink(self._temp)
                    self._temp = ""
                    return
                errs = []
                if self._err is None or self._cut:
                    idx = b"".join([bytes([REC_INDEX]), _u64.pack(len(self._offsets))]
                                   + [_u64.pack(o) for o in self._offsets])
                    buf = _frame(idx) + _footer(self._size)
                    try:
                        _write_all(self._fd, buf)
                        self._size += len(buf)
                    except OSError as e:
                        errs.append(f"writing the index: {e.strerror}")
                        try:
                            os.ftruncate(self._fd, self._size)
                        except OSError:
                            pass
                try:
                    os.fsync(self._fd)
                except OSError as e:
                    errs.append(f"syncing to disk: {e.strerror}")
                os.close(self._fd)
                if self._temp:  # never published
                    os.unlink(self._temp)
                    self._temp = ""
                if errs:
                    raise RuntimeError(f"closing {self.path}: " + "; ".join(errs))
            finally:
                self._release_old()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # A writer dropped without close(): release the descriptors; the
        # file stays readable up to its last pass, as after a crash.
        try:
            if not self._closed and self._fd >= 0:
                self._closed = True
                os.close(self._fd)
                if self._temp and not self._offsets:
                    os.unlink(self._temp)
                self._release_old()
        except Exception:
            pass
