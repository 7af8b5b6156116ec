"""`ilat-video serve`: a local web page for the main job (gradio, the optional extra `[app]`).

`jobs.py` is one job (no web framework: the library's steps and checks); `page.py` is the page
and the server. gradio is imported only when the page is built.
"""
from .jobs import PRESETS, JobStep, Preset, check_upload, run_job

__all__ = ["PRESETS", "JobStep", "Preset", "check_upload", "run_job"]
