from xecgbench import hookimpl


class NoiseDetection:
    """Self-supervised: the morphology branch learns to tell clean windows from noisy ones."""

    name = "noise_detection"
    version = "0.1.0"
    branches = ("morphology",)  # the branches this strategy trains

    def __init__(self, *, noise=0.1):
        self.noise = noise

    def pretrain(self, model, data, *, seed, budget):
        import torch  # imported here so `xecgbench plugins` stays instant

        generator = torch.Generator().manual_seed(seed)
        clean = torch.from_numpy(data.signals)
        noisy = clean + self.noise * torch.randn(clean.shape, generator=generator)
        x = torch.cat([clean, noisy])
        y = torch.cat([torch.zeros(len(clean)), torch.ones(len(clean))]).long()
        branch = model.branches["morphology"]  # its 2-logit head: clean vs noisy
        optimiser = torch.optim.Adam(branch.parameters(), lr=budget.lr)
        branch.train()
        for _ in range(budget.epochs):
            for batch in torch.randperm(len(x), generator=generator).split(budget.batch_size):
                optimiser.zero_grad()
                torch.nn.functional.cross_entropy(branch(x[batch]), y[batch]).backward()
                optimiser.step()
        branch.eval()
        with torch.no_grad():
            accuracy = (branch(x).argmax(1) == y).float().mean().item()
        return {"noise_train_accuracy": accuracy}  # shown in the pretraining table


@hookimpl
def xecgbench_register_pretraining(registry):
    registry.register(NoiseDetection.name, NoiseDetection)
