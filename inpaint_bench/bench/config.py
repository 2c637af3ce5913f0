"""Typed configuration of a benchmark cell and a sweep. YAML in, validated strictly, hashed.

A *cell* is (dataset, mask, method + its config, seed) plus the evaluation protocol; its hash is its id and the
name of its result file. A *sweep* expands datasets × masks × methods × seeds into cells.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import itertools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

FEATURES = ("auto", "trained", "untrained", "shapes")
LATER_PROTOCOL_FIELDS = {"mask_polarity": "hole", "resize_masks": False, "reference": "test-images",
                         "split_file": None, "label_file": None, "resize": "bicubic", "quantize": "round",
                         "noise": "cpu"}


class ConfigError(ValueError):
    """A sweep file or cell option that is invalid; the message names the key."""


@dataclass(frozen=True)
class MethodSpec:
    name: str  # registry name, e.g. "i2sb"
    config: dict = field(default_factory=dict)  # constructor keyword arguments, e.g. {"nfe": 20}
    label: str = ""  # row name in leaderboards; default: the name plus non-default config
    masks: tuple[str, ...] = ()  # only these masks of the sweep (e.g. I²SB's one checkpoint per mask type); () = all

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
    features: str = "auto"  # auto: trained weights if found; else on shapes its own network; else UNTRAINED (labelled)
    lpips_net: str = "alex"
    data_root: str | None = None
    reference: str = "test-images"  # FID/KID reference: test-images | stats:PATH (.npz mu/sigma) | folder:PATH
    split_file: str | None = None  # an explicit image list (e.g. I²SB's val_faster_imagefolder_10k_fn.txt)
    label_file: str | None = None  # its labels, one per line (I²SB's _label.txt)
    resize: str = "bicubic"  # image resize policy: bicubic (the suite's) | bilinear (torchvision Resize+CenterCrop)
    quantize: str = "round"  # outputs to uint8 before metrics: round | floor (I²SB's truncating .to(uint8))
    noise: str = "cpu"  # per-image generators on the CPU (identical on every device) or on the device (faster)
    mask_polarity: str = "hole"  # folder: masks only: white = hole (default) or keep
    resize_masks: bool = False  # folder:/repaint: masks of another size: resize (nearest) instead of refusing


@dataclass(frozen=True)
class CellConfig:
    protocol: Protocol
    mask: str
    method: MethodSpec
    seed: int = 0
    batch_size: int = 8

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def results_key(self) -> str:
        """The folder of this cell's dataset in the results store (`dataset_key`)."""
        return dataset_key(self.protocol.dataset, self.protocol.data_root)

    def cell_id(self) -> str:
        """sha256 of the resolved config (batch size excluded: results do not depend on it)."""
        d = self.to_dict()
        d.pop("batch_size")
        d["method"].pop("label")
        if not d["method"]["masks"]:
            d["method"].pop("masks")  # added later: ids of entries without it stay as before
        for key, default in LATER_PROTOCOL_FIELDS.items():  # added later: at their default, ids stay as before
            if d["protocol"][key] == default:
                d["protocol"].pop(key)
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
    gallery: int = 0  # k > 0: save every output and show each row's k worst images per mask (bench/gallery.py)

    def cells(self) -> list[CellConfig]:
        out = []
        for dataset in self.datasets:
            protocol = dataclasses.replace(self.protocol, dataset=dataset)
            if dataset.startswith("folder:"):  # your own images: the folder dataset, rooted there
                protocol = dataclasses.replace(protocol, dataset="folder", data_root=dataset.removeprefix("folder:"))
            for mask in self.masks:
                for method in self.methods:
                    if method.masks and mask not in method.masks:
                        continue
                    for seed in self.seeds:
                        out.append(CellConfig(protocol, mask, method, seed, self.batch_size))
        return out


def dataset_key(name: str, data_root: str | None = None) -> str:
    """The dataset's folder in results. A folder of your own images (`folder:PATH`, or `folder` with a data root)
    gets `folder-<its name>-<sha256 of its resolved path, 8 hex>`: one place per image folder, inside the results
    folder whatever the path (`../x`, an absolute path), never the raw path itself."""
    if name.startswith("folder:"):
        return folder_results_name(name.removeprefix("folder:"))
    if name == "folder" and data_root:
        return folder_results_name(data_root)
    return name


def folder_results_name(path: str) -> str:
    import re

    root = Path(path).expanduser().resolve()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", root.name).strip("._")[:40] or "root"
    return f"folder-{name}-{hashlib.sha256(str(root).encode()).hexdigest()[:8]}"


def _strict(cls, data: dict, where: str):
    """Unknown keys are an error, and every value must have its field's type (validated by jsonargparse)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(names)}")
    rest = {k: v for k, v in data.items() if k != "methods"}
    checked = validated(cls, rest, typing.get_type_hints(cls), where, tuples=True, skip=("methods", "protocol"))
    return checked | ({"methods": data["methods"]} if "methods" in data else {})


def _type_name(tp) -> str:
    args = [a for a in typing.get_args(tp) if a is not type(None) and a is not Ellipsis]
    origin = typing.get_origin(tp)
    if origin in (tuple, list):
        return f"a list of {_type_name(args[0]) if args else 'values'}"
    if args and origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args) + (" or null" if type(None) in typing.get_args(tp) else "")
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping"}.get(
        tp, getattr(tp, "__name__", str(tp)))


@functools.lru_cache(maxsize=64)
def _parser(target, skip: tuple[str, ...] = ()):
    """A jsonargparse parser of `target`'s typed parameters (a dataclass, a class's __init__ following **kwargs
    into its bases, or a factory function)."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    if inspect.isclass(target):
        parser.add_class_arguments(target, fail_untyped=False, sub_configs=True, skip=set(skip) or None)
    else:
        parser.add_function_arguments(target, fail_untyped=False)
    return parser


def validated(target, data: dict, hints: dict, where: str, tuples: bool = False, skip: tuple[str, ...] = (),
              sep: str = ": ") -> dict:
    """`data` checked against `target`'s annotations by jsonargparse; on an error, one line naming the key, the
    value and what is allowed. Returned values are the given ones, except that a string read where a number
    belongs (YAML 1.1 reads `1.0e30` as a string) becomes that number, and lists become tuples where `tuples`.
    A scalar where a list belongs is an error (it would otherwise be split into characters)."""
    import re

    from jsonargparse import ArgumentError

    for key, value in data.items():  # jsonargparse would accept "psnr" for tuple[str, ...] as one element
        origin = typing.get_origin(hints.get(key))
        if origin in (tuple, list) and not isinstance(value, list | tuple):
            raise ConfigError(f"{where}{sep}{key}: got {value!r}, expected {_type_name(hints[key])} "
                              f"(write [{value}] for one)")
    try:
        parsed = _parser(target, skip).parse_object({k: v for k, v in data.items() if k not in skip})
    except ArgumentError as err:
        text = str(err)
        match = re.search(r'(?:Parser key|Key) "([\w.]+)"', text)
        key = match.group(1).split(".")[0] if match else None
        if key in data:
            raise ConfigError(f"{where}{sep}{key}: got {data[key]!r} ({type(data[key]).__name__}), expected "
                              f"{_type_name(hints.get(key, typing.Any))}") from None
        raise ConfigError(f"{where}: {text.splitlines()[0]}") from None
    out = {}
    for key, value in data.items():
        new = value if key in skip else getattr(parsed, key)
        if isinstance(value, str) and isinstance(new, int | float) and not isinstance(new, bool):
            out[key] = new
        elif tuples and isinstance(value, list):
            out[key] = tuple(value)
        else:
            out[key] = value
    return out


def check_method_config(name: str, builder, config: dict, where: str) -> dict:
    """A method's config: every key known to its builder (following `**kwargs` into the base classes), every value
    of the type its parameter is annotated with (jsonargparse)."""
    from ..methods.registry import config_keys

    valid = config_keys(builder)
    unknown = sorted(set(config) - set(valid))
    if unknown:
        raise ConfigError(f"{where}: method {name!r}: unknown config key(s) {unknown}; valid keys: {valid}")
    hints: dict = {}
    fns = [c.__init__ for c in builder.__mro__ if "__init__" in vars(c)] if inspect.isclass(builder) else [builder]
    for fn in reversed(fns):
        try:
            hints.update(typing.get_type_hints(fn))
        except (NameError, TypeError):
            continue
    return validated(builder, config, hints, f"{where}: {name}", sep=".")


def _methods(entry, where: str) -> list[MethodSpec]:
    """One method entry → its MethodSpecs: one, or with `sweep: {key: [v1, v2, …], …}` one per combination of
    the listed values (merged into `config`; e.g. NFE settings for the equal-NFE view, `nfe_view.py`). A label
    given with a sweep gets the swept values appended, so every row keeps its own name."""
    if isinstance(entry, str):
        return [MethodSpec(entry)]
    if not isinstance(entry, dict) or "name" not in entry:
        raise ConfigError(f"{where}: a method is a name or a mapping with 'name' (and 'config', 'label', 'masks', "
                          "'sweep')")
    entry = dict(entry)
    swept = entry.pop("sweep", None) or {}
    if not isinstance(swept, dict) or not all(isinstance(v, list) and v for v in swept.values()):
        raise ConfigError(f"{where}: sweep: expected a mapping of config keys to non-empty lists, e.g. "
                          f"{{nfe: [1, 5, 10]}}, got {swept!r}")
    entry = _strict(MethodSpec, entry, where)
    config = dict(entry.get("config") or {})
    clash = sorted(set(swept) & set(config))
    if clash:
        raise ConfigError(f"{where}: {', '.join(clash)} given both in config and in sweep; keep one")
    specs = []
    for values in itertools.product(*swept.values()):
        chosen = dict(zip(swept, values, strict=True))
        label = entry.get("label", "")
        if label and chosen:
            label += " (" + ", ".join(f"{k} {v}" for k, v in chosen.items()) + ")"
        specs.append(MethodSpec(entry["name"], {**config, **chosen}, label, tuple(entry.get("masks", ()))))
    return specs


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}: it is given twice, and "
                                                        "only one value can count; remove one", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str):
    """`yaml.safe_load` that refuses duplicate keys (sweep files, --config, --method-config)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 — a SafeLoader subclass


def load_sweep(path: str | Path, **overrides) -> SweepConfig:
    """Read and validate a sweep YAML; `overrides` replace top-level or protocol keys (e.g. limit=4)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        data = load_yaml(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{at}: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of keys (datasets, masks, methods, …), got "
                          f"{type(data).__name__}")
    data.setdefault("name", path.stem)
    protocol_keys = {f.name for f in dataclasses.fields(Protocol)} - {"dataset"}
    proto = {k: data.pop(k) for k in list(data) if k in protocol_keys}
    for k, v in overrides.items():
        if v is None:
            continue
        (proto if k in protocol_keys else data)[k] = v
    if "protocol" in data:
        raise ConfigError(f"{path}: protocol keys go at the top level ({sorted(protocol_keys)})")
    data = _strict(SweepConfig, data, str(path))
    for key in ("datasets", "masks", "methods", "seeds"):
        if key in data and not data[key]:
            raise ConfigError(f"{path}: '{key}' must list at least one entry")
    for key in ("datasets", "masks", "methods"):
        if key not in data:
            raise ConfigError(f"{path}: '{key}' is required (a list)")
    if not isinstance(data["methods"], list):
        raise ConfigError(f"{path}: methods: expected a list of names or mappings, got {data['methods']!r}")
    protocol = Protocol(**_strict(Protocol, proto, str(path)))
    validate_protocol(protocol)
    methods = tuple(spec for i, m in enumerate(data.pop("methods")) for spec in _methods(m, f"{path}: methods[{i}]"))
    sweep = SweepConfig(methods=methods, protocol=protocol, **data)
    return validate_sweep(sweep, str(path))


def validate_protocol(p: Protocol) -> None:
    from ..metrics import METRIC_NAMES, MODES

    for key in ("size", "limit"):
        value = getattr(p, key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ConfigError(f"{key} must be a positive integer (or omitted for the default), got {value!r}")
    if not p.metrics:
        raise ConfigError("metrics must list at least one metric")
    if p.reference != "test-images" and not p.reference.startswith(("stats:", "folder:")):
        raise ConfigError(f"reference must be test-images, stats:PATH or folder:PATH, got {p.reference!r}")
    if p.reference.startswith("stats:") and {"kid"} & set(p.metrics):
        raise ConfigError("reference: stats:PATH holds μ and Σ only, which KID cannot use; drop kid or use "
                          "reference: folder:PATH")
    if p.resize not in ("bicubic", "bilinear"):
        raise ConfigError(f"resize must be 'bicubic' or 'bilinear', got {p.resize!r}")
    if p.quantize not in ("round", "floor"):
        raise ConfigError(f"quantize must be 'round' or 'floor', got {p.quantize!r}")
    if p.noise not in ("cpu", "device"):
        raise ConfigError(f"noise must be 'cpu' (the same numbers on every device) or 'device' (generators on "
                          f"the accelerator), got {p.noise!r}")
    if p.label_file and not p.split_file:
        raise ConfigError("label_file needs split_file (the image list its lines label)")
    if p.mask_polarity not in ("hole", "keep"):
        raise ConfigError(f"mask_polarity must be 'hole' or 'keep', got {p.mask_polarity!r}")
    if p.lpips_net not in ("alex", "vgg"):
        raise ConfigError(f"lpips_net must be 'alex' or 'vgg', got {p.lpips_net!r}")
    if p.features not in FEATURES:
        raise ConfigError(f"features must be one of {FEATURES}, got {p.features!r}")
    if p.fid_mode not in MODES:
        raise ConfigError(f"fid_mode must be one of {MODES}, got {p.fid_mode!r}")
    bad = [m for m in p.metrics if m not in METRIC_NAMES]
    if bad:
        raise ConfigError(f"unknown metric(s) {bad}; valid: {list(METRIC_NAMES)}")


POSITIVE_COUNTS = {"nfe", "steps", "ddim_steps", "t_T", "T", "jump_length", "jump_n_sample", "max_attempts",
                   "gmm_components", "u_max"}  # method config keys that count steps or tries


def validate_names(sweep: SweepConfig, where: str = "sweep") -> SweepConfig:
    """Datasets, masks and methods exist, and every method config has the keys and types its builder takes."""
    from .. import masks, methods
    from ..data import DATASETS

    for d in sweep.datasets:
        if d == "folder":
            raise ConfigError(f"{where}: the folder dataset needs its path: datasets: [\"folder:PATH\"]")
        if d not in DATASETS and not d.startswith("folder:"):
            raise ConfigError(f"{where}: unknown dataset {d!r}; valid: {DATASETS.names()}")
        if d.startswith("folder:") and not Path(d.removeprefix("folder:")).expanduser().is_dir():
            raise ConfigError(f"{where}: dataset {d}: no folder {Path(d.removeprefix('folder:')).expanduser()} "
                              "(the path after folder: is your image folder)")
    for m in sweep.masks:
        if ":" not in m and m not in masks.names():
            raise ConfigError(f"{where}: unknown mask {m!r}; valid: {masks.names()} or folder:PATH")
    checked = []
    for spec in sweep.methods:
        if spec.name not in methods.names():
            raise ConfigError(f"{where}: unknown method {spec.name!r}; valid: {methods.names()}")
        config = check_method_config(spec.name, methods.METHODS.get(spec.name), spec.config, where)
        for key in POSITIVE_COUNTS & set(config):
            if not isinstance(config[key], int) or config[key] < 1:
                raise ConfigError(f"{where}: {spec.name} {key} must be a whole number ≥ 1, got {config[key]!r}")
        checked.append(dataclasses.replace(spec, config=config))
    return dataclasses.replace(sweep, methods=tuple(checked))


def validate_sweep(sweep: SweepConfig, where: str = "sweep") -> SweepConfig:
    """`validate_names`, plus: positive batch size, no two entries with one row label (their numbers would land
    in one leaderboard row), no entry twice."""
    sweep = validate_names(sweep, where)
    if sweep.batch_size < 1 or sweep.grid_images < 0 or sweep.gallery < 0:
        raise ConfigError(f"{where}: batch_size must be ≥ 1, grid_images and gallery ≥ 0")
    rows: dict[str, MethodSpec] = {}
    for spec in sweep.methods:
        key = json.dumps([spec.name, spec.config], sort_keys=True, default=str)
        for other in rows.values():
            if json.dumps([other.name, other.config], sort_keys=True, default=str) == key:
                raise ConfigError(f"{where}: method {spec.name} with config {spec.config} is listed twice "
                                  f"(labels {other.row()!r} and {spec.row()!r}); keep one entry")
        other = rows.get(spec.row())
        if other is not None and not (other.masks and spec.masks and not set(other.masks) & set(spec.masks)):
            raise ConfigError(f"{where}: two methods share the leaderboard row {spec.row()!r} "
                              f"({other.config} and {spec.config}); give them different labels, or disjoint "
                              f"`masks:` (one row, a configuration per mask type)")
        for m in spec.masks:
            if m not in sweep.masks:
                raise ConfigError(f"{where}: method {spec.row()!r} lists mask {m!r}, which the sweep does not run")
        rows[spec.row()] = spec
    return sweep


def cell_datamodule(cell: CellConfig):
    """The DataModule of a cell: its protocol's dataset and split, paired with its mask set."""
    from ..data import build_datamodule

    p = cell.protocol
    kwargs = {"root": p.data_root} if p.data_root else {}
    return build_datamodule(p.dataset, split=p.split, size=p.size, mask=cell.mask, mask_seed=0,
                            batch_size=cell.batch_size, limit=p.limit, mask_polarity=p.mask_polarity,
                            resize_masks=p.resize_masks, split_file=p.split_file, label_file=p.label_file,
                            resize=p.resize, **kwargs)


def result_dataset(result: dict):
    """The (image, mask) items a finished cell ran on, rebuilt from its JSON (for sample grids)."""
    cfg = result["config"]["protocol"]
    protocol = Protocol(**{**cfg, "metrics": tuple(cfg["metrics"]), "limit": cfg.get("limit")})
    return cell_datamodule(CellConfig(protocol, result["protocol"]["mask"], MethodSpec("mean_fill"), 0, 1)).dataset
