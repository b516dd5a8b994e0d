"""Caption Studio: caption folders of images and videos locally with Qwen3-VL."""

__version__ = "0.1.0"
