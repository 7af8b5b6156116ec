"""ilat-video's ComfyUI node pack: link or copy this folder into ComfyUI/custom_nodes/ (README,
"ComfyUI"). The nodes live in the library (ilat_video/comfy/nodes.py); this file only hands
ComfyUI their mappings, from the installed package or else from the checkout this folder is in."""
try:
    from ilat_video.comfy import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
except ModuleNotFoundError as error:
    if error.name != "ilat_video":
        raise  # ilat-video is there but one of its dependencies is not: say which
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout holding this folder
    from ilat_video.comfy import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
