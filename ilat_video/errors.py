"""Errors that carry what the user needs to fix their input."""
from __future__ import annotations


class IlatError(Exception):
    """Base class of errors caused by the user's input (files, options), not by a bug.

    The CLI turns these into one clear message and exit code 2.
    """


class PoseFileError(IlatError):
    """A pose file is missing, malformed or inconsistent. The message names file, frame and field."""


class VideoError(IlatError):
    """A video cannot be read or written. The message names the file (and frame when known)."""


class NoPersonError(IlatError):
    """No person was found where one was required."""


class ModelFileError(IlatError):
    """A model folder is missing a file, or its weights do not match its config."""


class DatasetError(IlatError):
    """A dataset folder is empty, in the wrong layout, or its labels do not match its frames."""
