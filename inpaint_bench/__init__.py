"""inpaint-bench: one benchmark for diffusion inpainting — same images, same masks, same metrics.

Importing the package is cheap: torch, Lightning and the metric libraries load only when a submodule needs them.
"""

__version__ = "0.1.0"
