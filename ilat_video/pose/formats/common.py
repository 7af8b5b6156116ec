"""What the pose file readers share: reading JSON with exact errors, number checks, the default fps."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ...errors import PoseFileError

logger = logging.getLogger(__name__)

DEFAULT_FPS = 30.0  # for files that record no frame rate (OpenPose, COCO, Penn Action)


def read_json(path: Path) -> Any:
    """The parsed JSON of a file; PoseFileError naming the file (and line, column) if it is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PoseFileError(f"{path}: not a text (UTF-8 JSON) file; pose files are JSON or Penn Action .mat") from exc
    except OSError as exc:
        raise PoseFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not text.strip():
        raise PoseFileError(f"{path}: the file is empty (expected JSON pose data)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PoseFileError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc


def is_number(value: Any) -> bool:
    """A JSON number: int or float, not bool."""
    return type(value) is float or type(value) is int


def warn_ignored(path: Path, name: str, value: Any) -> None:
    """Warn that an option was given to a format that holds one person."""
    if value is not None:
        logger.warning("%s: %s=%r ignored: this format holds one person", path, name, value)
