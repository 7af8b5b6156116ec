"""Small file helpers shared by every writer: atomic output and image loading."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import IlatError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    On any exception the temporary file is removed, so a failed run never leaves a half-written
    file behind and never touches what was at `path` before. The folder must exist.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise IlatError(f"{path}: the output folder {folder} does not exist")
    suffix = path.suffix if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{suffix}", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.is_file():
            # mkstemp makes the file private (0600); give it the permissions a plain open() would.
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_path(output: str | os.PathLike, *inputs: str | os.PathLike | None) -> Path:
    """Refuse an output path that is one of the inputs or lies in a missing folder."""
    output = Path(output)
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise IlatError(f"{output}: the output folder {folder} does not exist")
    for item in inputs:
        if item is not None and output.resolve() == Path(item).resolve():
            raise IlatError(f"{output}: the output path is also an input; choose another path")
    return output


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 (H, W, 3) RGB, upright as it is shown.

    A phone stores a photo taken upright as the sensor's landscape pixels and an EXIF orientation
    tag that says how to turn them: the tag is applied (read raw, the person lay on their side and
    the pose was not found or was nonsense). Grayscale, palette, 16-bit and RGBA images are
    converted explicitly; transparent pixels of an RGBA image are composited onto white (photos
    with an alpha channel are usually cut-outs).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise IlatError(f"{path}: no such image file")
    try:
        with Image.open(path) as img:
            img.load()
            return image_to_rgb(ImageOps.exif_transpose(img))
    except (UnidentifiedImageError, OSError) as exc:
        if _is_heif(path):
            raise IlatError(f"{path}: a HEIC/HEIF photo (an iPhone's own format), which cannot be read here: save "
                            "it as JPEG or PNG first (on the iPhone: Settings > Camera > Formats > Most "
                            "Compatible)") from exc
        raise IlatError(f"{path}: not a readable image ({exc})") from exc


HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def _is_heif(path: Path) -> bool:
    """Whether the file starts as a HEIF image does (an ISO box 'ftyp' with a HEIF brand)."""
    try:
        with open(path, "rb") as file:
            head = file.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def image_to_rgb(img) -> np.ndarray:
    """Convert a PIL image of any mode to uint8 (H, W, 3) RGB (alpha composited onto white)."""
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
