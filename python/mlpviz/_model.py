"""What the recorder needs to know about a PyTorch model: the module behind
its wrappers, a summary of its modules, and its head."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .runfile import Module


def unwrap(model: nn.Module) -> nn.Module:
    """The model behind DistributedDataParallel, DataParallel (and
    torch.compile's wrapper, where there is one)."""
    wrappers = (nn.parallel.DistributedDataParallel, nn.DataParallel)
    seen = 0
    while seen < 16:
        seen += 1
        if isinstance(model, wrappers):
            model = model.module
        elif type(model).__name__ == "OptimizedModule" and isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            break
    return model


# Names of the positional arguments an extra_repr starts with.
_POSITIONAL = {
    "Conv1d": ("in_channels", "out_channels"),
    "Conv2d": ("in_channels", "out_channels"),
    "Conv3d": ("in_channels", "out_channels"),
    "ConvTranspose1d": ("in_channels", "out_channels"),
    "ConvTranspose2d": ("in_channels", "out_channels"),
    "ConvTranspose3d": ("in_channels", "out_channels"),
    "BatchNorm1d": ("num_features",),
    "BatchNorm2d": ("num_features",),
    "BatchNorm3d": ("num_features",),
    "SyncBatchNorm": ("num_features",),
    "InstanceNorm1d": ("num_features",),
    "InstanceNorm2d": ("num_features",),
    "InstanceNorm3d": ("num_features",),
    "LayerNorm": ("normalized_shape",),
    "GroupNorm": ("num_groups", "num_channels"),
    "Embedding": ("num_embeddings", "embedding_dim"),
}


def _split_top(s: str) -> List[str]:
    """Splits s at the commas outside brackets."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    tail = "".join(cur).strip()
    if tail:
        out.append(tail)
    return [p for p in out if p]


def describe(m: nn.Module) -> Module:
    """One module as the Go trainer describes its layers: PyTorch's class
    name as kind and the settings its extra_repr shows, as text."""
    kind = type(m).__name__
    try:
        extra = m.extra_repr()
    except Exception:
        extra = ""
    settings: List[Tuple[str, str]] = []
    names = _POSITIONAL.get(kind, ())
    pos = 0
    for piece in _split_top(extra.replace("\n", " ")):
        key, eq, value = piece.partition("=")
        if eq and key.strip().isidentifier():
            settings.append((key.strip(), value.strip()))
        else:
            settings.append((names[pos] if pos < len(names) else f"arg{pos}", piece))
            pos += 1
    return Module(kind=kind, settings=settings)


def leaf_modules(model: nn.Module) -> List[nn.Module]:
    """Every module without children, and every one with parameters of its
    own, in registration order, each once."""
    out = []
    for m in model.modules():
        if next(m.children(), None) is None or next(m.parameters(recurse=False), None) is not None:
            out.append(m)
    return out


def describe_model(model: nn.Module, order: Optional[Sequence[nn.Module]] = None) -> List[Module]:
    """The modules of the model for the architecture summary: those that ran
    in the probe's forward, in the order they ran, then any that did not."""
    leaves = leaf_modules(model)
    if order:
        ran = [m for m in order if any(m is l for l in leaves)]
        ids = {id(m) for m in ran}
        leaves = ran + [m for m in leaves if id(m) not in ids]
    return [describe(m) for m in leaves]


def _between(m: nn.Module) -> bool:
    """A module that may sit between two Linear layers of a head: an
    activation, dropout, a 1-d batch norm, layer norm, identity."""
    mod = type(m).__module__ or ""
    if mod.startswith("torch.nn.modules.activation") or mod.startswith("torch.nn.modules.dropout"):
        return True
    return isinstance(m, (nn.BatchNorm1d, nn.LayerNorm, nn.Identity, nn.SyncBatchNorm))


def find_head(order: Sequence[nn.Module], calls: Optional[Dict[int, int]] = None) -> List[nn.Linear]:
    """The trailing chain of Linear layers among the modules in the order
    they ran: from the last Linear back through activations, dropout and
    normalisation, as long as each Linear's outputs feed the next one's
    inputs (and, given how often each module ran, each Linear before the
    last ran once)."""
    last = None
    for i in range(len(order) - 1, -1, -1):
        if isinstance(order[i], nn.Linear):
            last = i
            break
    if last is None:
        return []
    head = [order[last]]
    for m in reversed(order[:last]):
        if isinstance(m, nn.Linear):
            if m.out_features != head[0].in_features or (calls is not None and calls.get(id(m), 0) != 1):
                break
            head.insert(0, m)
        elif not _between(m):
            break
    return head


def first_tensor(out) -> Optional[torch.Tensor]:
    """The model's output tensor: the output itself, the first of a tuple or
    list, a mapping's "logits" (else its first value), or .logits."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out:
        return first_tensor(out[0])
    if isinstance(out, dict) and out:
        return first_tensor(out["logits"] if "logits" in out else next(iter(out.values())))
    lg = getattr(out, "logits", None)
    if isinstance(lg, torch.Tensor):
        return lg
    return None


def model_device(model: nn.Module) -> Tuple[torch.device, Optional[torch.dtype]]:
    """Where the model's parameters live, and their floating dtype."""
    for p in model.parameters():
        return p.device, (p.dtype if p.is_floating_point() else None)
    for b in model.buffers():
        return b.device, (b.dtype if b.is_floating_point() else None)
    return torch.device("cpu"), None


class Probe:
    """One forward of a model with forward hooks on some modules, removed
    after it, in eval mode under no_grad unless told otherwise; every
    module's training flag is restored after it."""

    def __init__(self, model: nn.Module, watch: Sequence[nn.Module], *, eval_mode: bool = True,
                 no_grad: bool = True, order: bool = False):
        self.model, self.watch = model, list(watch)
        self.eval_mode, self.no_grad, self.want_order = eval_mode, no_grad, order
        self.calls: Dict[int, int] = {}
        self.seq: Dict[int, int] = {}  # the order modules first finished in
        self.io: Dict[int, Tuple[torch.Tensor, torch.Tensor]] = {}
        self.order: List[nn.Module] = []

    def _hook(self, m, inputs, output):
        k = id(m)
        self.calls[k] = self.calls.get(k, 0) + 1
        if self.calls[k] > 1:
            return
        self.seq[k] = len(self.seq)
        if self.want_order:
            self.order.append(m)
        if isinstance(m, nn.Linear):
            x = inputs[0] if inputs else None
            y = output
            if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
                self.io[k] = (x.detach(), y.detach())

    def run(self, *args, **kwargs):
        handles = [m.register_forward_hook(self._hook) for m in self.watch]
        modes = [(m, m.training) for m in self.model.modules()]
        try:
            if self.eval_mode:
                self.model.eval()
            if self.no_grad:
                with torch.no_grad():
                    return self.model(*args, **kwargs)
            return self.model(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
            for m, t in modes:
                m.training = t
