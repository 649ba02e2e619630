from xecgbench import hookimpl
from xecgbench.api import FineTuneStage


class HeadFirst:
    """Train only the heads (every block frozen) for ``head_epochs``, then everything."""

    name = "head_first"
    version = "0.1.0"

    def __init__(self, *, head_epochs=1):
        self.head_epochs = head_epochs

    def stages(self, n_blocks, epochs):
        head = min(self.head_epochs, epochs)
        stages = [FineTuneStage(frozen_blocks=n_blocks, epochs=head),
                  FineTuneStage(frozen_blocks=0, epochs=epochs - head)]
        return [stage for stage in stages if stage.epochs > 0]


@hookimpl
def xecgbench_register_freezing(registry):
    registry.register(HeadFirst.name, HeadFirst)
