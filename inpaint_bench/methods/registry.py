"""The method registry: short names → builders, with config keys checked against the builder's signature."""

from __future__ import annotations

import inspect

from ..registry import Registry

METHODS: Registry = Registry("method")
register = METHODS.register


def config_keys(builder) -> list[str]:
    """Keyword arguments a builder accepts, following `**kwargs` into the base classes' constructors."""
    keys: list[str] = []
    for fn in ([c.__init__ for c in builder.__mro__ if "__init__" in vars(c)] if inspect.isclass(builder) else [builder]):
        params = inspect.signature(fn).parameters
        keys += [k for k, p in params.items() if k != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            break
    return list(dict.fromkeys(keys))


def build(name: str, **config):
    """Build method `name` with `config`; an unknown name or config key raises, listing the valid ones."""
    builder = METHODS.get(name)
    valid = config_keys(builder)
    unknown = sorted(set(config) - set(valid))
    if unknown:
        raise TypeError(f"method {name!r} has no config key(s) {unknown}; valid keys: {valid or 'none'}")
    return builder(**config)
