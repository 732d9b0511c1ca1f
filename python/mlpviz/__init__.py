"""mlpviz for PyTorch: record your own model's MLP head into a live ``.mlpv``
run file that ``mlpviz view``, ``inspect``, ``render`` and ``export`` read.

    from mlpviz import Recorder
    rec = Recorder("runs/mine.mlpv", model, probes=x_test[:10], labels=y_test[:10],
                   classes=test_set.classes, every=50)
    for x, y in loader:
        ...                                          # your own training step
        rec.step(loss=loss.item(), accuracy=acc)     # captures every `every` steps
    rec.close()

:class:`Recorder` needs torch; :mod:`mlpviz.runfile` (the file format alone)
needs only numpy. :class:`mlpviz.compat.ModelCollector` stands in for the
PyTorch tool's collector of the same name.
"""

__version__ = "0.1.0"

__all__ = ["Recorder", "ModelCollector", "__version__"]


def __getattr__(name):
    # Imported on first use, so that mlpviz.runfile works without torch.
    if name == "Recorder":
        from .recorder import Recorder

        return Recorder
    if name == "ModelCollector":
        from .compat import ModelCollector

        return ModelCollector
    raise AttributeError(f"module 'mlpviz' has no attribute {name!r}")
