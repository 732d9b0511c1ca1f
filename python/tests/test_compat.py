"""mlpviz.compat.ModelCollector, used as the PyTorch tool's main.py used its
collector: the tool's JSON, and a live run file beside it."""

import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from util import TempDirCase
import mlpv_reader
from mlpviz.compat import ModelCollector
from mlpviz.runfile import RunFileExistsError

MNIST = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
         "8 - eight", "9 - nine"]


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(4 * 6 * 6, 12)
        self.fc2 = nn.Linear(12, 12)
        self.fc3 = nn.Linear(12, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x)).flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def expected(model, sample):
    """fc1's input and fc2's input for the sample, in eval mode."""
    with torch.no_grad():
        x = F.relu(model.conv1(sample)).flatten(1)
        h1 = F.relu(model.fc1(x))
        return x[0], h1[0]


class CompatTest(TempDirCase):
    def run_script(self, register="forward", cap=12, names=MNIST, **kw):
        """main.py's train_and_collect, shortened: collect every 4 batches."""
        torch.manual_seed(0)
        model = CNN()
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        collector = ModelCollector(model, cap, register, path=self.path(), **kw)
        test = torch.randn(3, 1, 1, 6, 6)
        targets = [7, 2, 1]
        seen = []
        avg_loss = 0
        for batch in range(1, 13):
            model.train()
            data, target = torch.randn(32, 1, 6, 6) * 2, torch.randint(0, 10, (32,))
            opt.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            opt.step()
            avg_loss += loss.item()
            if batch % 4:
                continue
            model.eval()
            k = batch // 4 - 1
            sample = test[k]
            x, h1 = expected(model, sample)
            state = {"x": x, "h1": h1, "fc2_w": model.fc2.weight.detach().clone(),
                     "fc1_w": model.fc1.weight.detach().clone(),
                     "grads": [(m.weight.grad.clone(), m.bias.grad.clone()) for m in (model.fc1, model.fc2, model.fc3)]}
            output = collector(sample, input=sample[0])
            prediction = output.argmax(dim=1).item()
            collector.register_value("prediction", (prediction, names[prediction]))
            collector.register_value("true_label", (targets[k], names[targets[k]]))
            collector.register_value("logits", output[0])
            state["logits"] = output[0].detach().clone()
            state["prediction"] = prediction
            collector.register_value("loss", avg_loss / batch)
            collector.register_value("accuracy", torch.tensor(0.25 * (k + 1)))
            # Live: the pass is in the run file as soon as its values are.
            self.assertEqual(len(mlpv_reader.read(self.path()).passes), k + 1)
            seen.append(state)
            model.train()
        json_path = self.path("collection.json")
        collector.dump_to_json(json_path)
        with open(json_path) as f:
            doc = json.load(f)
        return collector, model, test, seen, doc

    def test_json_is_the_tools(self):
        collector, model, test, seen, doc = self.run_script()
        self.assertEqual(list(doc), ["architecture", "1", "2", "3"])  # no pass "0": no training data
        self.assertEqual(list(doc["architecture"]), ["1_Identity", "2_CNN", "3_Conv2d", "4_Linear", "5_Linear",
                                                     "6_Linear", "7_Identity"])
        self.assertEqual(doc["architecture"]["4_Linear"], {"in_features": 144.0, " out_features": 12.0, " bias": True})
        self.assertEqual(doc["architecture"]["3_Conv2d"], {" kernel_size": False, " stride": False, " padding": False})
        self.assertEqual(doc["architecture"]["1_Identity"], {})
        for n, s in enumerate(seen, 1):
            p = doc[str(n)]
            self.assertEqual(list(p), ["input", "4_Linear", "5_Linear", "6_Linear", "prediction", "true_label",
                                       "logits", "loss", "accuracy"])
            self.assertEqual(list(p["4_Linear"]), ["input", "weight", "bias"])
            np.testing.assert_allclose(np.array(p["input"]), test[n - 1][0].numpy(), rtol=1e-6)
            # fc1 under cap 12: its 144 inputs as 12 group means; its weight,
            # of 12 rows, whole (the tool reduces by the first dimension).
            np.testing.assert_allclose(p["4_Linear"]["input"], s["x"].view(12, 12).mean(1).numpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(np.array(p["4_Linear"]["weight"], np.float32), s["fc1_w"].numpy())
            # fc2 whole: the collected sample's values, not a training batch's.
            np.testing.assert_allclose(p["5_Linear"]["input"], s["h1"].numpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(np.array(p["5_Linear"]["weight"], np.float32), s["fc2_w"].numpy())
            self.assertEqual(p["prediction"], [s["prediction"], MNIST[s["prediction"]]])
            self.assertEqual(p["true_label"][1], MNIST[p["true_label"][0]])
            self.assertEqual(p["accuracy"], 0.25 * n)
        self.assertEqual(collector.get_collected_data()[1]["loss"], doc["1"]["loss"])
        # The tool's module tree: the model once, under _model.
        self.assertTrue(all(k.startswith("_model.1.") for k in collector.state_dict()))
        collector.close()

    def test_run_file(self):
        collector, model, test, seen, doc = self.run_script()
        collector.close()
        f = mlpv_reader.read(self.path())
        self.assertTrue(f.closed)
        a = f.arch
        self.assertEqual((a["dataset"], a["model"], a["input_shape"]), ("mnist", "CNN", [1, 6, 6]))
        self.assertEqual(a["class_names"], [str(i) for i in range(10)])
        self.assertEqual(a["head"], [{"in": 144, "out": 12}, {"in": 12, "out": 12}, {"in": 12, "out": 10}])
        self.assertEqual(a["neuron_cap"], 0)
        self.assertFalse(a["gradients"])
        self.assertEqual([p.step for p in f.passes], [4, 8, 12])  # the model's training steps
        for p, s, n in zip(f.passes, seen, (1, 2, 3)):
            self.assertEqual(p.true_label, doc[str(n)]["true_label"][0])
            self.assertEqual(p.prediction, s["prediction"])
            self.assertAlmostEqual(p.loss, doc[str(n)]["loss"], places=5)
            self.assertAlmostEqual(p.accuracy, 0.25 * n)
            close = dict(rtol=2e-3, atol=2e-3)
            np.testing.assert_allclose(p.image, test[n - 1][0].reshape(-1).numpy(), **close)
            np.testing.assert_allclose(p.logits, s["logits"].numpy(), **close)
            np.testing.assert_allclose(p.layers[0].input, s["x"].numpy(), **close)
            np.testing.assert_allclose(p.layers[1].input, s["h1"].numpy(), **close)
            np.testing.assert_allclose(p.layers[0].weight, s["fc1_w"].reshape(-1).numpy(), **close)
            self.assertEqual(p.layers[0].weight.size, 144 * 12)  # full size: the cap is the JSON's

    def test_gradients(self):
        collector, model, test, seen, doc = self.run_script(register="both")
        collector.close()
        f = mlpv_reader.read(self.path())
        self.assertTrue(f.arch["gradients"])
        for p, s, n in zip(f.passes, seen, (1, 2, 3)):
            j = doc[str(n)]["5_Linear"]
            self.assertEqual(list(j), ["input", "weight", "bias", "grad_weight", "grad_bias"])
            np.testing.assert_array_equal(np.array(j["grad_weight"], np.float32), s["grads"][1][0].numpy())
            for layer, (gw, gb) in zip(p.layers, s["grads"]):
                top = gw.abs().max().item()
                np.testing.assert_allclose(layer.grad_weight, gw.reshape(-1).numpy(), rtol=1e-3, atol=top / 2 ** 10)

    def test_other_names_and_no_file(self):
        names = [f"class {i}" for i in range(10)]
        collector, *_ = self.run_script(names=names)
        collector.close()
        a = mlpv_reader.read(self.path()).arch
        self.assertEqual(a["dataset"], "custom")
        self.assertTrue(all(c == str(i) or c == names[i] for i, c in enumerate(a["class_names"])))
        self.assertIn("class 7", a["class_names"])
        with self.assertRaises(RunFileExistsError):
            ModelCollector(CNN(), path=self.path())
        c = ModelCollector(CNN(), 48, path=None)
        out = c(torch.randn(1, 1, 6, 6))
        c.register_value("loss", 1.0)
        c.dump_to_json(self.path("only.json"))
        c.close()
        self.assertEqual(out.shape, (1, 10))
        self.assertEqual(sorted(os.listdir(self.dir)), ["collection.json", "only.json", "run.mlpv"])

    def test_pass_written_when_next_starts(self):
        """Values registered partly: the pass goes out when the next begins."""
        c = ModelCollector(CNN(), 48, path=self.path(), classes=[str(i) for i in range(10)])
        c(torch.randn(1, 1, 6, 6))
        c.register_value("loss", 2.0)
        self.assertFalse(os.path.exists(self.path()))  # created with its first pass
        c(torch.randn(1, 1, 6, 6))
        f = mlpv_reader.read(self.path())
        self.assertEqual(len(f.passes), 1)
        self.assertEqual(f.passes[0].loss, 2.0)
        self.assertTrue(math.isnan(f.passes[0].accuracy))
        c.close()
        self.assertEqual(len(mlpv_reader.read(self.path()).passes), 2)

    def test_cap_reduces_as_the_tool(self):
        collector, model, test, seen, doc = self.run_script(cap=8)
        collector.close()
        p = doc["3"]
        # fc1's weight, 12 rows of 144: rows in 8 groups (4 of 2, 4 of 1), then
        # columns pooled to int(144 / (12 / 8)) = 96 adaptive windows.
        w = seen[2]["fc1_w"]
        groups = torch.stack([g.mean(0) for g in torch.split(w, [2, 2, 2, 2, 1, 1, 1, 1])])
        cols = [(i * 144 // 96, -(-(i + 1) * 144 // 96)) for i in range(96)]
        want = torch.stack([groups[:, a:b].mean(1) for a, b in cols], 1)
        got = np.array(p["4_Linear"]["weight"], np.float32)
        self.assertEqual(got.shape, (8, 96))
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)
        self.assertEqual(len(p["6_Linear"]["bias"]), 8)
        self.assertEqual(len(p["6_Linear"]["input"]), 8)
        # The run file keeps every neuron.
        self.assertEqual(mlpv_reader.read(self.path()).passes[2].layers[0].weight.size, 12 * 144)
