"""The installed package holds every module and data file a user needs (not only in editable mode)."""

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_python_folder_is_a_listed_package():
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    mapped = {v: k for k, v in conf.get("package-dir", {}).items()}
    found = set()
    for init in (REPO / "rvae_visual").rglob("__init__.py"):
        rel = init.parent.relative_to(REPO)
        found.add(".".join(rel.parts))
    for folder, name in mapped.items():
        assert (REPO / folder / "__init__.py").exists()
        found.add(name)
    assert found <= listed, f"missing from pyproject packages: {sorted(found - listed)}"
