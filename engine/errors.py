"""Errors a user can act on.

Every failure that reaches the CLI or the GUI is one of these, so it can be shown as one clear line
instead of a traceback.
"""


class DecorLensError(Exception):
    """Base class: the message is meant for the user, as it is."""


class ImageError(DecorLensError):
    """A file is not a usable image (missing, empty, truncated, unknown format, unsupported mode)."""


class ModelError(DecorLensError):
    """A model file or its card is missing, unreadable or inconsistent."""


class DeviceError(ModelError):
    """The device asked for (the graphics card) cannot run the models, which are there: the app offers Settings,
    not the model pack."""


class CatalogError(DecorLensError):
    """The catalog is empty, corrupt, or an import row is unusable."""


class IndexCorruptError(DecorLensError):
    """An index file on disk cannot be loaded; callers rebuild it from stored vectors."""


class Cancelled(DecorLensError):
    """Long work was cancelled by the user; whatever it was writing was rolled back."""


def yaml_problem(exc: Exception) -> str:
    """Where and what of a YAML parse error on one line ("line 3, column 5: expected ',' or ']'").

    PyYAML's own message spans several lines and quotes the source; a user needs the line to fix.
    """
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(str(problem).split())
