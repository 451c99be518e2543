"""Miners pytorch-metric-learning lacks, written as its ``BaseMiner`` subclasses.

They return PML index tuples, so they plug into any PML loss (and ours in ``training.losses``) the
same way ``BatchHardMiner`` or ``TripletMarginMiner`` do, including with ``ref_emb`` (scene crops as
anchors, catalog photos as positives and negatives).
"""

from __future__ import annotations

import math

import torch
from pytorch_metric_learning.miners import BaseMiner
from pytorch_metric_learning.utils import loss_and_miner_utils as lmu


class HardFractionTripletMiner(BaseMiner):
    """One triplet per (anchor, positive): the negative drawn at random from the anchor's hardest negatives.

    ``fraction`` = 0.25 is the published recipe: always taking the single hardest negative (batch
    hard) locks onto label noise and near-duplicate products, a random one is mostly too easy; a
    random pick among the hardest quarter keeps the loss informative without collapsing. The draw
    uses the miner's own seeded generator, so training is repeatable.
    """

    def __init__(self, fraction: float = 0.25, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction
        self.generator = torch.Generator().manual_seed(seed)

    def mine(self, embeddings, labels, ref_emb, ref_labels):
        mat = self.distance(embeddings, ref_emb)
        matches, diffs = lmu.get_matches_and_diffs(labels, ref_labels)
        anchors, positives = torch.where(matches)
        hardness = mat if self.distance.is_inverted else -mat  # larger is harder either way
        hardness = hardness.masked_fill(diffs == 0, -math.inf)
        order = torch.argsort(hardness, dim=1, descending=True, stable=True)
        n_negatives = diffs.sum(dim=1)
        keep = n_negatives[anchors] > 0
        anchors, positives = anchors[keep], positives[keep]
        pool = torch.clamp(torch.ceil(n_negatives[anchors] * self.fraction), min=1).long()
        draw = torch.rand(len(anchors), generator=self.generator).to(pool.device)
        rank = torch.minimum((draw * pool).long(), pool - 1)
        return anchors, positives, order[anchors, rank]
