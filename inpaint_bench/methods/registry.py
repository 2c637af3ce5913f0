"""The method registry: short names → builders, with config keys checked against the builder's signature."""

from __future__ import annotations

import inspect

from ..registry import Registry

METHODS: Registry = Registry("method")
register = METHODS.register


def build(name: str, **config):
    """Build method `name` with `config`; an unknown name or config key raises, listing the valid ones."""
    builder = METHODS.get(name)
    params = inspect.signature(builder).parameters
    valid = [k for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(config) - set(valid))
    if unknown:
        raise TypeError(f"method {name!r} has no config key(s) {unknown}; valid keys: {valid or 'none'}")
    return builder(**config)
