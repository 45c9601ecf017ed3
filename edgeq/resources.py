"""Where the templates/ and firmware/ trees are: inside the wheel, or at the repository top."""

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    packaged = _PKG / ("_tree/firmware" if name == "firmware" else f"_{name}")  # inside a wheel
    if packaged.is_dir():
        return packaged
    source = _PKG.parent / name  # an editable install / source checkout
    if source.is_dir():
        return source
    raise FileNotFoundError(f"edgeq installation is incomplete: no {name}/ directory found")


def templates_dir() -> Path:
    return _find("templates")


def firmware_dir() -> Path:
    return _find("firmware")
