from xecgbench import hookimpl
from xecgbench.api import validate_inputs


class GradientXSign:
    """Gradient × sign: the target logit's input gradient, signed by x around ``midpoint``."""

    name = "gradient_x_sign"
    version = "0.1.0"
    family = "gradient"
    needs_baseline = False
    relative_cost = 1.0

    def __init__(self, model, *, midpoint=0.5):
        self.model, self.midpoint = model, midpoint

    def __call__(self, x, target):
        import torch  # imported here so `xecgbench plugins` stays instant

        validate_inputs(self.name, x, target)
        x = x.detach().float().requires_grad_(True)
        with torch.enable_grad():
            logits = self.model(x).gather(1, target.long()[:, None])
            (gradient,) = torch.autograd.grad(logits.sum(), x)
        return gradient * torch.sign(x.detach() - self.midpoint)


@hookimpl
def xecgbench_register_attributions(registry):
    registry.register(GradientXSign.name, GradientXSign)
