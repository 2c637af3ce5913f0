"""Inpainting methods, one file each, behind one contract (`InpaintMethod.inpaint`) and one registry."""

from . import asyncdsb, classical, ddnm, i2sb, irsde, isdiff, repaint, strdiffusion  # noqa: F401  (registering)
from .base import InpaintMethod, MethodOutputError, run_inpaint
from .registry import METHODS, build

__all__ = ["InpaintMethod", "MethodOutputError", "build", "names", "run_inpaint"]


def names() -> list[str]:
    """Registered method names."""
    return METHODS.names()
