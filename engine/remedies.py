"""The fixes that engine lines name, each in the CLI's words and in the desktop app's.

An engine error or summary ends in what to do, and the CLI names a command for it (`decorlens catalog restore`).
The same lines reach the app, whose users (retail staff with the packaged app) have no `decorlens` to type: there
the line names the app's own menu item, or no command at all where the app has none (a model export needs the
training extra, which the packaged app ships without). Each such clause is one ``Remedy`` here, with both
wordings; the engine writes the CLI's (the CLI's tests read them), and the app passes what it shows through
``in_app``. The engine is not told which frontend it serves: the CLI and the app share a process in the tests,
and the app's lines are worded from worker threads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from string import Formatter

RESTORE_MENU = "Catalog ▸ Restore a Backup…"
IMPORT_MENU = "Catalog ▸ Import Folder… (or Import CSV…)"
REVIEW_MENU = "Catalog ▸ Review Uncertain Tags…"
CLI_PROGRAM = "decorlens"


@dataclass(frozen=True)
class Remedy:
    """A clause naming a fix: ``cli`` as the CLI says it, ``app`` as the app does ("" where the app has no way, so
    the clause goes, with the punctuation it starts with). Fields: ``{count}`` is a number, any other a detail (a
    folder, a file) that the CLI's words go on after."""

    cli: str
    app: str

    def __call__(self, **details: object) -> str:
        """The clause as the engine writes it: in the CLI's words."""
        return self.cli.format(**details)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Where the clause stands in a line the engine wrote, its fields captured by name; the packaged app's
        start error names its own program (``for_program``)."""
        parts = []
        for literal, field, _spec, _conversion in Formatter().parse(self.cli):  # the command as any program names it
            parts.append(re.escape(literal).replace(f"`{CLI_PROGRAM}", r"`[\w.-]+"))
            if field:
                parts.append(rf"(?P<{field}>\d[\d,]*)" if field == "count" else rf"(?P<{field}>.+?)")
        return re.compile("".join(parts))

    def in_app(self, text: str) -> str:
        """``text`` with this clause in the app's words."""
        return self.pattern.sub(lambda found: self.app.format(**found.groupdict()), text)


# A damaged catalog with backups, counted or not. The window's message bar words these itself, with a Restore a
# Backup… button (``engine.backups.cli_restore_advice``); elsewhere the app's words here stand.
RESTORE_COUNTED = Remedy("restore a backup: `decorlens catalog restore` lists its {count}",
                         f"restore a backup: {RESTORE_MENU} lists its {{count}}")
RESTORE_UNCOUNTED = Remedy("restore a backup (`decorlens catalog restore` lists them)",
                           f"restore a backup ({RESTORE_MENU} lists them)")
# The catalog is empty: a sync client left catalog.sqlite out, and a new one was made in its place.
EMPTY_BUT_BACKED_UP = Remedy("`decorlens catalog restore` lists the {count}; or import products with "
                             "`decorlens catalog import`",
                             f"{RESTORE_MENU} lists the {{count}}; or import products with {IMPORT_MENU}")
IMPORT_FIRST = Remedy("import products first with `decorlens catalog import`",
                      f"import products first with {IMPORT_MENU}")
# The models: the setup page shows a missing one with its own buttons for the pack; a model the training extra
# exports has no way in the app.
FETCH_PACK = Remedy("; run `decorlens models fetch`, or `decorlens models fetch --from DIR` with a pack folder", "")
# The pack's download source cannot be reached (offline, a shop's closed network): a copy of the pack folder, brought
# by hand, installs with `models fetch --from`, or with the app's setup page's own button for it.
FETCH_FROM_FOLDER = Remedy("; copy the pack folder to this machine and run `decorlens models fetch --from DIR`",
                           "; copy the model pack folder to this computer (a USB stick, a network share), then "
                           "choose Get models from a folder…")
FETCH_AGAIN = Remedy("install it again with `decorlens models fetch --out {folder}`",
                     "install the model pack again")
EXPORT_WEIGHTS = Remedy("; export it: `decorlens models export {weights}` (needs the [train] extra)", "")
WRITE_CARD = Remedy(": write {card} beside it with `decorlens models export` or `decorlens models card`", "")
EXPORT_POSE = Remedy("`decorlens models export {weights}` makes it ([train] extra), or set people: off",
                     "set people: off in the data folder's config.yaml")
EXPORT_AGAIN = Remedy(", or export it again with `decorlens models export`", "")
# A trained model `models fetch` set aside off a pack model's name (``engine.modelpack``): the app chooses models
# in its Settings.
ACTIVATE_SET_ASIDE = Remedy("`decorlens models activate {model}` to search with yours",
                            "choose {model} in Edit ▸ Settings… ▸ Advanced to search with yours")
# A bundle without its pictures: the CLI names the folder with an option, the app's Import Bundle… asks for it.
IMAGES_FROM = Remedy("--images-from {folder}:", "The pictures folder {folder}:")

# Training (``training``): `decorlens train` names its options; the Train window (Catalog ▸ Train on My Photos…)
# has none, and writes its runs' data itself from the tags confirmed and corrected in the app. The app's words say
# what to do there; a run's data folder, which the app made, goes unnamed.
REDO_AFTER = "then Start again."
SETTINGS_CPU = "choose “The processor (CPU) only” for Run the models on in Edit ▸ Settings…"
NO_PAIRS_TO_TRAIN = Remedy("{data}: no pairs.csv, and too few products with several photos to train on",
                           "Nothing to learn matching from: confirm the right product on more tags "
                           f"({REVIEW_MENU} lists them), {REDO_AFTER}")
NO_TRAINING_BOX = Remedy("{data}: no training pair has a box or a convincing detection (docs/training.md)",
                         "None of the confirmed products could be found in its photo: correct the tags' outlines on "
                         f"more photos (or give the dataset folder's pairs boxes), {REDO_AFTER}")
ANOTHER_SEED = Remedy("{data}: no validation pair can be detected; add scenes or try another --seed",
                      "None of the products in the photos set aside to check each epoch could be found: confirm the "
                      f"right product on tags in more photos, {REDO_AFTER}")
NOTHING_TO_SCORE = Remedy("{data}: no scene of {split} has a pair in pairs.csv; nothing to score",
                          "None of the photos set aside has a confirmed product to compare the models on: confirm "
                          f"the right product on tags in more photos, {REDO_AFTER}")
# The graphics card asked for in config.yaml (or Settings) where onnxruntime has no CUDA (``engine.runtime``): the
# packaged app has no extra to install, and its Settings offer the other devices.
GPU_OR_CPU = Remedy("install the [gpu] extra or choose the CPU",
                    "choose Automatically or “The processor (CPU) only” for Run the models on in Edit ▸ Settings…")
PASS_WEIGHTS = Remedy("; pass --weights", "; install the model pack again")
CPU_DEVICE = Remedy("no CUDA GPU visible to torch; use --device cpu",
                    f"No graphics card this training can use was found: {SETTINGS_CPU}")
FEW_LABELS = Remedy("no category has {count} labels in {data}; lower --threshold or add pairs",
                    "No category has {count} corrected tags yet to learn finding objects from: correct or draw "
                    f"tags on more photos, {REDO_AFTER}")
FLOAT_ONLY = Remedy("{model} loses too much in int8 (mean cosine {cosine} to its float vectors, below {least}); "
                    "keep the float model",
                    "The faster copy of the new model matches too differently from it: untick Make it faster on "
                    "this computer and choose Use this model again.")

REMEDIES = (RESTORE_COUNTED, RESTORE_UNCOUNTED, EMPTY_BUT_BACKED_UP, IMPORT_FIRST, FETCH_PACK, FETCH_FROM_FOLDER,
            FETCH_AGAIN, EXPORT_WEIGHTS, WRITE_CARD, EXPORT_POSE, EXPORT_AGAIN, ACTIVATE_SET_ASIDE, IMAGES_FROM,
            NO_PAIRS_TO_TRAIN, NO_TRAINING_BOX, ANOTHER_SEED, NOTHING_TO_SCORE, GPU_OR_CPU, PASS_WEIGHTS, CPU_DEVICE,
            FEW_LABELS, FLOAT_ONLY)


def in_app(text: str) -> str:
    """``text`` as the app shows it: each fix named the app's way, or not at all where the app has none."""
    for remedy in REMEDIES:
        text = remedy.in_app(text)
    return text


def for_program(text: str, program: str) -> str:
    """``text`` naming ``program`` in its commands: the packaged app runs the CLI's commands as ``DecorLens``, and
    its folder has no ``decorlens`` to run."""
    return text if program == CLI_PROGRAM else text.replace(f"`{CLI_PROGRAM} ", f"`{program} ")
