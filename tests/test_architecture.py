"""The layering of ARCHITECTURE.md, checked on the source: no import circles, imports only go down the layers,
and the top level holds only package-level modules."""

import shutil

import import_graph as ig


def test_no_import_circles_in_the_package():
    assert ig.cycles(ig.imports()) == []


def test_imports_only_go_down_the_layers():
    assert ig.upward_imports(ig.imports()) == []


def test_every_package_import_names_a_module_that_exists():
    """Also the imports inside functions, which importing the modules would not run."""
    missing = []
    ig.imports(unresolved=missing)
    assert missing == []


def test_every_module_is_in_a_layer():
    for module in ig.imports():
        ig.layer_of(module)  # raises for a folder that ARCHITECTURE.md / LAYERS do not place


def test_a_reintroduced_circle_is_found_and_named(tmp_path):
    """The bench/ circle this layout removed (grids importing the runner, which imports the leaderboard, which
    imports grids) put back into a copy of the package: the check names exactly those files."""
    copy = tmp_path / "inpaint_bench"
    shutil.copytree(ig.PACKAGE, copy, ignore=shutil.ignore_patterns("assets", "__pycache__"))
    grids = copy / "bench" / "grids.py"
    grids.write_text(grids.read_text() + "\n\ndef _circle():\n    from .runner import run_cell  # noqa: F401\n")
    found = ig.cycles(ig.imports(copy))
    assert len(found) == 1
    assert {"inpaint_bench.bench.grids", "inpaint_bench.bench.runner",
            "inpaint_bench.bench.leaderboard"} <= set(found[0])


def test_an_upward_import_is_found(tmp_path):
    copy = tmp_path / "inpaint_bench"
    shutil.copytree(ig.PACKAGE, copy, ignore=shutil.ignore_patterns("assets", "__pycache__"))
    nets = copy / "nets" / "classifier.py"
    nets.write_text(nets.read_text() + "\n\ndef _up():\n    from ..methods.training import TRAIN_MASKS  # noqa: F401\n")
    assert ("inpaint_bench.nets.classifier", "inpaint_bench.methods.training") in ig.upward_imports(ig.imports(copy))


def test_the_top_level_holds_only_package_level_modules():
    top = sorted(p.stem for p in ig.PACKAGE.glob("*.py"))
    assert top == ["__init__", "api", "convention", "registry"]


def test_public_names_users_import_keep_working():
    import inpaint_bench
    from inpaint_bench import masks, methods

    assert callable(inpaint_bench.evaluate) and inpaint_bench.__version__
    assert masks.generate("center", 1, size=8).shape == (1, 1, 8, 8)
    assert callable(methods.build)


def test_the_architecture_map_names_files_and_functions_that_exist():
    """Every `folder/file.py` in ARCHITECTURE.md exists, and in the equation table every function named after a
    file is defined in it: the map cannot drift from the code silently."""
    import re

    text = (ig.PACKAGE.parent / "ARCHITECTURE.md").read_text()
    for path in set(re.findall(r"`((?:[a-z_]+/)+[a-z_]+\.py)`", text)):
        assert (ig.PACKAGE / path).is_file() or (ig.PACKAGE.parent / path).is_file(), path
    table = text.split("## Equations → files")[1].split("## Where")[0]
    for row in table.splitlines()[2:]:
        if not row.startswith("|"):
            continue
        where = row.rsplit("|", 2)[1]
        current = None
        for token in re.findall(r"`([^`]+)`", where):
            if token.endswith(".py"):
                current = (ig.PACKAGE / token).read_text()
                continue
            name = token.split(".")[-1]
            assert re.search(rf"(def|class) {name}\b", current), (row, token)
