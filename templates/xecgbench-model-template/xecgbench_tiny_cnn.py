from collections import OrderedDict

from xecgbench import hookimpl


class TinyCNN:
    """Two small CNN branches: short kernels for morphology, long ones for rhythm."""

    name = "tiny_cnn"
    version = "0.1.0"

    def __call__(self, *, fs, n_samples, width=8):
        import torch  # imported here so `xecgbench plugins` stays instant
        from torch import nn

        def branch(seconds):
            kernel = 2 * max(1, int(seconds * fs / 2)) + 1
            blocks = nn.Sequential(*(nn.Sequential(
                nn.Conv1d(1 if i == 0 else width, width, kernel, padding=kernel // 2), nn.ReLU())
                for i in range(3)))
            head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(width, 2))
            return nn.Sequential(OrderedDict(blocks=blocks, head=head))  # .blocks, .head

        class TwoBranches(nn.Module):
            def __init__(self):
                super().__init__()
                self.branches = nn.ModuleDict(dict(morphology=branch(0.05), rhythm=branch(0.4)))

            def forward(self, x):  # the ensemble as one module: mean of the branch logits
                return torch.stack([b(x) for b in self.branches.values()]).mean(0)

            def explainable(self, name):
                return self if name == "ensemble" else self.branches[name]

            def predict_proba(self, x):
                p = {name: b(x).softmax(1)[:, 1] for name, b in self.branches.items()}
                return {**p, "ensemble": torch.stack(list(p.values())).mean(0)}

        return TwoBranches()


@hookimpl
def xecgbench_register_models(registry):
    registry.register(TinyCNN.name, TinyCNN())
