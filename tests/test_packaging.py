"""Packaging: the wheel holds one ``livecodec`` namespace with the icon and the console script,
an installed copy finds its icon through importlib.resources, and the decoder side of the codec
imports without scikit-learn or scikit-image.

The wheel is built from a copy of the working tree (so no build/ or egg-info is written into
the checkout) with ``pip wheel --no-deps --no-build-isolation --no-index``: no network, a few
seconds. That needs pyproject's build requirement, setuptools>=77, in the test environment; the
wheel tests skip and say so where it is missing.
"""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: What the distribution is built from, and the folder each maps to inside ``livecodec/``.
PACKAGES = {"app": "livecodec/app", "codec": "livecodec/codec", "assets": "livecodec/assets"}
SOURCES = ["pyproject.toml", "README.md", "LICENSE", *PACKAGES]
MIN_SETUPTOOLS = (77,)


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def _setuptools_version() -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in metadata.version("setuptools").split(".")[:2] if p.isdigit())
    except metadata.PackageNotFoundError:
        return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the working tree."""
    version = _setuptools_version()
    if version is None or version < MIN_SETUPTOOLS:
        pytest.skip(f"setuptools>=77 (pyproject's build requirement) is not installed here "
                    f"(found {version}); add it to the test extras to build the wheel offline")
    root = tmp_path_factory.mktemp("packaging")
    source = root / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", str(root / "dist"), str(source)],
        cwd=root, env=_child_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list((root / "dist").glob("livecodec-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _dist_info(names: list[str]) -> str:
    (folder,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    return folder


def test_wheel_holds_only_the_livecodec_namespace(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = _dist_info(names)
        outside = [n for n in names if not n.startswith(("livecodec/", dist_info + "/"))]
        assert outside == [], f"files outside livecodec/ in the wheel: {outside}"
        assert not [n for n in names if "__pycache__" in n or n.endswith((".nbi", ".nbc"))]
        # every module and the icon of the source folders, nothing else
        for folder, target in PACKAGES.items():
            expected = {f"{target}/{p.relative_to(REPO / folder).as_posix()}"
                        for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts}
            packed = {n for n in names if n.startswith(target + "/") and n.endswith(".py")}
            assert packed == expected, (folder, sorted(packed ^ expected))
        assert archive.read("livecodec/assets/icon.png") == (REPO / "assets" / "icon.png").read_bytes()
        if f"{dist_info}/top_level.txt" in names:
            assert archive.read(f"{dist_info}/top_level.txt").decode().split() == ["livecodec"]
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(f"{dist_info}/entry_points.txt").decode())
    assert dict(entry_points["console_scripts"]) == {"livecodec": "livecodec.app.entry:main"}


def test_an_installed_copy_runs_and_finds_its_icon(wheel: Path, tmp_path: Path) -> None:
    """The wheel unpacked on its own (the checkout's editable install left out): ``--help``
    works and the window icon loads through importlib.resources."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    code = (
        "import sys\n"
        # the checkout's editable finder must not serve livecodec: only the unpacked wheel
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "import livecodec.app.gui as gui\n"
        f"assert gui.__file__.startswith({str(site)!r}), gui.__file__\n"
        "from PyQt6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "assert not gui.window_icon().isNull()\n"
        "from livecodec.app.entry import main\n"
        "sys.argv = ['livecodec', '--help']\n"
        "main()\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=_child_env(QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "usage: livecodec" in result.stdout


def test_decoder_side_imports_without_scikit_learn_or_scikit_image() -> None:
    """A decoder-only user never loads the encoder or its dependencies; the Encoder (loaded
    lazily) does, which shows the check can see them."""
    code = (
        "import sys\n"
        "import livecodec.codec.decoder\n"
        "from livecodec.codec import ConcealingDecoder, Decoder, PacketReader, recover_frames\n"
        "heavy = sorted(m for m in ('sklearn', 'skimage', 'livecodec.codec.encoder.encoder',\n"
        "                           'livecodec.codec.encoder.palette') if m in sys.modules)\n"
        "assert heavy == [], heavy\n"
        "from livecodec.codec import Encoder\n"
        "assert 'sklearn' in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env=_child_env())
    assert result.returncode == 0, result.stderr[-3000:]
