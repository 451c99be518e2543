"""What a recipe names: the trainable model, its loss and miner, its sampler and optimiser.

A recipe is data (``Recipe``), so its card entry says exactly how a model was trained. Everything
PML does well comes from PML; ``training.losses`` / ``training.miners`` add what it lacks.

The model is ``training.export.EmbeddingModel`` itself, trained in place, so what is exported is
what was validated. For training it is seen as a frozen *trunk* (normalisation and the first
``frozen_blocks`` feature blocks, run without gradients, cacheable) and a trained *head* (the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners
from pytorch_metric_learning.distances import LpDistance
from torch import nn
from torch.nn import functional as F

from engine.errors import ModelError
from training.export import EmbeddingModel
from training.losses import CategoryAuxLoss, RobustContrastiveLoss, WeightedTripletLoss
from training.miners import HardFractionTripletMiner

# Weights converted from TF-slim: trained with TF "SAME" padding (0 before, 1 after on stride-2 convs).
TF_SAME_WEIGHTS = {"mobilenet_v2-imagenet-tflite.pth"}
SPLIT_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    loss: str  # triplet | weighted-triplet | robust-contrastive | contrastive-aux | ntxent
    miner: str  # hard25 | semihard | batch-hard | all
    optimizer: str  # sgd | adam
    lr: float
    weight_decay: float = 0.0
    momentum: float = 0.9
    margin: float = 1.0
    alpha: float = 0.0  # weighted triplet: norm penalty
    aux_weight: float = 0.0  # contrastive-aux: weight of the category softmax
    normalize: bool = False  # the loss sees L2-normalised embeddings (else the raw ones)
    sampler: str = "category"  # category | m-per-class
    pull: float = 0.0  # weight of keeping catalog photos' embeddings where the pretrained model put them
    # batch: the batch's products | catalog: every training product, from a bank of unit embeddings
    # taken at the start of each epoch (so only for normalised recipes)
    negatives: str = "batch"
    temperature: float = 0.07  # ntxent: softmax temperature on cosine similarities

    def to_dict(self) -> dict:
        return asdict(self)


RECIPES = {
    r.name: r
    for r in (
        Recipe("triplet-hard25", "triplet loss, negative drawn from the hardest 25% in the batch (published default)",
               loss="triplet", miner="hard25", optimizer="sgd", lr=1e-3, weight_decay=1e-3, margin=1.0),
        Recipe("weighted-triplet", "margin ranking on squared distances + embedding-norm penalty, semi-hard triplets",
               loss="weighted-triplet", miner="semihard", optimizer="adam", lr=5e-5, margin=0.2, alpha=5e-5),
        Recipe("robust-contrastive", "contrastive with capped positives (robust to wrong auto-crops), all pairs",
               loss="robust-contrastive", miner="all", optimizer="adam", lr=1e-4, margin=1.0, normalize=True),
        Recipe("robust-contrastive-pull", "robust contrastive + keep catalog photos' embeddings near the pretrained",
               loss="robust-contrastive", miner="all", optimizer="adam", lr=1e-4, margin=1.0, normalize=True,
               pull=1.0),
        Recipe("ntxent-catalog-pull", "softmax of each crop over every training product (InfoNCE) + the pull",
               loss="ntxent", miner="all", optimizer="adam", lr=1e-4, normalize=True, pull=1.0,
               negatives="catalog", temperature=0.05),
        Recipe("contrastive-aux", "siamese contrastive on L2-normalised output + auxiliary category softmax",
               loss="contrastive-aux", miner="all", optimizer="adam", lr=1e-4, margin=0.8, aux_weight=0.1,
               normalize=True),
        Recipe("batch-hard", "PML batch-hard triplets on normalised output, 2 anchors per product (MPerClassSampler)",
               loss="triplet", miner="batch-hard", optimizer="adam", lr=1e-4, margin=0.2, normalize=True,
               sampler="m-per-class"),
    )
}
# The best on IKEA validation (docs/results.md); the published triplet-hard25 loses recall there within 2 epochs.
DEFAULT_RECIPE = "ntxent-catalog-pull"
DEFAULT_BACKBONE = "mobilenet_v2"


def model_name(backbone: str = DEFAULT_BACKBONE, recipe: str = DEFAULT_RECIPE) -> str:
    """What ``decorlens train`` calls its model unless told otherwise, and ``decorlens eval`` looks for."""
    return f"{backbone}-{recipe}"


def get_recipe(name: str, lr: float | None = None) -> Recipe:
    """A named recipe, with its learning rate replaced when ``lr`` is given."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r} (known: {', '.join(RECIPES)})")
    return replace(RECIPES[name], lr=lr) if lr else RECIPES[name]


# -- loss and miner -------------------------------------------------------------------------------


def build_loss(recipe: Recipe, label_categories: Sequence[int], dim: int) -> nn.Module:
    """The recipe's loss, measuring distances the way the recipe's embedding space is meant."""
    distance = LpDistance(normalize_embeddings=recipe.normalize)
    if recipe.loss == "triplet":
        return pml_losses.TripletMarginLoss(margin=recipe.margin, distance=distance)
    if recipe.loss == "weighted-triplet":
        return WeightedTripletLoss(margin=recipe.margin, alpha=recipe.alpha)
    if recipe.loss == "robust-contrastive":
        return RobustContrastiveLoss(margin=recipe.margin)
    if recipe.loss == "ntxent":
        return pml_losses.NTXentLoss(temperature=recipe.temperature)
    if recipe.loss == "contrastive-aux":
        base = pml_losses.ContrastiveLoss(pos_margin=0.0, neg_margin=recipe.margin, distance=distance)
        return CategoryAuxLoss(base, label_categories, dim, weight=recipe.aux_weight)
    raise ValueError(f"recipe {recipe.name}: unknown loss {recipe.loss!r}")


def build_miner(recipe: Recipe, seed: int) -> nn.Module | None:
    if recipe.miner == "hard25":
        return HardFractionTripletMiner(0.25, seed=seed, distance=LpDistance(normalize_embeddings=recipe.normalize))
    if recipe.miner == "semihard":
        squared = LpDistance(normalize_embeddings=recipe.normalize, power=2)
        return pml_miners.TripletMarginMiner(margin=recipe.margin, type_of_triplets="semihard", distance=squared)
    if recipe.miner == "batch-hard":
        return pml_miners.BatchHardMiner(distance=LpDistance(normalize_embeddings=recipe.normalize))
    if recipe.miner == "all":
        return None
    raise ValueError(f"recipe {recipe.name}: unknown miner {recipe.miner!r}")


def build_optimizer(recipe: Recipe, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    raise ValueError(f"recipe {recipe.name}: unknown optimizer {recipe.optimizer!r}")


# -- the model ------------------------------------------------------------------------------------


class TrunkHead(nn.Module):
    """An ``EmbeddingModel`` split into a frozen trunk and a trained head (same parameters).

    Works for torchvision backbones built as ``features`` → average pool → ``classifier``
    (MobileNet, EfficientNet, ...) and for ``training.effnet_lite``'s (GeM pool); the split is checked against the whole model when built.
    BatchNorm and dropout stay in eval mode throughout: the converted weights fold BatchNorm into
    a bias (batch statistics would change the function), and dropout on an embedding fights the
    metric loss.
    """

    def __init__(self, model: EmbeddingModel, frozen_blocks: int):
        super().__init__()
        features = getattr(model.backbone, "features", None)
        if not isinstance(features, nn.Sequential) or not 0 <= frozen_blocks < len(features):
            raise ModelError(
                f"{model.recipe.get('backbone')}: cannot freeze {frozen_blocks} blocks "
                "(needs a torchvision backbone with a `features` sequence longer than that)"
            )
        self.model = model
        self.frozen_blocks = frozen_blocks
        self._trunk = features[:frozen_blocks]
        self._rest = features[frozen_blocks:]
        for p in self._trunk.parameters():
            p.requires_grad_(False)
        self.eval()
        self._check_split()

    def train(self, mode: bool = True) -> TrunkHead:
        return super().train(False)

    def trunk(self, pixels: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self._trunk((pixels - self.model.mean) / self.model.std)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """Raw (not normalised) embeddings from trunk features, pooled as the backbone pools (its ``pool``,
        e.g. EfficientNet-Lite0's GeM, else torchvision's average)."""
        mapped = self._rest(features)
        pool = getattr(self.model.backbone, "pool", None)
        pooled = pool(mapped) if pool is not None else torch.flatten(F.adaptive_avg_pool2d(mapped, 1), 1)
        return self.model.projection(self.model.backbone.classifier(pooled))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(pixels))

    def _check_split(self) -> None:
        sample = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            diff = (F.normalize(self(sample), dim=1) - self.model(sample)).abs().max().item()
        if diff > SPLIT_TOLERANCE:
            raise ModelError(f"{self.model.recipe.get('backbone')}: trunk + head differ from the model ({diff:.1e})")


def use_tf_same_padding(model: EmbeddingModel, weights: Path | None) -> bool:
    """Give TF-converted weights the padding they were trained with; True when applied.

    torchvision pads stride-2 3×3 convs by 1 on every side, TF "SAME" by 0 before and 1 after (for
    even inputs, which a 224 input stays down to 7 px). With TF padding the shared MobileNetV2 state
    dict reproduces the stock ONNX embedder exactly, so fine-tuning starts *from* the pretrained
    baseline instead of from a slightly worse copy of it (see models/MANIFEST.md).
    """
    if weights is None or Path(weights).name not in TF_SAME_WEIGHTS:
        return False
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d) and child.stride == (2, 2) and child.kernel_size == (3, 3):
                child.padding = (0, 0)
                setattr(parent, name, nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), child))
    model.recipe["padding"] = "TF SAME on stride-2 convs"
    return True
