"""Losses pytorch-metric-learning lacks, written as its ``BaseMetricLossFunction`` subclasses.

Each takes ``(embeddings, labels, indices_tuple, ref_emb, ref_labels)`` like every PML loss, so a
PML miner (or ``training.miners``) feeds it and PML's reducers average it. What PML already does
well (triplet margin, contrastive) is used from PML directly in ``training.recipes``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.losses import BaseMetricLossFunction, GenericPairLoss
from pytorch_metric_learning.utils import loss_and_miner_utils as lmu
from torch import nn
from torch.nn import functional as F


class WeightedTripletLoss(BaseMetricLossFunction):
    """max(0, m + ‖a−p‖² − ‖a−n‖²) + α·(‖a‖² + ‖p‖² + ‖n‖²)/(3d) per triplet, averaged.

    The ranking term works on squared distances of the raw embedding; the small norm penalty keeps
    the embedding from growing to satisfy the margin by scale alone (margin 0.2, α 5e-5 published).
    """

    def __init__(self, margin: float = 0.2, alpha: float = 5e-5, **kwargs):
        super().__init__(**kwargs)
        self.margin = margin
        self.alpha = alpha
        self.add_to_recordable_attributes(list_of_names=["margin", "alpha"], is_stat=False)

    def get_default_distance(self):
        return LpDistance(normalize_embeddings=False, power=2)

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        anchors, positives, negatives = lmu.convert_to_triplets(indices_tuple, labels, ref_labels)
        if len(anchors) == 0:
            return self.zero_losses()
        mat = self.distance(embeddings, ref_emb)
        ranking = F.relu(self.margin + mat[anchors, positives] - mat[anchors, negatives])
        norms = (
            embeddings[anchors].pow(2).sum(1) + ref_emb[positives].pow(2).sum(1) + ref_emb[negatives].pow(2).sum(1)
        )
        losses = ranking + self.alpha * norms / (3 * embeddings.shape[1])
        return {"loss": {"losses": losses, "indices": (anchors, positives, negatives), "reduction_type": "triplet"}}


class RobustContrastiveLoss(GenericPairLoss):
    """Positives cost min(m², d²), negatives max(0, m² − d²).

    Capping the positive term is the robustness: an anchor crop that is not really its product (the
    detector picked the wrong lamp) costs at most m² instead of pulling the two apart images
    together without bound. The default distance is the squared Euclidean distance of L2-normalised
    embeddings, so the formula reads directly off the distance matrix.
    """

    def __init__(self, margin: float = 1.0, **kwargs):
        super().__init__(mat_based_loss=False, **kwargs)
        self.margin = margin
        self.add_to_recordable_attributes(list_of_names=["margin"], is_stat=False)

    def get_default_distance(self):
        return LpDistance(normalize_embeddings=True, power=2)

    def _compute_loss(self, pos_pair_dist, neg_pair_dist, indices_tuple):
        squared_margin = self.margin**2
        return {
            "pos_loss": {
                "losses": torch.clamp(pos_pair_dist, max=squared_margin) if len(pos_pair_dist) else 0,
                "indices": lmu.pos_pairs_from_tuple(indices_tuple),
                "reduction_type": "pos_pair",
            },
            "neg_loss": {
                "losses": F.relu(squared_margin - neg_pair_dist) if len(neg_pair_dist) else 0,
                "indices": lmu.neg_pairs_from_tuple(indices_tuple),
                "reduction_type": "neg_pair",
            },
        }

    def _sub_loss_names(self):
        return ["pos_loss", "neg_loss"]


class CategoryAuxLoss(BaseMetricLossFunction):
    """A metric loss plus ``weight`` × cross-entropy of a linear category head on the same embeddings.

    Labels stay product ids (the PML protocol has one label per embedding); ``label_categories``
    maps each product label to its category index. The auxiliary softmax teaches the embedding what
    kind of object it is, which the pair loss alone learns slowly from few pairs per product.
    The head has parameters: give ``loss.parameters()`` to the optimiser.
    """

    def __init__(
        self, loss: BaseMetricLossFunction, label_categories: Sequence[int], embedding_size: int,
        weight: float = 1.0, **kwargs,
    ):
        super().__init__(**kwargs)
        self.loss = loss
        self.weight = weight
        self.register_buffer("label_categories", torch.as_tensor(list(label_categories), dtype=torch.long))
        self.head = nn.Linear(embedding_size, int(self.label_categories.max()) + 1)

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        metric = self.loss(embeddings, labels, indices_tuple, ref_emb, ref_labels)
        inputs, targets = embeddings, labels
        if ref_emb is not embeddings:
            inputs, targets = torch.cat([embeddings, ref_emb]), torch.cat([labels, ref_labels])
        category = F.cross_entropy(self.head(inputs), self.label_categories[targets])
        return {
            "metric_loss": {"losses": metric, "indices": None, "reduction_type": "already_reduced"},
            "category_loss": {"losses": self.weight * category, "indices": None, "reduction_type": "already_reduced"},
        }

    def _sub_loss_names(self):
        return ["metric_loss", "category_loss"]
