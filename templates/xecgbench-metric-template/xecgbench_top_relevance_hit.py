import numpy as np

from xecgbench import hookimpl
from xecgbench.api import MetricInfo


class TopRelevanceHit:
    """Share of the most relevant samples (top ``fraction``) that fall inside the paired mask."""

    info = MetricInfo(
        name="top_relevance_hit",
        version="0.1.0",
        category="localisation",  # ranked in the alignment tables, one column per mask
        higher_is_better=True,
        requires=frozenset({"mask"}),  # batch.mask is then the branch's paired mask
    )
    costly = False  # True: scored on only explain.n_costly samples

    def __init__(self, *, fraction=0.1):
        self.fraction = fraction

    def evaluate_batch(self, batch):
        relevance = batch.attributions.reshape(len(batch.x), -1)
        mask = batch.mask.reshape(len(batch.x), -1)
        k = max(1, int(self.fraction * relevance.shape[1]))
        top = np.argpartition(-relevance, k - 1, axis=1)[:, :k]
        hits = np.take_along_axis(mask, top, axis=1).mean(axis=1)
        return np.where(mask.any(axis=1), hits, np.nan)  # NaN: undefined without a mask


class QrsRelevanceHit(TopRelevanceHit):
    """The same hit rate on the QRS complexes, whichever masks the branch is paired with."""

    info = MetricInfo(
        name="qrs_relevance_hit",
        version="0.1.0",
        category="localisation",
        higher_is_better=True,
        region="qrs",  # its own region: scored once, batch.mask is the QRS mask, label "qrs"
    )


@hookimpl
def xecgbench_register_metrics(registry):
    for metric in (TopRelevanceHit, QrsRelevanceHit):
        registry.register(metric.info.name, metric)
