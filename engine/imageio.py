"""Loading photos the way users actually have them, and refusing the ones that would hurt.

Phone and camera files come EXIF-rotated, in CMYK, palette, greyscale+alpha or 16-bit modes, and
sometimes truncated or huge. ``load_image`` turns every usable file into an upright 8-bit sRGB array
no larger than ``max_side`` (an embedded colour profile, an iPhone's Display P3 or a camera's Adobe RGB,
applied) and turns every unusable one into an ImageError with one clear line.
Photos are hostile input: a FIFO, a device or a symlink loop is refused before anything is read, a
header claiming more pixels than the budget is refused before any pixel is decoded, JPEGs decode at a
reduced scale (draft mode), and a truncated file is an error, never a grey picture. iPhones save HEIC:
pillow-heif's opener, registered here (the one place photos are decoded), reads it under the same limits.

``read_photo`` reads a photo once for both its pixels and its content hash (the key of its saved edits and of the
memory of tagged photos): a batch on a network share read each photo three times, and hash and pixels could come
from two versions of a file being replaced.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageFile, TiffImagePlugin, UnidentifiedImageError
from pillow_heif import register_heif_opener

from engine.errors import DecorLensError, ImageError
from engine.files import open_regular, sha256_of_stream

CATALOG_MAX_SIDE = 1024  # product shots are embedded at 224; no need to decode them bigger
MAX_SIDE = 4096  # larger photos are downscaled: detection runs at 640 and crops at 224 anyway
MAX_PIXELS = 250_000_000  # a header claiming more is refused outright (~16k x 16k)
# What one decode may allocate (Pillow keeps RGB as 4 bytes a pixel): ~100 Mpx of RGB. JPEGs count at
# their draft size, so big camera JPEGs pass; a 15800x15800 PNG (1 GB decoded from 1 MB) does not, nor a
# progressive JPEG whose full-size coefficient buffers (which draft mode does not shrink) exceed it.
DECODE_BUDGET = 400 * 2**20
WHOLE_READ_MAX = 256 * 2**20  # ``read_photo`` holds a file up to this size in memory to read it once
BIG_DECODE = 64 * 2**20  # decodes larger than this run one at a time (import decodes in two threads)
# The formats DecorLens decodes, everywhere (search, folder and CSV import, batch tag). Pillow tries only
# these: no PostScript (Ghostscript), PDF or exotic plugins on a file that merely claims to be a photo.
FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF", "HEIF")
Image.init()
# HEIC/HEIF (iPhone photos), process-wide. Only the main picture: an iPhone file's thumbnail, depth map and
# auxiliary images would be decoded for nothing. pillow-heif applies the file's rotation (irot/imir) and sets
# its EXIF orientation to 1, so ``orientation`` does not turn it twice. training.yolo.import_yolo puts back
# Pillow's own Image.open after ultralytics patches it; this registration lives in Pillow's tables and stays.
register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
OPENERS = tuple(f for f in FORMATS if f in Image.OPEN)  # MPO opens through JPEG; AVIF needs a Pillow with it
READABLE = ", ".join(OPENERS)  # what messages say DecorLens reads (this Pillow's own list: no promise)
IMAGE_SUFFIXES = frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in FORMATS)
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1")

# Pillow warns above MAX_IMAGE_PIXELS and refuses at twice that; we refuse above MAX_PIXELS ourselves,
# so its warning would only precede our own error.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_big_decode = threading.Lock()
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# Bytes of an embedded colour profile applied at most: a phone's or camera's is under 4 KB, a printer's CMYK one some
# MB. LittleCMS holds a profile's lookup table several times over: a TIFF's 95 MB profile took 1.6 s and 900 MB.
ICC_MAX = 4 * 2**20
_PROFILE_SPACES = {"RGB": "RGB ", "RGBA": "RGB ", "CMYK": "CMYK", "L": "GRAY"}  # modes a profile is applied to
_TIFF_SAMPLES = {1: "integer", 2: "signed integer", 3: "floating-point (HDR)"}  # TIFF tag 339, SampleFormat
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class Decoded(np.ndarray):
    """An upright RGB array decoded from a photo that also knows the photo's own upright (width, height): larger
    than the array when the photo was decoded downscaled. A view or copy of it is a plain array's size again
    (``photo_size`` of a crop is the crop's own), so only the decoded picture itself carries the photo's size."""

    photo_size: tuple[int, int] | None = None
    first_of_many: bool = False  # the file holds more pictures (an animation's frames, a TIFF's pages) than this one


def photo_size(pixels: np.ndarray) -> tuple[int, int]:
    """The (width, height) of the photo ``pixels`` were decoded from: its own size, whatever the decoded one."""
    return getattr(pixels, "photo_size", None) or (pixels.shape[1], pixels.shape[0])


def first_of_many(pixels: np.ndarray) -> bool:
    """Whether ``pixels`` are the first of the pictures their file holds (an animated GIF, WebP or PNG's frames, a
    multi-page TIFF's pages): only the first is decoded, which the app says rather than tag one frame in silence."""
    return getattr(pixels, "first_of_many", False)


def load_image(path: str | os.PathLike[str], max_side: int = MAX_SIDE) -> np.ndarray:
    """An upright RGB uint8 array (H, W, 3) of the image at ``path``, at most ``max_side`` a side.

    Large images are reduced while decoding (JPEG draft mode) before any full-size buffer exists.
    """
    path = Path(path)
    with _decoding(path), open_regular(path) as fh:
        return _decode(path, fh, max_side, os.fstat(fh.fileno()).st_size)


def upright_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """The photo's own upright (width, height), from its header alone (nothing decoded): what boxes stored before
    they were in the photo's pixels are brought to (``engine.scene_memory.Sighting.photo_box``)."""
    path = Path(path)
    with _decoding(path), open_regular(path) as fh, Image.open(fh, formats=OPENERS) as img:
        sideways = orientation(img) in (5, 6, 7, 8) and not _turned_by_pillow(img)
        return (img.height, img.width) if sideways else img.size


def read_photo(path: str | os.PathLike[str], max_side: int = MAX_SIDE) -> tuple[np.ndarray, str]:
    """``load_image`` of ``path`` and the hex SHA-256 of its bytes, from one read of the file. A file over
    ``WHOLE_READ_MAX`` is hashed as it streams and then decoded (two reads) rather than held in memory whole."""
    path = Path(path)
    with _decoding(path):
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > WHOLE_READ_MAX:
                pixels = _decode(path, fh, max_side, size)
                fh.seek(0)
                return pixels, sha256_of_stream(fh)
            data = fh.read()
        return _decode(path, io.BytesIO(data), max_side, len(data)), hashlib.sha256(data).hexdigest()


def load_image_bytes(data: bytes, path: str | os.PathLike[str], max_side: int = MAX_SIDE) -> np.ndarray:
    """``load_image`` of the bytes of the photo at ``path``, already read (the app's thumbnails read a file once to
    hash and show it): the same limits and one-line errors, for the formats Qt has no plugin for (HEIC, AVIF)."""
    path = Path(path)
    with _decoding(path):
        return _decode(path, io.BytesIO(data), max_side, len(data))


@contextmanager
def _decoding(path: Path) -> Iterator[None]:
    """Whatever reading and decoding ``path`` raises, as an ImageError of one line naming it."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # some library flipped Pillow's global: truncation would pass
        raise ImageError(f"{path}: refusing to decode with PIL.ImageFile.LOAD_TRUNCATED_IMAGES set")
    try:
        yield
    except ImageError:
        raise
    except DecorLensError as exc:  # not a regular file
        raise ImageError(str(exc)) from exc
    except (UnidentifiedImageError, ImportError) as exc:
        # ImportError: ultralytics, once imported (training), patches Image.open to try HEIF plugins.
        raise ImageError(f"{path}: {_unknown_format(path)}") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: image too large to decode safely") from exc
    except MemoryError as exc:
        raise ImageError(f"{path}: not enough memory to decode this image") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, RuntimeError) as exc:
        # Pillow's plugins raise any of these on crafted headers; each means "cannot decode this file"
        # (RuntimeError: the AVIF plugin, on a damaged file, in open() or in load()).
        raise ImageError(f"{path}: cannot decode image ({_reason(exc)})") from exc


def to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB from any PIL mode: CMYK, palette, L/LA, I;16, I and F (16/32-bit and float), RGBA, LAB…"""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        top = float(arr.max(initial=0.0))
        peak = 1.0 if img.mode == "F" and top <= 1.0 else 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
        return Image.fromarray(np.clip(arr / peak * 255.0, 0, 255).astype(np.uint8)).convert("RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))  # product shots sit on white
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _decode(path: Path, fh: BinaryIO, max_side: int, file_size: int) -> np.ndarray:
    if file_size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    with Image.open(fh, formats=OPENERS) as img:
        _check_claimed_size(path, img)
        width, height = img.size  # the photo's own, before draft mode shrinks it
        coefficients, claimed = 0, f"a progressive JPEG of {img.width}x{img.height}"
        if img.format in ("JPEG", "MPO"):
            _check_jpeg_can_hold(path, img, file_size)
            coefficients = _progressive_buffers(img)
        img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale (1/2 … 1/8)
        cost = img.width * img.height * _BYTES_PER_PIXEL.get(img.mode, 4) + coefficients
        if cost > DECODE_BUDGET:
            what = claimed if coefficients else f"{img.width}x{img.height} {img.mode}"
            raise ImageError(f"{path}: image too large to decode ({what}, {cost / 2**20:.0f} MiB; "
                             f"the limit is {DECODE_BUDGET / 2**20:.0f} MiB)")
        turn = orientation(img)
        with _big_decode if cost > BIG_DECODE else nullcontext():
            img.load()
        if orientation(img) == 1:  # Pillow turned it while loading (a TIFF) and its size was upright already
            turn = 1
        if img.format in ("JPEG", "MPO"):
            _check_not_cut_short(path, img)
        small = _in_srgb(_shrink(img, max_side), img.info.get("icc_profile"))
        if turn in _TRANSPOSE:
            small = small.transpose(_TRANSPOSE[turn])
        pixels = np.asarray(to_rgb(small)).view(Decoded)
        pixels.photo_size = (height, width) if turn in (5, 6, 7, 8) else (width, height)
        pixels.first_of_many = _more_pictures(img)
        return pixels


def _more_pictures(img: Image.Image) -> bool:
    """Whether an animation or a TIFF holds pictures after the first, asked once the first is decoded. Not counted:
    Pillow counts a GIF's frames by walking them all, minutes for a crafted file of millions of 1-pixel frames;
    ``is_animated`` looks for a second one only. A camera's MPO (a preview or depth map beside the photo) and a HEIC's
    extra items are not pictures a user chose; a look that fails is no, as the photo is no worse for it."""
    if img.format not in ("GIF", "PNG", "WEBP", "TIFF"):
        return False
    try:
        return bool(getattr(img, "is_animated", False))
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error):
        return False  # struct.error: a GIF cut short in its second frame's header (a download cut off)


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    if max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _in_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """``img`` with its embedded colour profile applied: its colours in sRGB, as every model, the colour matcher and
    the shoppable page's picture (saved without a profile) take pixels. iPhones tag every photo Display P3 and cameras
    often Adobe RGB: their numbers read as sRGB were dull and off in hue. No profile, sRGB's own, or one that does not
    fit the pixels (a grey profile on an RGB image), cannot be read or is over ``ICC_MAX``: the pixels as they are,
    which are fine."""
    if not icc or len(icc) > ICC_MAX or img.mode not in _PROFILE_SPACES:
        return img
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space != _PROFILE_SPACES[img.mode] or "sRGB" in profile.profile.profile_description:
            return img
        return ImageCms.profileToProfile(img, profile, _SRGB, outputMode="RGBA" if img.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img


def _check_claimed_size(path: Path, img: Image.Image) -> None:
    if img.width < 1 or img.height < 1:
        raise ImageError(f"{path}: image has no pixels ({img.width}x{img.height})")
    if img.width * img.height > MAX_PIXELS:
        raise ImageError(
            f"{path}: image too large ({img.width}x{img.height} pixels; the limit is {MAX_PIXELS // 10**6} Mpx)"
        )


def _check_jpeg_can_hold(path: Path, img: Image.Image, file_size: int) -> None:
    """Refuse, before decoding, a JPEG too small for the pixels it claims (a 1.5 KB file saying
    15000x15000). Every 8x8 block of a Huffman-coded JPEG costs at least one bit, real photos 50-300;
    an eighth of a bit a block leaves room even for arithmetic coding of a flat picture."""
    blocks = -(-img.width // 8) * -(-img.height // 8)
    if file_size * 64 < blocks:
        raise ImageError(f"{path}: cannot decode image (file is truncated: {file_size} bytes cannot hold "
                         f"a {img.width}x{img.height} JPEG)")


def _progressive_buffers(img: Image.Image) -> int:
    """Bytes libjpeg holds to decode a progressive JPEG: every component's DCT coefficients for the whole
    image (2 bytes each, at the component's sampling), whatever the draft scale. A 751 KB progressive file
    claiming 15800x15800 made it allocate 1.75 GB although the draft picture fitted the budget."""
    if not img.info.get("progressive"):
        return 0
    sampling = [(h, v) for _id, h, v, _table in getattr(img, "layer", [])] or [(1, 1)] * 3
    h_max, v_max = max(h for h, _v in sampling), max(v for _h, v in sampling)
    blocks = sum(-(-img.width * h // (8 * h_max)) * -(-img.height * v // (8 * v_max)) for h, v in sampling)
    return blocks * 64 * 2


def _check_not_cut_short(path: Path, img: Image.Image) -> None:
    """libjpeg fills what a JPEG lacks with mid-grey (DC 0) and only warns: a file cut short and closed
    with an end marker (or a tiny file claiming a huge size) would pass as a grey picture. A last row of
    exactly (128, 128, 128) is that fill; a real photo's last row is not one flat mid-grey."""
    last = np.asarray(img.crop((0, img.height - 1, img.width, img.height)))
    if last.size and (last == 128).all():
        raise ImageError(f"{path}: cannot decode image (file is truncated: its last rows are missing)")


def _turned_by_pillow(img: Image.Image) -> bool:
    """Whether Pillow turns ``img`` by its orientation itself, its size upright from the header: Pillow 13 does so
    for a TIFF (and turns its pixels on load), which DecorLens then turned again, the photo laid on its other side and
    its boxes in a size with width and height swapped. A TIFF's stored size is in its tags; one that is square is the
    same size either way."""
    return img.format == "TIFF" and img.size != (img.tag_v2.get(256), img.tag_v2.get(257))


def orientation(img: Image.Image) -> int:
    """The EXIF orientation tag, 1 (upright) when absent or unreadable: a broken EXIF block is no
    reason to refuse a photo whose pixels are fine. The Photos strip's thumbnails turn a photo by it too.

    A PNG's EXIF is read only from before its pixel data, where the PNG specification places it (and Pillow writes
    it): Pillow looks for one after it by decoding the whole picture, so ``upright_size`` ("the header alone") of a
    700 KB PNG claiming 15000x15000 decoded 900 MB, past every decode limit."""
    if img.format == "PNG" and "exif" not in img.info:
        return 1
    try:
        return int(img.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - Pillow's EXIF parser raises many kinds on crafted data
        return 1


def _unknown_format(path: Path) -> str:
    try:
        with open_regular(path) as fh:
            head = fh.read(16)
    except DecorLensError:
        head = b""
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:  # a HEIC cut short before its item boxes
        return "cannot decode image (HEIC/HEIF file is damaged or truncated)"
    if head[:4] in TiffImagePlugin.PREFIXES:
        samples = _tiff_samples(path)
        what = f"a TIFF of {samples}, which" if samples else "a damaged TIFF, or one of a kind"
        return f"{what} DecorLens cannot read; save it as an 8- or 16-bit TIFF, PNG or JPEG"
    return f"not an image (unknown or unsupported format; DecorLens reads {READABLE})"


def _tiff_samples(path: Path) -> str:
    """What the first picture of a TIFF that Pillow cannot open holds, from its tags ("32-bit floating-point (HDR)
    samples"); "" when they cannot be read. Photoshop's 32-bit HDR TIFFs were refused as "not an image"."""
    try:
        with open_regular(path) as fh:
            header = fh.read(8)
            ifd = TiffImagePlugin.ImageFileDirectory_v2(header + fh.read(8) if header[2:3] == b"+" else header)
            fh.seek(ifd.next)
            ifd.load(fh)
        bits, kind = ifd[258][0], _TIFF_SAMPLES.get(ifd.get(339, (1,))[0], "unusual")  # 258: BitsPerSample
    except (DecorLensError, OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError):
        return ""  # a directory Pillow could not read (past the end of a cut file) has no BitsPerSample
    if not isinstance(bits, int):  # a tag stored as text: its first character, a line break say, was the bits
        return ""
    return f"{bits}-bit {kind} samples"


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    lower = text.lower()  # libheif: "Unexpected end of file: Extent in iloc box references data outside …"
    if "truncated" in lower or "broken data stream" in lower or "premature end" in lower or "end of file" in lower:
        return "file is truncated"
    return text or type(exc).__name__
