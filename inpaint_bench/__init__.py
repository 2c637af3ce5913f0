"""inpaint-bench: one benchmark for diffusion inpainting — same images, same masks, same metrics.

Importing the package is cheap: torch, Lightning and the metric libraries load only when a submodule needs them.
"""

from .files.provenance import VERSION as __version__  # noqa: F401  (the package version)


def evaluate(*args, **kwargs):
    """Run a small sweep and return its cells as a pandas DataFrame (see `inpaint_bench/api.py`)."""
    from .api import evaluate as run

    return run(*args, **kwargs)
