"""One progress display for a whole sweep (rich): cells done / total with ETA, the images of the running cell,
reference-feature extraction; Lightning's own banner, tips, bars and framework warnings are silenced per cell."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager

import lightning as L

FRAMEWORK_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")
FRAMEWORK_WARNINGS = (  # emitted by Lightning per Trainer and unrelated to the user's inputs
    r".*isinstance\(treespec, LeafSpec\).*", r".*predict returned None.*", r".*does not have many workers.*",
    r".*`training_step` returned `None`.*", r".*GPU available.*", r".*litlogger.*", r".*LitLogger.*",
)


@contextmanager
def quiet_framework():
    """No Lightning banner ("GPU available…", tips) or framework deprecation warnings while a cell runs."""
    levels = {name: logging.getLogger(name).level for name in FRAMEWORK_LOGGERS}
    for name in FRAMEWORK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    with warnings.catch_warnings():
        for pattern in FRAMEWORK_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"lightning\..*")
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


class TrainingProgressBar(L.pytorch.callbacks.RichProgressBar):
    """Lightning's rich bar for step-limited training: "Epoch 3" rather than "Epoch 3/-2" (max_epochs is −1 when
    max_steps limits a run), and without the logger's version number among the metrics."""

    def _get_train_description(self, current_epoch: int) -> str:  # Lightning's hook for the bar's text
        epochs = self.trainer.max_epochs
        return f"Epoch {current_epoch}" + (f"/{epochs - 1}" if epochs is not None and epochs > 0 else "")

    def get_metrics(self, trainer, pl_module):
        return {k: v for k, v in super().get_metrics(trainer, pl_module).items() if k != "v_num"}


class SweepProgress:
    """`with SweepProgress(n_cells) as p:` — `p.echo(line)` prints above the bars, `p.callback()` advances the
    image bar from inside `Trainer.predict`, `p.track_reference(batches, n)` covers reference features."""

    def __init__(self, n_cells: int, enabled: bool = True):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.enabled = enabled
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), disable=not enabled, transient=False)
        self.cells = self.progress.add_task("cells", total=n_cells)
        self.images = self.progress.add_task("images", total=None, visible=False)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def echo(self, line: str) -> None:
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True) if self.enabled else print(line)

    def cell_done(self) -> None:
        self.progress.advance(self.cells)

    def start_images(self, label: str, total: int) -> None:
        self.progress.update(self.images, description=label, total=total, completed=0, visible=self.enabled)

    def callback(self) -> L.Callback:
        progress, task = self.progress, self.images

        class Advance(L.Callback):
            def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
                progress.advance(task, len(batch["image"]) * trainer.world_size)

        return Advance()

    def track_reference(self, batches, total: int):
        self.start_images("reference features", total)
        for b in batches:
            yield b
            self.progress.advance(self.images, len(b))
