"""Records a small MLP with mlpviz.Recorder and writes, beside the run file,
what PyTorch computes for each captured pass without the recorder: the Go
test TestPythonValues compares the two.

Usage: record_values.py RUN.mlpv EXPECTED.json
"""
import json
import sys

import torch
import torch.nn as nn

from mlpviz import Recorder

run, expected_path = sys.argv[1], sys.argv[2]
torch.manual_seed(3)
model = nn.Sequential(nn.Flatten(), nn.Linear(12, 7), nn.ReLU(), nn.Dropout(0.3), nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 3))
probes = torch.randn(4, 1, 3, 4)
labels = torch.tensor([2, 0, 1, 2])
opt = torch.optim.SGD(model.parameters(), lr=0.1)
linears = [m for m in model if isinstance(m, nn.Linear)]

expected = []
losses, accs = [], []
with Recorder(run, model, probes=probes, labels=labels, classes=["a", "b", "c"], every=4) as rec:
    for step in range(1, 13):
        model.train()
        x, y = torch.randn(8, 1, 3, 4), torch.randint(0, 3, (8,))
        out = model(x)
        loss = nn.functional.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc = (out.argmax(1) == y).float().mean().item()
        losses.append(loss.item())
        accs.append(acc)
        rec.step(loss=loss.item(), accuracy=acc)
        if step % 4:
            continue
        # The pass, computed here in eval mode: what the recorder should hold.
        model.eval()
        with torch.no_grad():
            h = probes[0:1].flatten(1)
            inputs, outputs = [], []
            for m in model:
                if isinstance(m, nn.Linear):
                    inputs.append(h[0].tolist())
                    h = m(h)
                    outputs.append(h[0].tolist())
                elif not isinstance(m, nn.Flatten):
                    h = m(h)
        model.train()
        expected.append({
            "step": step,
            "loss": sum(losses) / len(losses), "accuracy": sum(accs) / len(accs),
            "label": int(labels[0]), "prediction": int(h[0].argmax()),
            "image": probes[0].flatten().tolist(), "logits": h[0].tolist(),
            "inputs": inputs, "outputs": outputs,
            "weights": [m.weight.detach().flatten().tolist() for m in linears],
            "biases": [m.bias.detach().tolist() for m in linears],
        })
        losses, accs = [], []

with open(expected_path, "w") as f:
    json.dump(expected, f)
