"""A training script written the way the PyTorch tool's main.py uses its
collector, with only the import changed to mlpviz's drop-in. The Go test
TestWindowPythonCompat views the run file it leaves and imports its JSON.

Usage: seed_style.py RUN.mlpv COLLECTION.json
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from mlpviz.compat import ModelCollector  # was: from mlp_visualizer import ModelCollector

run, json_path = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
           "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc1 = nn.Linear(4 * 14 * 14, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


model = CNN()
collector = ModelCollector(model, 24, path=run, force=True)
optimizer = torch.optim.AdamW(model.parameters(), lr=0.002)
test_x, test_y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
running_loss, correct, seen = 0.0, 0, 0
for step in range(1, 61):
    model.train()
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    optimizer.zero_grad()
    out = model(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    optimizer.step()
    running_loss += loss.item()
    correct += (out.argmax(1) == y).sum().item()
    seen += len(y)
    if step % 10 == 0:
        # As the tool's main.py: one test sample through the collector.
        model.eval()
        i = step // 10 % len(test_x)
        sample, target = test_x[i:i + 1], test_y[i]
        with torch.no_grad():
            output = collector(sample, input=sample[0])
        prediction = output.argmax(1).item()
        collector.register_value("prediction", (prediction, classes[prediction]))
        collector.register_value("true_label", (target.item(), classes[target.item()]))
        collector.register_value("logits", output[0])
        collector.register_value("loss", running_loss / 10)
        collector.register_value("accuracy", correct / seen)
        running_loss, correct, seen = 0.0, 0, 0
collector.dump_to_json(json_path)
