"""The category map: detector classes → decor categories → catalog categories searched.

One YAML file (``resources/categories.yaml``; a user copy in the data dir wins) is the single source
of truth used by detection, search, evaluation and the GUI legend.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import DecorLensError
from engine.files import read_yaml
from engine.paths import resources_dir

FILE_NAME = "categories.yaml"


@dataclass(frozen=True)
class CategoryMap:
    """Parsed category map; immutable so one instance is shared safely across threads."""

    search: dict[str, tuple[str, ...]]  # decor category → catalog categories searched
    classes: dict[str, dict[str, str]]  # class set → detector class → decor category
    source: Path
    names: dict[str, str] = field(default_factory=dict)  # category key → the name people read
    confidence: dict[str, dict[str, float]] = field(default_factory=dict)  # class set → class → its own confidence
    parts: dict[str, frozenset[str]] = field(default_factory=dict)  # class set → classes that name a part
    floor: frozenset[str] = frozenset()  # catalog categories whose products lie flat on the floor (rugs)

    @classmethod
    def load(cls, data_dir: Path | None = None) -> CategoryMap:
        """The user's map in ``data_dir`` if there is one, else the shipped default. One there that is no file (a
        link to a share not mounted, a folder) is its one-line error: taken as absent, the user's categories were
        silently the shipped ones."""
        user = data_dir / FILE_NAME if data_dir else None
        path = user if user and os.path.lexists(user) else resources_dir() / FILE_NAME
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: Path) -> CategoryMap:
        raw = read_yaml(path, "category map", "the default")
        try:
            return cls._parse(raw, path)
        except (AttributeError, TypeError) as exc:
            raise DecorLensError(
                f"category map {path}: `categories` and `detectors` must be mappings; fix it, or delete it to use "
                "the default"
            ) from exc

    @classmethod
    def _parse(cls, raw: dict, path: Path) -> CategoryMap:
        keys = {_key(name, "categories", path): spec for name, spec in (raw.get("categories") or {}).items()}
        if not keys:  # loaded quietly, it tagged nothing and search said "nothing the catalog sells ()"
            raise DecorLensError(f"category map {path} names no categories, so nothing could be tagged; fix it, "
                                 "or delete it to use the default")
        search = {name: _searched(name, (spec or {}).get("search"), path) for name, spec in keys.items()}
        classes: dict[str, dict[str, str]] = {}
        for class_set, mapping in (raw.get("detectors") or {}).items():
            if not isinstance(mapping, Mapping | None):
                raise DecorLensError(f"category map {path}: detectors.{class_set} must map detector classes "
                                     "to categories; fix it, or delete it to use the default")
            mapping = dict(mapping or {})
            mapping.pop("drop", None)
            where = f"detectors.{_key(class_set, 'detectors', path)}"
            mapping = {_key(k, where, path): _key(v, where, path) for k, v in mapping.items()}
            unknown = sorted({v for v in mapping.values() if v not in search})
            if unknown:
                raise DecorLensError(
                    f"category map {path}: detectors.{class_set} maps to unknown categories {unknown}; "
                    "add them under `categories`"
                )
            classes[str(class_set)] = mapping
        names = {_key(k, "names", path): _name(k, v, path) for k, v in (raw.get("names") or {}).items() if v}
        return cls(search=search, classes=classes, source=path, names=names,
                   confidence=_confidences(raw.get("confidence") or {}, path),
                   parts=_parts(raw.get("parts") or {}, path),
                   floor=_floor(raw["floor"], path) if "floor" in raw else _shipped_floor(path))

    def display_name(self, category: str) -> str:
        """How the app, the pages and the reports write ``category``: see :func:`display_name`."""
        return display_name(category, self.names)

    def decor_category(self, class_set: str, label: str) -> str | None:
        """The decor category of a detector class, or None when the class is not decor."""
        return self.classes.get(class_set, {}).get(label)

    def class_confidence(self, class_set: str) -> dict[str, float]:
        """Detector class → the confidence it needs instead of the card's (classes not listed keep the card's)."""
        return dict(self.confidence.get(class_set, {}))

    def part_classes(self, class_set: str) -> frozenset[str]:
        """Detector classes that find a part of a piece (a drawer): side-by-side ones are joined into one box."""
        return self.parts.get(class_set, frozenset())

    def lies_on_floor(self, catalog_category: str) -> bool:
        """Whether products of ``catalog_category`` lie flat on the floor, seen from the side in a room (rugs)."""
        return catalog_category in self.floor

    def floor_categories(self) -> frozenset[str]:
        """Decor categories whose objects lie flat on the floor: every catalog category they search does (rugs)."""
        return frozenset(d for d, searched in self.search.items() if all(map(self.lies_on_floor, searched)))

    def detection_digest(self) -> str:
        """A short digest of what turns detector boxes into tags and labels: class mappings, class
        confidences, part classes, floor categories. Caches of detections key on it, so editing those
        sections of a map invalidates them; adding a category's search list or a name does not.
        """
        parts = {k: sorted(v) for k, v in self.parts.items()}
        text = json.dumps([self.classes, self.confidence, parts, sorted(self.floor)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def searched(self, category: str) -> tuple[str, ...]:
        """Catalog categories to search for an object of this decor category."""
        return self.search.get(category, (category,))

    def covers(self, decor_categories: set[str], catalog_category: str) -> bool:
        """Whether any of these detected categories would search ``catalog_category``."""
        return any(catalog_category in self.searched(c) for c in decor_categories)

    @property
    def categories(self) -> list[str]:
        return list(self.search)


def _key(value: object, where: str, path: Path) -> str:
    """A category or detector class as the map names it: text, or a number YAML read from unquoted digits
    (``2024:``). ``null:``, ``yes:`` or a list were kept as they were, and the first ``display_name`` of such a
    category (the app's tag panel and Settings list) ended in a TypeError."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    shown = f"a {type(value).__name__}" if isinstance(value, list | dict) else reprlib.repr(value)
    raise DecorLensError(f"category map {path}: {where} names {shown} where a category or class name goes "
                         "(quote it if it is text); fix it, or delete it to use the default")


def _searched(category: str, raw: object, path: Path) -> tuple[str, ...]:
    """A category's ``search`` list (itself when absent). Checked, not converted: ``tuple("lamp")`` would
    search the letters, and ``str`` of a list of aliases costs what the aliases expand to (a bomb)."""
    if not raw:
        return (category,)
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise DecorLensError(f"category map {path}: categories.{category}.search must be a list of catalog "
                             "categories, such as [sofa, armchair]")
    return tuple(raw)


def _name(category: object, raw: object, path: Path) -> str:
    """A ``names`` entry: text, or a number written as one (never ``str`` of a list or mapping: see
    ``_searched``)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise DecorLensError(f"category map {path}: names.{category} must be the text people read")
    return str(raw)


def _confidences(raw: Mapping, path: Path) -> dict[str, dict[str, float]]:
    """The ``confidence`` section: class set → detector class → a number in (0, 1)."""
    if not isinstance(raw, Mapping):
        raise DecorLensError(f"category map {path}: `confidence` must map class sets to their classes' confidences")
    out: dict[str, dict[str, float]] = {}
    for class_set, mapping in raw.items():
        if not isinstance(mapping, Mapping):
            raise DecorLensError(f"category map {path}: confidence.{class_set} must map detector classes to numbers")
        for label, value in mapping.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                # a list or mapping is named, not shown: its repr may be an alias bomb's expansion
                shown = f"a {type(value).__name__}" if isinstance(value, list | dict) else reprlib.repr(value)
                raise DecorLensError(
                    f"category map {path}: confidence.{class_set}.{label} is {shown}, "
                    "not a number between 0 and 1"
                )
            out.setdefault(str(class_set), {})[str(label)] = float(value)
    return out


def _parts(raw: Mapping, path: Path) -> dict[str, frozenset[str]]:
    """The ``parts`` section: class set → a list of detector classes."""
    if not isinstance(raw, Mapping):
        raise DecorLensError(f"category map {path}: `parts` must map class sets to lists of detector classes")
    out: dict[str, frozenset[str]] = {}
    for class_set, labels in raw.items():
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise DecorLensError(f"category map {path}: parts.{class_set} must be a list of detector class names")
        out[str(class_set)] = frozenset(labels)
    return out


def _floor(raw: object, path: Path) -> frozenset[str]:
    """The ``floor`` section: a list of catalog categories."""
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise DecorLensError(f"category map {path}: `floor` must be a list of catalog categories")
    return frozenset(raw)


def _shipped_floor(path: Path) -> frozenset[str]:
    """A map without a ``floor`` section (a copy made before there was one) keeps the shipped map's."""
    shipped = resources_dir() / FILE_NAME
    if path.resolve() == shipped.resolve():
        return frozenset()
    return CategoryMap.from_file(shipped).floor


def display_name(category: str, names: Mapping[str, str] | None = None) -> str:
    """The map's name for a category ("box_basket" → "Boxes & baskets"), else its key in words.

    Categories are identifiers (folder names, feed values, the map's keys): only what people read
    changes, never the key a search or a correction uses.
    """
    if names and names.get(category):
        return names[category]
    words = re.sub(r"[_\-\s]+", " ", category).strip()
    return words[:1].upper() + words[1:] if words else "Product"
