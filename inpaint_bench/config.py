"""Typed configuration of a benchmark cell and a sweep. YAML in, validated strictly, hashed.

A *cell* is (dataset, mask, method + its config, seed) plus the evaluation protocol; its hash is its id and the
name of its result file. A *sweep* expands datasets × masks × methods × seeds into cells.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

FEATURES = ("auto", "trained", "untrained")


class ConfigError(ValueError):
    """A sweep file or cell option that is invalid; the message names the key."""


@dataclass(frozen=True)
class MethodSpec:
    name: str  # registry name, e.g. "i2sb"
    config: dict = field(default_factory=dict)  # constructor keyword arguments, e.g. {"nfe": 20}
    label: str = ""  # row name in leaderboards; default: the name plus non-default config

    def row(self) -> str:
        if self.label:
            return self.label
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.config.items()) if k != "checkpoint")
        return f"{self.name}({extra})" if extra else self.name


@dataclass(frozen=True)
class Protocol:
    """Everything that must match for two numbers to be comparable."""

    dataset: str = "tiny"
    split: str = "test"
    size: int | None = None  # default: the dataset's benchmark size
    limit: int | None = None  # first N images of the split
    metrics: tuple[str, ...] = ("fid", "kid", "lpips", "psnr", "ssim", "psnr_hole", "ssim_hole")
    fid_mode: str = "clean"
    features: str = "auto"  # auto: trained weights if found, else labelled UNTRAINED-FEATURES
    lpips_net: str = "alex"
    data_root: str | None = None


@dataclass(frozen=True)
class CellConfig:
    protocol: Protocol
    mask: str
    method: MethodSpec
    seed: int = 0
    batch_size: int = 8

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def cell_id(self) -> str:
        """sha256 of the resolved config (batch size excluded: results do not depend on it)."""
        d = self.to_dict()
        d.pop("batch_size")
        d["method"].pop("label")
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SweepConfig:
    name: str
    datasets: tuple[str, ...]
    masks: tuple[str, ...]
    methods: tuple[MethodSpec, ...]
    seeds: tuple[int, ...] = (0,)
    protocol: Protocol = Protocol()
    batch_size: int = 8
    save_outputs: bool = False  # write every output PNG (for `inpaint-bench score` and other tools)
    grid_images: int = 4  # how many images per (dataset, mask) go into the sample grid

    def cells(self) -> list[CellConfig]:
        out = []
        for dataset in self.datasets:
            protocol = dataclasses.replace(self.protocol, dataset=dataset)
            for mask in self.masks:
                for method in self.methods:
                    for seed in self.seeds:
                        out.append(CellConfig(protocol, mask, method, seed, self.batch_size))
        return out


def _strict(cls, data: dict, where: str):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(names)}")
    return data


def _method(entry, where: str) -> MethodSpec:
    if isinstance(entry, str):
        return MethodSpec(entry)
    if not isinstance(entry, dict) or "name" not in entry:
        raise ConfigError(f"{where}: a method is a name or a mapping with 'name' (and 'config', 'label')")
    _strict(MethodSpec, entry, where)
    return MethodSpec(entry["name"], dict(entry.get("config") or {}), entry.get("label", ""))


def load_sweep(path: str | Path, **overrides) -> SweepConfig:
    """Read and validate a sweep YAML; `overrides` replace top-level or protocol keys (e.g. limit=4)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"sweep file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    data.setdefault("name", path.stem)
    protocol_keys = {f.name for f in dataclasses.fields(Protocol)} - {"dataset"}
    proto = {k: data.pop(k) for k in list(data) if k in protocol_keys}
    for k, v in overrides.items():
        if v is None:
            continue
        (proto if k in protocol_keys else data)[k] = v
    _strict(SweepConfig, {k: v for k, v in data.items() if k != "protocol"}, str(path))
    for key in ("datasets", "masks", "methods"):
        if not data.get(key):
            raise ConfigError(f"{path}: '{key}' must list at least one entry")
    if "metrics" in proto:
        proto["metrics"] = tuple(proto["metrics"])
    protocol = Protocol(**proto)
    validate_protocol(protocol)
    methods = tuple(_method(m, f"{path}: methods[{i}]") for i, m in enumerate(data.pop("methods")))
    sweep = SweepConfig(methods=methods, datasets=tuple(data.pop("datasets")), masks=tuple(data.pop("masks")),
                        seeds=tuple(data.pop("seeds", (0,))), protocol=protocol, **data)
    validate_names(sweep)
    return sweep


def validate_protocol(p: Protocol) -> None:
    from .metrics import METRIC_NAMES, MODES

    if p.features not in FEATURES:
        raise ConfigError(f"features must be one of {FEATURES}, got {p.features!r}")
    if p.fid_mode not in MODES:
        raise ConfigError(f"fid_mode must be one of {MODES}, got {p.fid_mode!r}")
    bad = [m for m in p.metrics if m not in METRIC_NAMES]
    if bad:
        raise ConfigError(f"unknown metric(s) {bad}; valid: {list(METRIC_NAMES)}")


def validate_names(sweep: SweepConfig) -> None:
    from . import masks, methods
    from .data import DATASETS
    from .methods.registry import config_keys

    for d in sweep.datasets:
        if d not in DATASETS:
            raise ConfigError(f"unknown dataset {d!r}; valid: {DATASETS.names()}")
    for m in sweep.masks:
        if ":" not in m and m not in masks.names():
            raise ConfigError(f"unknown mask {m!r}; valid: {masks.names()} or folder:PATH")
    for spec in sweep.methods:
        if spec.name not in methods.names():
            raise ConfigError(f"unknown method {spec.name!r}; valid: {methods.names()}")
        bad = sorted(set(spec.config) - set(config_keys(methods.METHODS.get(spec.name))))
        if bad:
            raise ConfigError(f"method {spec.name!r}: unknown config key(s) {bad}")
