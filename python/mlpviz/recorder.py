"""Recording a PyTorch model's MLP head into a live ``.mlpv`` run file."""

from __future__ import annotations

import atexit
import math
import numbers
import os
import time
import weakref
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from . import _model
from .runfile import Architecture, LayerPass, Pass, Probe, ProbeLayer, RunWriter

__all__ = ["Recorder", "MAX_PROBES"]

# The most probes a pass records (Go's collector.MaxProbes): probes given
# beyond it are left out of the probe set.
MAX_PROBES = 100


def _dist():
    """torch.distributed when a process group is initialised, else None."""
    d = getattr(torch, "distributed", None)
    if d is not None and d.is_available() and d.is_initialized():
        return d
    return None


def _vec(t: Optional[torch.Tensor], n: int) -> np.ndarray:
    """t as a float32 copy on the CPU, flattened; zeros(n) when t is None."""
    if t is None:
        return np.zeros(n, dtype=np.float32)
    return t.detach().to("cpu", torch.float32).reshape(-1).numpy().copy()


def _scalar(v) -> float:
    if isinstance(v, torch.Tensor):
        return float(v.detach().float().mean().item()) if v.numel() != 1 else float(v.item())
    return float(v)


def _input_shape(shape: Sequence[int]) -> tuple:
    """A probe's shape (without the batch dimension) as channels, height, width."""
    shape = [int(d) for d in shape]
    if len(shape) == 0:
        return (1, 1, 1)
    if len(shape) == 1:
        return (1, 1, shape[0])
    if len(shape) == 2:
        return (1, shape[0], shape[1])
    c = 1
    for d in shape[:-2]:
        c *= d
    return (c, shape[-2], shape[-1])


# Recorders and compat collectors still open; closed at a normal exit so
# that their files end with an index.
_open = weakref.WeakSet()


@atexit.register
def _close_all():
    for r in list(_open):
        try:
            r.close()
        except Exception:
            pass


class Recorder:
    """Records a model's MLP head into an mlpviz run file while it trains.

    ::

        rec = Recorder("runs/mine.mlpv", model, probes=x_test[:10], labels=y_test[:10],
                       classes=test_set.classes, every=50)
        for x, y in loader:
            ...                                          # your own training step
            rec.step(loss=loss.item(), accuracy=acc)     # captures every `every` steps
        rec.close()

    Every ``every``-th call of :meth:`step` captures one pass: the probe set
    runs through the model as one batch, in eval mode under
    ``torch.no_grad()``, with forward hooks on the head's Linear layers that
    are installed for that forward only and removed after it; every
    module's training flag is then restored. So training batches never
    touch what a pass records. A pass holds, for every Linear layer of the
    head, its full weight and bias and, with ``gradients=True``, the
    ``.grad`` of both as the last training step left them (zeros where there
    is none); for every probe of the set, each head layer's input
    activations and output (before any activation), the probe image as the
    model sees it, its true label, the model's logits, their softmax and the
    prediction; and the step (calls of ``step()`` so far), the epoch, the
    wall time, and the means of the ``loss`` and ``accuracy`` given to
    ``step()`` since the previous pass (NaN when none were given).

    **Probes.** ``probes`` is a batch of K inputs (K x C x H x W, or any shape
    the model takes with the batch first) and ``labels`` their K classes.
    Every pass records the probe set: ``probes[probe]`` (``probe=0`` by
    default) first, as the pass's own probe, then the other probes in their
    order, all seen by the same weights in one eval-mode forward of a batch
    of the set; ``mlpviz view`` shows them in its probe strip. The set holds
    at most :data:`MAX_PROBES` (100, as mlpviz's own trainer records): probes
    beyond it are left out, without an error (:attr:`probe_set` lists the
    indices recorded; :attr:`probes` keeps all K given). A set of more than
    one probe is written as run file format version 4, which mlpviz reads
    from the release that records probe sets; a single probe (K = 1) as
    version 3, as before.

    **Head.** The trailing chain of ``nn.Linear`` layers, with what lies
    between them (activations, dropout, 1-d batch norm, layer norm), found
    from the modules that run in the probe's forward, in the order they run
    (which is their registration order in ordinary models); or the Linear
    layers given as ``head=[...]``, in order.

    **Devices and processes.** The model may live on a GPU: only the
    captured values are copied to the CPU. ``DistributedDataParallel`` and
    ``DataParallel`` are unwrapped; under ``torch.distributed`` only rank 0
    writes (the other ranks' ``step()`` returns at once), and
    ``step(..., reduce=True)``, called so on every rank, averages the loss
    and accuracy over the ranks before they are recorded.

    The file (format version 3, or 4 for a probe set: CRC-32 and zlib, see
    :mod:`mlpviz.runfile`)
    appears at once and grows by one whole record per pass, so ``mlpviz
    view`` can watch it live and a killed process leaves every pass written
    before; :meth:`close` (or leaving the ``with`` block, or the end of the
    program) adds the index. An existing file is refused unless
    ``force=True``.

    Arguments: ``classes`` names the classes (default "0".."N-1" for the N
    outputs); ``precision`` is "f16" (default: float16 with a power-of-two
    scale per array) or "f32"; ``compression`` is "zlib" (default, at
    ``level`` 1) or "none"; ``dataset``, ``model_name``, ``batch_size`` and
    ``seed`` are recorded in the header as given.

    Attributes: ``head`` (the Linear layers), ``arch`` (the header's
    Architecture), ``probes``, ``probe_set``, ``classes``, ``steps``,
    ``passes`` (written so far), ``last_pass`` (the last one, as written),
    ``rank``.
    """

    def __init__(self, path, model: nn.Module, probes, labels=None, classes=None, *,
                 every: int = 50, probe: int = 0, head: Optional[Sequence[nn.Module]] = None,
                 gradients: bool = False, precision: str = "f16", compression: str = "zlib",
                 level: int = 1, force: bool = False, dataset: str = "custom",
                 model_name: Optional[str] = None, batch_size: int = 0, seed: int = 0):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"every must be a whole number of steps, at least 1, got {every!r}")
        every = int(every)
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.path = os.fspath(path)
        self.every = every
        self.gradients = bool(gradients)
        self._model = _model.unwrap(model)
        self._writer: Optional[RunWriter] = None
        self._closed = False
        self._steps = 0
        self._epoch = 1
        self._reset_means()
        self.passes = 0  # passes written
        self.last_pass: Optional[Pass] = None  # the pass last written, as written

        d = _dist()
        self.rank = d.get_rank() if d is not None else 0

        # Probes, kept whole; passes record the probe set: probes[probe]
        # first, then the others in order, at most MAX_PROBES.
        if probes is None:
            raise ValueError("probes are required: a batch of inputs the model takes, e.g. x_test[:10]")
        if not isinstance(probes, torch.Tensor):
            probes = torch.as_tensor(np.asarray(probes))
        if probes.dim() < 2:
            raise ValueError(f"probes of shape {list(probes.shape)}: want a batch, K x C x H x W "
                             "(or K x features), with the probes along the first dimension")
        self.probes = probes.detach()
        k = self.probes.shape[0]
        if isinstance(probe, bool) or not isinstance(probe, numbers.Integral) or not 0 <= probe < k:
            raise ValueError(f"probe {probe!r} out of range: there are {k} probes (0 to {k - 1})")
        self.probe = probe = int(probe)
        self.probe_set: List[int] = ([probe] + [i for i in range(k) if i != probe])[:MAX_PROBES]
        n = len(self.probe_set)
        self._set_index = torch.tensor(self.probe_set, dtype=torch.long) if n > 1 else None
        self.labels = None
        if labels is not None:
            lab = torch.as_tensor(labels.detach().cpu() if isinstance(labels, torch.Tensor) else np.asarray(labels))
            lab = lab.reshape(-1)
            if lab.numel() != k:
                raise ValueError(f"{lab.numel()} labels for {k} probes")
            self.labels = [int(v) for v in lab.tolist()]

        # One forward of the probe set, watching every module: it finds the
        # head, checks the probes fit the model and tells the classes.
        leaves = _model.leaf_modules(self._model)
        watch = list(leaves)
        if head is not None:
            head = list(head)
            ids = {id(m) for m in self._model.modules()}
            for i, m in enumerate(head):
                if not isinstance(m, nn.Linear):
                    raise ValueError(f"head[{i}] is a {type(m).__name__}, not an nn.Linear")
                if id(m) not in ids:
                    raise ValueError(f"head[{i}] ({m}) is not a module of the model")
                if not any(m is w for w in watch):
                    watch.append(m)
        x = self._probe_input()
        run = _model.Probe(self._model, watch, order=True)
        try:
            out = run.run(x)
        except Exception as e:
            raise ValueError(f"probe of shape {list(self.probes.shape[1:])} does not fit the model: "
                             f"{type(e).__name__}: {e}") from None
        logits = _model.first_tensor(out)
        if logits is None or logits.numel() == 0:
            raise ValueError(f"the model's output ({type(out).__name__}) holds no tensor of logits")
        if n > 1 and (logits.dim() < 2 or logits.shape[0] != n):
            raise ValueError(f"the model's output of shape {list(logits.shape)} for a batch of {n} probes: "
                             "want one row of logits per probe")
        n_classes = logits[0].numel()
        if head is None:
            head = _model.find_head(run.order, run.calls)
            if not head:
                raise ValueError(f"no head found: no nn.Linear layer ran in {type(self._model).__name__}'s "
                                 "forward; give the head's Linear layers as head=[...]")
        for i, m in enumerate(head):
            if i and head[i - 1].out_features != m.in_features:
                raise ValueError(f"head layers {i} and {i + 1} do not chain: {head[i - 1].out_features} "
                                 f"outputs feed {m.in_features} inputs")
            calls = run.calls.get(id(m), 0)
            if calls != 1:
                raise ValueError(f"head layer {i + 1} ({m}) runs {calls} times in one forward of the probe, "
                                 "not once")
            xin, yout = run.io[id(m)]
            if (xin.dim() < 1 or yout.dim() < 1 or xin.shape[0] != n or yout.shape[0] != n
                    or xin[0].numel() != m.in_features or yout[0].numel() != m.out_features):
                raise ValueError(f"head layer {i + 1} ({m}) sees an input of shape {list(xin.shape)}: a head "
                                 "layer must take one vector per sample")
        self.head: List[nn.Linear] = list(head)

        if classes is None:
            classes = [str(i) for i in range(n_classes)]
        else:
            classes = [str(c) for c in classes]
            if len(classes) != n_classes:
                raise ValueError(f"{len(classes)} class names for the model's {n_classes} outputs")
        self.classes = classes
        self.arch = Architecture(
            head=[(m.in_features, m.out_features) for m in self.head],
            input_shape=_input_shape(self.probes.shape[1:]),
            class_names=classes,
            modules=_model.describe_model(self._model, run.order),
            dataset=dataset,
            model=model_name if model_name is not None else type(self._model).__name__,
            gradients=self.gradients,
            interval=every,
            batch_size=int(batch_size),
            seed=int(seed),
            probe=str(probe),
            probes=n if n > 1 else 0,
        )
        if self.rank == 0:
            self._writer = RunWriter(self.path, self.arch, precision=precision, compression=compression,
                                     level=level, force=force)
            _open.add(self)
        else:
            # The same checks as rank 0's writer, so that every rank fails alike.
            from .runfile import parse_compression, parse_precision
            self.arch.check_limits(parse_precision(precision))
            parse_compression(compression)

    # ------------------------------------------------------------------

    def _reset_means(self):
        self._loss_sum = self._loss_n = 0.0
        self._acc_sum = self._acc_n = 0.0

    def _probe_input(self) -> torch.Tensor:
        """The probe set as one batch, on the model's device."""
        dev, dtype = _model.model_device(self._model)
        if self._set_index is None:
            x = self.probes[self.probe:self.probe + 1]
        else:
            x = self.probes.index_select(0, self._set_index.to(self.probes.device))
        if dtype is not None and x.is_floating_point():
            return x.to(device=dev, dtype=dtype)
        return x.to(device=dev)

    @property
    def steps(self) -> int:
        """The number of step() calls so far."""
        return self._steps

    @property
    def writer(self) -> Optional[RunWriter]:
        """The run file's writer; None on ranks other than 0."""
        return self._writer

    def step(self, loss=None, accuracy=None, *, epoch: Optional[int] = None, reduce: bool = False) -> bool:
        """Counts one training step; every ``every`` steps, captures a pass.

        ``loss`` and ``accuracy`` (floats or one-element tensors, optional)
        are averaged over the steps since the previous pass; ``epoch`` is
        recorded from then on (1 until given). With ``reduce=True``, which
        every rank must pass alike, the averages are all-reduced (mean) over
        the ranks of ``torch.distributed`` at each capture. Returns True when
        this step wrote a pass.
        """
        if self._closed:
            raise RuntimeError(f"cannot record step {self._steps + 1}: the recorder of {self.path} is closed")
        self._steps += 1
        if epoch is not None:
            self._epoch = int(epoch)
        if self._writer is None and not reduce:
            return False  # not rank 0
        if loss is not None:
            self._loss_sum += _scalar(loss)
            self._loss_n += 1
        if accuracy is not None:
            self._acc_sum += _scalar(accuracy)
            self._acc_n += 1
        if self._steps % self.every:
            return False
        sums = [self._loss_sum, self._loss_n, self._acc_sum, self._acc_n]
        self._reset_means()
        d = _dist()
        if reduce and d is not None:
            dev = torch.device("cpu")
            if d.get_backend() == "nccl":
                dev = torch.device("cuda", torch.cuda.current_device())
            t = torch.tensor(sums, dtype=torch.float64, device=dev)
            d.all_reduce(t)
            sums = t.cpu().tolist()
        if self._writer is None:
            return False
        loss_mean = sums[0] / sums[1] if sums[1] else math.nan
        acc_mean = sums[2] / sums[3] if sums[3] else math.nan
        self._capture(loss_mean, acc_mean)
        return True

    def capture(self, loss: float = math.nan, accuracy: float = math.nan) -> bool:
        """Captures a pass now, at the current step, whatever ``every`` says
        (on rank 0; elsewhere it does nothing). Returns True when it wrote one."""
        if self._closed:
            raise RuntimeError(f"cannot capture: the recorder of {self.path} is closed")
        if self._writer is None:
            return False
        self._capture(float(loss), float(accuracy))
        return True

    def _capture(self, loss: float, accuracy: float) -> None:
        run = _model.Probe(self._model, self.head)
        out = run.run(self._probe_input())
        wall = time.time_ns()
        n = len(self.probe_set)
        layers = []
        acts = []  # per head layer: the set's inputs and outputs, n rows each
        for i, m in enumerate(self.head):
            if id(m) not in run.io:
                raise RuntimeError(f"head layer {i + 1} ({m}) did not run in the probe's forward at step "
                                   f"{self._steps}")
            x, y = run.io[id(m)]
            if n > 1:
                if x.shape[0] != n or y.shape[0] != n:
                    raise RuntimeError(f"head layer {i + 1} ({m}) saw an input of shape {list(x.shape)} in the "
                                       f"forward of {n} probes at step {self._steps}: want one row per probe")
                acts.append((x.detach().to("cpu", torch.float32).reshape(n, -1).numpy(),
                             y.detach().to("cpu", torch.float32).reshape(n, -1).numpy()))
            lp = LayerPass(
                input=_vec(x[0], m.in_features),
                output=_vec(y[0], m.out_features),
                weight=_vec(m.weight, m.in_features * m.out_features),
                bias=_vec(m.bias, m.out_features),
            )
            if self.gradients:
                lp.grad_weight = _vec(m.weight.grad, m.in_features * m.out_features)
                lp.grad_bias = _vec(m.bias.grad if m.bias is not None else None, m.out_features)
            layers.append(lp)
        all_logits = _model.first_tensor(out).detach().to("cpu", torch.float32)
        if n > 1:  # the set's images in one copy to the CPU
            images = self.probes.index_select(0, self._set_index.to(self.probes.device)).detach()
            images = images.to("cpu", torch.float32).reshape(n, -1).numpy()
        else:
            images = [self.probes[self.probe].detach().to("cpu", torch.float32).reshape(-1).numpy()]
        samples = []  # (image, label, prediction, logits, probs) of each probe of the set
        for j, idx in enumerate(self.probe_set):
            logits = all_logits[j].reshape(-1)
            probs = torch.softmax(logits, dim=0)
            samples.append((
                images[j].copy(),
                self.labels[idx] if self.labels is not None else -1,
                int(np.argmax(probs.numpy())) if probs.numel() else -1,
                logits.numpy().copy(),
                probs.numpy().copy(),
            ))
        probes = []
        for j in range(1, n):
            image, label, pred, logits, probs = samples[j]
            probes.append(Probe(
                true_label=label, prediction=pred, image=image, logits=logits, probs=probs,
                layers=[ProbeLayer(input=xs[j].copy(), output=ys[j].copy()) for xs, ys in acts]))
        image, label, pred, logits, probs = samples[0]
        p = Pass(
            step=self._steps,
            epoch=self._epoch,
            wall_ns=wall,
            loss=loss,
            accuracy=accuracy,
            image=image,
            true_label=label,
            prediction=pred,
            logits=logits,
            probs=probs,
            layers=layers,
            probes=probes,
        )
        self._writer.append(p)
        self.passes += 1
        self.last_pass = p

    def close(self) -> None:
        """Writes the index and footer and closes the file. Calling it again
        does nothing."""
        if self._closed:
            return
        self._closed = True
        _open.discard(self)
        if self._writer is not None:
            self._writer.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"Recorder({self.path!r}, head={[tuple(h) for h in self.arch.head]}, every={self.every}, "
                f"steps={self._steps}, passes={self.passes})")
