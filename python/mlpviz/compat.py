"""A drop-in for the PyTorch tool's ``ModelCollector`` (the collector of the
PyTorch + PyQt6 visualizer mlpviz grew from, ``mlp_visualizer``'s
``_collector_module.py``).

A script written for the tool works with only its import changed::

    from mlpviz.compat import ModelCollector        # was: from mlp_visualizer import ModelCollector

    collector = ModelCollector(model, neuron_cap)   # path="runs/collector.mlpv" by default
    ...
    output = collector(sample_image, input=sample_image[0])
    collector.register_value("prediction", (prediction, test_dataset.classes[prediction]))
    collector.register_value("true_label", (target.item(), test_dataset.classes[target.item()]))
    collector.register_value("logits", output[0])
    collector.register_value("loss", avg_loss)
    collector.register_value("accuracy", accuracy)
    ...
    collector.dump_to_json(json_path)               # the tool's JSON, as before

Every call of the collector is one pass. Besides the tool's JSON, the
collector writes each pass live into an mlpviz run file (``path``; None
writes none) as soon as the values above are registered (else when the next
pass starts, at ``dump_to_json`` or at ``close``), at full size: the neuron
cap applies to the JSON only. The run file shows the first sample of the
call's batch (the JSON, as the tool's, the batch mean); its head is the
model's trailing chain of Linear layers, as :class:`mlpviz.Recorder` finds
it; the file is created with its first pass. The run file's steps count the model's
forward calls in training mode (its training steps), at least one more than
the previous pass's.

What differs from the tool, on purpose:

* Its forward hooks stayed on the Linear layers for good, so every training
  batch overwrote the current pass's layer data (each pass held the last
  training batch before the next collection, and a pass "0" held the
  training steps before the first one). Here the hooks are installed for
  the collector's own forward only: a pass holds what the collected input
  did, and there is no pass "0".
* With ``register="backward"`` or ``"both"`` the tool's "grad_weight" and
  "grad_bias" held the parameters again; here they hold the gradients the
  last training step left (``.grad``). "grad_input" (which needed backward
  hooks on every training step) is not written.

The JSON is otherwise the tool's: the "architecture" object (every module
but the Sequential containers of ``nn.Sequential(nn.Identity(), model,
nn.Identity())``, keys "N_Kind", settings parsed from each module's repr as
the tool parses them), then one object per pass, keyed by pass number, with
the values given to the call and to ``register_value`` and, per Linear
layer, "input" (the batch mean), "weight" and "bias", reduced to the neuron
cap as the tool reduces them; ``json.dump(..., indent=4, separators=(",",
": "))``. ``mlpviz import`` reads it.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections import defaultdict
from itertools import chain
from typing import Any, Literal, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import _model
from .recorder import _input_shape, _open, _vec
from .runfile import Architecture, LayerPass, Pass, RunFileExistsError, RunWriter

__all__ = ["ModelCollector"]


def to_list(tensor: Any):
    """A tensor as nested lists (the tool's to_list); anything else as is."""
    if isinstance(tensor, torch.Tensor):
        return tensor.detach().cpu().numpy().tolist()
    return tensor


def _split_by_all(pieces, seps):
    for s in seps:
        pieces = list(chain.from_iterable(p.split(s) for p in pieces))
    return pieces


def _try_convert(v: str):
    for t in (float, bool):
        try:
            return t(v)
        except ValueError:
            continue
    return v


def _parse_module_str(module_str: str):
    """The tool's parse of a module's repr: the kind, then the "k=v" pieces
    between "(", ")" and ",", values through float() then bool()."""
    pieces = _split_by_all([module_str], "(),")
    spec = {}
    for piece in pieces[1:]:
        if piece and "=" in piece:
            k, v = piece.split("=", 1)
            spec[k] = _try_convert(v)
    return pieces[0], spec


# Class names torchvision gives, and the dataset and class names mlpviz
# shows for them (catalog/catalog.go).
_TORCH_DATASETS = [
    ("mnist", ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"], [str(i) for i in range(10)]),
    ("fashion_mnist", ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                       "Sneaker", "Bag", "Ankle boot"], None),
    ("cifar10", ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck"], None),
]

_COMPLETE = {"prediction", "true_label", "logits", "loss", "accuracy"}

def _class_pair(v):
    """(index, name or None) from a registered prediction or true label:
    an index, or an (index, name) pair as the tool's main.py registers."""
    if isinstance(v, torch.Tensor):
        v = to_list(v)
    if isinstance(v, (list, tuple)) and v:
        name = v[1] if len(v) > 1 and isinstance(v[1], str) else None
        try:
            return int(v[0]), name
        except (TypeError, ValueError):
            return None, None
    try:
        return int(v), None
    except (TypeError, ValueError):
        return None, None


def _floats(v) -> Optional[np.ndarray]:
    try:
        if isinstance(v, torch.Tensor):
            return v.detach().to("cpu", torch.float32).reshape(-1).numpy().copy()
        return np.asarray(v, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        return None


def _scalar(v) -> float:
    try:
        if isinstance(v, torch.Tensor):
            return float(v.detach().float().reshape(-1)[0].item())
        return float(v)
    except (TypeError, ValueError, IndexError):
        return math.nan


class ModelCollector(nn.Module):
    """The PyTorch tool's collector, with the same constructor and methods,
    that also writes a live mlpviz run file (see the module's docstring).

    ``ModelCollector(model, cap_visualized_layer_size=48, register="forward",
    *, path="runs/collector.mlpv", force=False, classes=None, dataset=None,
    precision="f16", compression="zlib", level=1)``: ``path`` is the run
    file (None: none), refused when it exists unless ``force``; ``classes``
    names the classes (else the names registered with predictions and true
    labels tell them, torchvision's for MNIST, Fashion-MNIST and CIFAR-10).
    """

    _captured_instances = [nn.Linear]

    def __init__(self, model: nn.Module, cap_visualized_layer_size=48,
                 register: Literal["forward", "backward", "both"] = "forward", *,
                 path: Optional[str] = "runs/collector.mlpv", force: bool = False,
                 classes: Optional[Sequence[str]] = None, dataset: Optional[str] = None,
                 precision: str = "f16", compression: str = "zlib", level: int = 1):
        super().__init__()
        if register not in ("forward", "backward", "both"):
            raise ValueError(f'register must be "forward", "backward" or "both", got {register!r}')
        # The tool's wrapping, which its architecture numbering counts.
        self._model = nn.Sequential(nn.Identity(), model, nn.Identity())
        self._state_dict = defaultdict(lambda: defaultdict(dict))
        self._pass_no = 0
        self.register = register
        self.cap_visualized_layer_size = cap_visualized_layer_size
        self._tags = {}
        self._linears = []
        n = 1
        for module in self._model.modules():
            if isinstance(module, (nn.Sequential, nn.ModuleList)):
                continue
            kind, spec = _parse_module_str(str(module))
            tag = f"{n}_{kind}"
            self._tags[id(module)] = tag
            self._state_dict["architecture"][tag] = spec
            n += 1
            if any(isinstance(module, c) for c in self._captured_instances):
                self._linears.append(module)

        # The run file.
        # Kept out of the module tree: the tool's collector holds the model once, as _model.
        self.__dict__["_inner"] = _model.unwrap(model)
        self.path = os.fspath(path) if path is not None else None
        self._force = force
        self._classes = [str(c) for c in classes] if classes is not None else None
        self._dataset = dataset
        self._precision, self._compression, self._level = precision, compression, level
        self._gradients = register in ("backward", "both")
        self._writer: Optional[RunWriter] = None
        self._head = None  # the Linear layers of the head, found at the first call
        self._order = None
        self._pending = None  # the pass being filled in
        self._names = {}  # class index -> name, from registered pairs
        self._last_step = 0
        self._train_steps = 0
        self._closed = False
        self._collecting = False
        self._counter = None
        self.passes = 0  # passes written to the run file
        if self.path is not None:
            if os.path.lexists(self.path) and not force:
                raise RunFileExistsError(f"{self.path} already exists; choose another path or pass "
                                         "force=True to overwrite it")
            # Counts training steps for the run file; it records nothing.
            self._counter = self._inner.register_forward_pre_hook(self._count)
            _open.add(self)

    def _count(self, module, inputs):
        if module.training and not self._collecting:
            self._train_steps += 1

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------
    # The tool's methods.

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """Runs the wrapped model on args as one pass: its Linear layers'
        input (batch mean), weight and bias are collected, and kwargs (such as
        ``input=image``) registered with the pass."""
        self._flush()
        self._pass_no += 1
        for k, v in kwargs.items():
            self._state_dict[self._pass_no][k] = to_list(v)
        first = self._order is None and self.path is not None
        watch = list(self._linears)
        if first:
            watch += [m for m in _model.leaf_modules(self._inner) if not any(m is w for w in watch)]
        if self._head is not None:
            watch += [m for m in self._head if not any(m is w for w in watch)]
        probe = _model.Probe(self._model, watch, eval_mode=False, no_grad=False, order=first)
        self._collecting = True  # the collector's own forward is no training step
        try:
            output = probe.run(*args)
        finally:
            self._collecting = False
        # The tool's JSON: the Linear layers in the order they ran.
        fired = sorted((m for m in self._linears if id(m) in probe.io), key=lambda m: probe.seq[id(m)])
        for m in fired:
            x, _ = probe.io[id(m)]
            entry = self._state_dict[self._pass_no][self._tags[id(m)]]
            entry["input"] = to_list(self._reduce_to_max_len(x.float().mean(dim=0, keepdim=False)))
            for pname, param in m.named_parameters():
                entry[pname] = to_list(self._reduce_to_max_len(param.detach()))
            if self._gradients:
                for pname, param in m.named_parameters():
                    if param.grad is not None:
                        entry[f"grad_{pname}"] = to_list(self._reduce_to_max_len(param.grad.detach()))
        if self.path is not None and not self._closed:
            if first:
                self._order = list(probe.order)
                self._head = _model.find_head(self._order, probe.calls)
                if not self._head:
                    warnings.warn(f"mlpviz: no Linear head found in {type(self._inner).__name__}; "
                                  f"no run file is written to {self.path}", stacklevel=2)
            if self._head:
                self._start_pass(probe, args, kwargs, output)
        return output

    def _reduce_to_max_len(self, tensor: torch.Tensor) -> torch.Tensor:
        """The tool's reduction of a captured array to the neuron cap: its
        first dimension averaged into cap groups (the first ones one longer),
        a matrix's columns then adaptive-average-pooled in proportion."""
        max_size = self.cap_visualized_layer_size
        shape = tensor.shape
        d0 = shape[0]
        if d0 <= max_size:
            return tensor
        base, extra = divmod(d0, max_size)
        sizes = [base + 1 if i < extra else base for i in range(max_size)]
        reduced = torch.stack([c.mean(dim=0) for c in torch.split(tensor, sizes)])
        if reduced.ndim == 1:
            return reduced
        factor = d0 / max_size
        dims = [max(1, int(d / factor)) for d in shape[1:]]
        if reduced.ndim == 2:
            return F.adaptive_avg_pool1d(reduced.unsqueeze(0), dims[-1]).squeeze(0)
        if reduced.ndim == 3:
            return F.adaptive_avg_pool2d(reduced.unsqueeze(0), dims[-2:]).squeeze(0)
        if reduced.ndim == 4:
            return F.adaptive_avg_pool3d(reduced.unsqueeze(0), dims[-3:]).squeeze(0)
        raise ValueError("Tensors with >4D adaptive pooling are not supported directly.")

    def get_collected_data(self):
        """The collected data, as the tool keeps it."""
        return self._state_dict

    def pretty_print(self):
        print(json.dumps(self._state_dict, indent=4, separators=(",", ": ")))

    def dump_to_json(self, json_path: str):
        """Writes the tool's JSON to json_path (and the pending pass to the
        run file)."""
        self._flush()
        with open(json_path, "w") as f:
            json.dump(self._state_dict, f, indent=4, separators=(",", ": "))

    def register_value(self, name: str, value: Any, pass_no: int = -1):
        """Registers value under name with the current pass (or pass_no)."""
        pass_no = pass_no if pass_no > 0 else self._pass_no
        self._state_dict[pass_no][name] = to_list(value) if isinstance(value, torch.Tensor) else value
        p = self._pending
        if p is None or pass_no != p["no"]:
            return
        if name in ("prediction", "true_label"):
            i, label = _class_pair(value)
            if i is not None:
                p[name] = i
                if label is not None:
                    self._names[i] = label
        elif name == "logits":
            v = _floats(value)
            if v is not None:
                p["logits"] = v
        elif name in ("loss", "accuracy"):
            p[name] = _scalar(value)
        elif name == "input":
            v = _floats(value)
            if v is not None:
                p["image"] = v
        p["registered"].add(name)
        if _COMPLETE <= p["registered"]:
            self._flush()

    # ------------------------------------------------------------------
    # The run file.

    def _start_pass(self, probe, args, kwargs, output):
        layers = []
        for m in self._head:
            if id(m) not in probe.io:
                return
            x, y = probe.io[id(m)]
            lp = LayerPass(input=_vec(x[0], m.in_features), output=_vec(y[0], m.out_features),
                           weight=_vec(m.weight, m.in_features * m.out_features),
                           bias=_vec(m.bias, m.out_features))
            if self._gradients:
                lp.grad_weight = _vec(m.weight.grad, m.in_features * m.out_features)
                lp.grad_bias = _vec(m.bias.grad if m.bias is not None else None, m.out_features)
            layers.append(lp)
        img = kwargs.get("input")
        if not isinstance(img, torch.Tensor):
            img = args[0][0] if args and isinstance(args[0], torch.Tensor) and args[0].dim() > 1 else None
        logits = _model.first_tensor(output)
        self._pending = {
            "no": self._pass_no, "registered": set(), "layers": layers,
            "image": _vec(img, 0) if img is not None else None,
            "shape": tuple(img.shape) if img is not None else None,
            "logits": _vec(logits[0], 0) if logits is not None and logits.dim() > 0 else None,
            "prediction": None, "true_label": -1, "loss": math.nan, "accuracy": math.nan,
            "step": max(self._train_steps, self._last_step + 1),
        }

    def _architecture(self, p) -> Architecture:
        n = len(p["logits"]) if p["logits"] is not None else 0
        dataset = self._dataset or "custom"
        if self._classes is not None:
            names = self._classes
        else:
            names = [self._names.get(i, str(i)) for i in range(n)]
            for ds, torch_names, shown in _TORCH_DATASETS:
                if len(torch_names) == n and self._names and all(
                        0 <= i < n and torch_names[i] == s for i, s in self._names.items()):
                    names = shown or torch_names
                    dataset = self._dataset or ds
                    break
        shape = _input_shape(p["shape"]) if p["shape"] is not None else (0, 0, 0)
        return Architecture(
            head=[(m.in_features, m.out_features) for m in self._head],
            input_shape=shape, class_names=names,
            modules=_model.describe_model(self._inner, self._order),
            dataset=dataset, model=type(self._inner).__name__,
            gradients=self._gradients, interval=0)

    def _flush(self):
        """Writes the pending pass to the run file."""
        p, self._pending = self._pending, None
        if p is None or self._closed:
            return
        if self._writer is None:
            self._writer = RunWriter(self.path, self._architecture(p), precision=self._precision,
                                     compression=self._compression, level=self._level, force=self._force)
        logits = p["logits"]
        probs = None
        pred = p["prediction"]
        if logits is not None and logits.size:
            probs = torch.softmax(torch.from_numpy(logits), dim=0).numpy()
            if pred is None:
                pred = int(np.argmax(probs))
        self._writer.append(Pass(
            step=p["step"], epoch=0, layers=p["layers"], loss=p["loss"], accuracy=p["accuracy"],
            image=p["image"], true_label=p["true_label"], prediction=-1 if pred is None else pred,
            logits=logits, probs=probs))
        self._last_step = p["step"]
        self.passes += 1

    def close(self):
        """Writes the pending pass and closes the run file (its index and
        footer). Calling it again does nothing; the end of the program calls
        it too."""
        if self._closed:
            return
        try:
            self._flush()
        finally:
            self._closed = True
            _open.discard(self)
            if self._counter is not None:
                self._counter.remove()
                self._counter = None
            if self._writer is not None:
                self._writer.close()
