"""Loading photos the way users actually have them.

Phone and camera files come EXIF-rotated, in CMYK, palette, greyscale+alpha or 16-bit modes, and
sometimes truncated or huge. ``load_image`` turns every usable file into an upright 8-bit RGB array
no larger than ``max_side`` and turns every unusable one into an ImageError with one clear line.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import ImageError

MAX_SIDE = 4096  # larger photos are downscaled: detection runs at 640 and crops at 224 anyway
MAX_PIXELS = 250_000_000  # decompression-bomb guard: refuse, don't allocate, beyond this (~16k x 16k)
# Pillow warns at 89 Mpx and refuses at 179 Mpx; we check against our own limit instead, so a 100 Mpx
# panorama is downscaled rather than refused.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def load_image(path: str | os.PathLike[str], max_side: int = MAX_SIDE) -> np.ndarray:
    """An upright RGB uint8 array (H, W, 3) of the image at ``path``.

    Large images are reduced while decoding (JPEG draft mode) before any full-size buffer exists.
    """
    path = Path(path)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                _check_size(path, img)
                img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
                img.load()
                return np.asarray(to_rgb(_shrink(ImageOps.exif_transpose(img), max_side)))
    except ImageError:
        raise
    except (UnidentifiedImageError, ImportError) as exc:
        # ImportError: ultralytics, once imported (training), patches Image.open to try HEIF plugins.
        raise ImageError(f"{path}: not an image (unknown or unsupported format)") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: image too large to decode safely") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: cannot decode image ({_reason(exc)})") from exc


def to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB from any PIL mode: CMYK, palette, L/LA, I;16 and I (16/32-bit greyscale), RGBA."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if arr.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(arr / peak * 255.0, 0, 255).astype(np.uint8)).convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))  # product shots sit on white
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    if max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")


def _check_size(path: Path, img: Image.Image) -> None:
    if img.width * img.height > MAX_PIXELS:
        raise ImageError(f"{path}: image too large ({img.width}x{img.height} pixels)")


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "truncated" in text or "broken data stream" in text or "premature end" in text.lower():
        return "file is truncated"
    return text or type(exc).__name__
