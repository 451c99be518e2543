"""Each hand-written loss, miner and sampler against values worked out by hand on tiny tensors."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_metric_learning")

from pytorch_metric_learning.distances import LpDistance  # noqa: E402
from pytorch_metric_learning.losses import TripletMarginLoss  # noqa: E402

from training.losses import CategoryAuxLoss, RobustContrastiveLoss, WeightedTripletLoss  # noqa: E402
from training.miners import HardFractionTripletMiner  # noqa: E402
from training.samplers import CategoryBatchSampler  # noqa: E402

pytestmark = pytest.mark.train

RAW = LpDistance(normalize_embeddings=False)
SQUARED = LpDistance(normalize_embeddings=False, power=2)


def points(*xy: tuple[float, float]) -> torch.Tensor:
    return torch.tensor(xy, dtype=torch.float32)


# Four points on a line: 0, 1 (label 0) and 1.5, 9 (label 1).
LINE = points((0, 0), (1, 0), (1.5, 0), (9, 0))
LINE_LABELS = torch.tensor([0, 0, 1, 1])


def test_hard_fraction_miner_takes_the_hardest_negative_when_the_pool_is_one():
    # Each anchor has 2 negatives; half of them is a pool of 1: the nearest negative.
    # 0 → 1.5 (index 2) beats 9; 1 → 1.5 (2); 1.5 → 1 (1, at 0.5); 9 → 1 (1, at 8).
    a, p, n = HardFractionTripletMiner(fraction=0.5, distance=RAW)(LINE, LINE_LABELS)
    assert list(zip(a.tolist(), p.tolist(), n.tolist())) == [(0, 1, 2), (1, 0, 2), (2, 3, 1), (3, 2, 1)]


def test_hard_fraction_miner_draws_only_inside_the_hardest_quarter():
    # Anchor at 0 (label 0), positive at 1; negatives at 2, 3, 5, 10, 11, 12, 13, 14 (8 of them):
    # the hardest 25% are the two nearest (ref indices 2 and 3), and both get drawn.
    anchor = points((0, 0))
    ref = points((1, 0), (2, 0), (3, 0), (5, 0), (10, 0), (11, 0), (12, 0), (13, 0), (14, 0))
    ref_labels = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8])
    miner = HardFractionTripletMiner(fraction=0.25, seed=3, distance=RAW)
    drawn = set()
    for _ in range(40):
        a, p, n = miner(anchor, torch.tensor([0]), ref, ref_labels)
        assert a.tolist() == [0] and p.tolist() == [0]
        drawn.add(int(n))
    assert drawn == {1, 2}


def test_hard_fraction_miner_is_repeatable_with_a_seed():
    ref = points(*[(float(i), 0.0) for i in range(1, 30)])
    labels = torch.arange(29)
    def draw() -> int:
        return int(HardFractionTripletMiner(0.25, seed=7, distance=RAW)(points((0, 0)), torch.tensor([0]), ref, labels)[2])

    assert draw() == draw()


def test_hard_fraction_miner_feeds_pml_triplet_margin_loss():
    # Triplets above with margin 1 on raw distances: relu(d_ap − d_an + 1)
    # (0,1,2): 1 − 1.5 + 1 = 0.5; (1,0,2): 1 − 0.5 + 1 = 1.5; (2,3,1): 7.5 − 0.5 + 1 = 8; (3,2,1): 7.5 − 8 + 1 = 0.5
    miner = HardFractionTripletMiner(fraction=0.5, distance=RAW)
    loss = TripletMarginLoss(margin=1.0, distance=RAW)
    value = loss(LINE, LINE_LABELS, miner(LINE, LINE_LABELS))
    assert float(value) == pytest.approx((0.5 + 1.5 + 8 + 0.5) / 4)


def test_weighted_triplet_loss_by_hand():
    # a = (1, 0), p = (1, 1), n = (0, 0): ‖a−p‖² = 1, ‖a−n‖² = 1 → ranking max(0, 0.2 + 1 − 1) = 0.2
    # norms 1 + 2 + 0 = 3, d = 2 → α·3/6 = 0.1 · 0.5 = 0.05
    loss = WeightedTripletLoss(margin=0.2, alpha=0.1)
    value = loss(points((1, 0)), torch.tensor([0]), ref_emb=points((1, 1), (0, 0)), ref_labels=torch.tensor([0, 1]))
    assert float(value) == pytest.approx(0.25)


def test_weighted_triplet_loss_uses_mined_triplets():
    # Only triplet (1, 0, 2) of LINE: squared distances 1 and 0.25 → 0.2 + 1 − 0.25 = 0.95;
    # norms 1 + 0 + 2.25 = 3.25, α = 0 → 0.95
    loss = WeightedTripletLoss(margin=0.2, alpha=0.0)
    value = loss(LINE, LINE_LABELS, (torch.tensor([1]), torch.tensor([0]), torch.tensor([2])))
    assert float(value) == pytest.approx(0.95)


CONTRAST = points((0, 0), (0.5, 0), (3, 0), (0, 0.4))
CONTRAST_LABELS = torch.tensor([0, 0, 1, 1])
# Squared distances: positives (0,1) 0.25, (2,3) 9.16 → min(1, d²): 0.25, 0.25, 1, 1 → mean 0.625.
# Negatives (0,2) 9 → 0, (0,3) 0.16 → 0.84, (1,2) 6.25 → 0, (1,3) 0.41 → 0.59, each twice → mean 0.3575.
CONTRAST_LOSS = 0.625 + 0.3575


def test_robust_contrastive_loss_by_hand():
    loss = RobustContrastiveLoss(margin=1.0, distance=SQUARED)
    assert float(loss(CONTRAST, CONTRAST_LABELS)) == pytest.approx(CONTRAST_LOSS)


def test_robust_contrastive_caps_far_positives():
    # Positives 10 apart cost m² = 1 each, not 100; negatives 5 apart cost nothing.
    loss = RobustContrastiveLoss(margin=1.0, distance=SQUARED)
    anchors, ref = points((0, 0), (0, 0.1)), points((10, 0), (0, 5))
    value = loss(anchors, torch.tensor([0, 0]), ref_emb=ref, ref_labels=torch.tensor([0, 1]))
    assert float(value) == pytest.approx(1.0)


def test_category_aux_loss_by_hand():
    # Head = identity, so logits are the points; categories of labels 0, 1 are 0, 1.
    # CE: (0,0)→0: ln 2; (0.5,0)→0: ln(1+e^0.5) − 0.5; (3,0)→1: ln(e^3+1); (0,0.4)→1: ln(1+e^0.4) − 0.4
    terms = [math.log(2), math.log(1 + math.e**0.5) - 0.5, math.log(math.e**3 + 1), math.log(1 + math.e**0.4) - 0.4]
    ce = sum(terms) / 4
    assert ce == pytest.approx(1.1822065, abs=1e-6)
    loss = CategoryAuxLoss(RobustContrastiveLoss(margin=1.0, distance=SQUARED), [0, 1], embedding_size=2, weight=0.5)
    with torch.no_grad():
        loss.head.weight.copy_(torch.eye(2))
        loss.head.bias.zero_()
    assert loss(CONTRAST, CONTRAST_LABELS).item() == pytest.approx(CONTRAST_LOSS + 0.5 * 1.1822065, abs=1e-6)


def test_category_aux_loss_trains_its_head():
    loss = CategoryAuxLoss(RobustContrastiveLoss(), [0, 1], embedding_size=2)
    loss(CONTRAST.clone().requires_grad_(), CONTRAST_LABELS).backward()
    assert loss.head.weight.grad is not None and loss.head.weight.grad.abs().sum() > 0


def test_category_batches_cover_each_example_once_and_favour_one_category():
    categories = ["lamp"] * 9 + ["rug"] * 3 + ["mirror"] * 2 + ["frame_art"] * 2
    sampler = CategoryBatchSampler(categories, batch_size=4, seed=1)
    for _ in range(3):  # every epoch, reshuffled
        batches = list(sampler)
        assert sorted(i for b in batches for i in b) == list(range(len(categories)))
        used: set[int] = set()
        for batch in batches:
            first = categories[batch[0]]
            left = sum(1 for i, c in enumerate(categories) if c == first and i not in used)
            # the batch's category gives all it has left (up to the batch size) before others top up
            assert [categories[i] for i in batch[: min(4, left)]] == [first] * min(4, left)
            used |= set(batch)


def test_category_batches_top_up_from_related_categories_first():
    categories = ["mirror"] * 2 + ["frame_art"] * 3 + ["lamp"] * 6
    for seed in range(20):
        used: set[int] = set()
        for batch in CategoryBatchSampler(categories, 4, seed=seed, related={"mirror": ["frame_art"]}):
            frames_left = {i for i, c in enumerate(categories) if c == "frame_art"} - used
            if categories[batch[0]] == "mirror":
                others = [categories[i] for i in batch if categories[i] != "mirror"]
                expected = ["frame_art"] * min(len(frames_left), len(others))
                assert others[: len(expected)] == expected
            used |= set(batch)


def test_category_batches_are_repeatable():
    categories = ["a"] * 7 + ["b"] * 5
    assert list(CategoryBatchSampler(categories, 3, seed=5)) == list(CategoryBatchSampler(categories, 3, seed=5))


def test_catalog_softmax_as_the_default_recipe_builds_it():
    """ntxent-catalog-pull: crops scored against reference products, as ``loop._step`` calls it."""
    from training.recipes import build_loss, get_recipe

    loss_fn = build_loss(get_recipe("ntxent-catalog-pull"), [0, 0], 2)
    anchors = points((1, 0), (0.6, 0.8))  # unit vectors, labels 0 and 1
    refs = points((1, 0), (0, 1))  # product 0, product 1
    loss = loss_fn(anchors, torch.tensor([0, 1]), None, refs, torch.tensor([0, 1]))
    t = 0.05
    first = -math.log(math.exp(1 / t) / (math.exp(1 / t) + math.exp(0 / t)))  # cos 1 to its own, 0 to the other
    second = -math.log(math.exp(0.8 / t) / (math.exp(0.8 / t) + math.exp(0.6 / t)))
    assert loss.item() == pytest.approx((first + second) / 2, rel=1e-4)
