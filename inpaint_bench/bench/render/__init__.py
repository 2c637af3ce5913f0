"""Leaderboard renderers: one module per format, each a function of the board model (`bench/boards.py`)."""
