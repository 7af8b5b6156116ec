"""ComfyUI node classes for ilat-video (nodes.py); `comfyui/__init__.py` at the repository top
hands their mappings to ComfyUI. Importable without ComfyUI."""
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
