"""The last rendering of a period's reports, kept so that a rerun with nothing changed does not
draw and write the same files again (the rerun after an officer opened, printed or re-sent them).

The Word, Excel and HTML files are pure functions of what they are rendered from: the period's
data as `gather` returns it (`ReportData`: the figures, the submission status, the options and
settings, the officer's own words, the lock note and the signed scans, all read from the ledger
and the inputs there), every file under `templates/`, the code of `pipeline/`, the versions of the
libraries that render, the fonts matplotlib knows (the charts' font) and any matplotlibrc of the
user's. `render_key` hashes all of that; when the key is the one recorded with the kept files, and the kept files still have the
SHA-256 recorded beside them, the kept bytes are the rendering, byte for byte. Anything else
(a new file ingested, an edited `inputs/bao-cao/<period>.md`, a changed template or setting, an
upgraded library, a changed clock day when the report is as of today) changes the key and the
files are rendered again.

The copy lives in `outputs/.bao-cao-da-lap/<period>/` (a cache: deleting it only costs one
rendering). Where outputs/ cannot be written the reports are rendered every time.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import io
import json
import os
import pickle
import sys
from importlib import metadata
from pathlib import Path

from pipeline.common.atomic import write_bytes

CACHE_NAME = ".bao-cao-da-lap"
MANIFEST = "manifest.json"
# the libraries whose output is in the files (a new release may change a byte)
RENDERING_LIBRARIES = ("matplotlib", "pillow", "numpy", "python-docx", "docxtpl", "openpyxl", "jinja2", "markupsafe",
                       "lxml", "pandas")
_PACKAGE = Path(__file__).resolve().parents[1]     # pipeline/


def cache_dir(settings, period_code: str) -> Path:
    return settings.path("outputs") / CACHE_NAME / period_code


def render_key(data, content: bytes | None = None) -> str | None:
    """The SHA-256 of everything a rendering of `data` reads (see the module docstring); None when
    matplotlib's font list cannot be found (the charts' font unknown: render every time) or the data
    cannot be kept. `content`: `data_content(data)`, when the caller has it (the key after a
    rendering, which only a template, the code or the fonts can have changed)."""
    fonts = _font_list()
    content = data_content(data) if content is None else content
    if fonts is None or content is None:
        return None
    digest = hashlib.sha256()

    def part(label: str, content: bytes) -> None:
        digest.update(label.encode("utf-8") + b"\0" + len(content).to_bytes(8, "big") + content)

    part("data", content)
    templates = data.settings.root / "templates"
    for path in _files(templates):
        part("templates/" + path.relative_to(templates).as_posix(), path.read_bytes())
    for path in _files(_PACKAGE):
        if path.suffix == ".py":
            part("code/" + path.relative_to(_PACKAGE).as_posix(), path.read_bytes())
    part("python", sys.version.encode("utf-8"))
    for name, version in _library_versions():
        part(name, version)
    part("fonts", fonts)
    for path in _matplotlibrc_files():   # a user's matplotlib settings change what the charts look like
        part(f"matplotlibrc {path}", path.read_bytes())
    return digest.hexdigest()


def data_content(data) -> bytes | None:
    """The data's part of the key: its content pickled (`_ContentPickler`), or None where something
    in it cannot be kept."""
    try:
        content = io.BytesIO()
        _ContentPickler(content, protocol=5).dump(data)
    except (pickle.PicklingError, TypeError, AttributeError):   # something that cannot be kept: render
        return None
    return content.getvalue()


@functools.lru_cache(maxsize=1)
def _library_versions() -> tuple[tuple[str, bytes], ...]:
    """The rendering libraries' versions, read once a process (8 ms: not twice a build)."""
    found = []
    for name in RENDERING_LIBRARIES:
        try:
            found.append((name, metadata.version(name).encode("utf-8")))
        except metadata.PackageNotFoundError:
            found.append((name, b""))
    return tuple(found)


class _ContentPickler(pickle.Pickler):
    """Pickles an object of ours by what it holds, without what it computed and cached
    (`functools.cached_property`: the registry's name lookups, the report's grid): a process that
    ingested first has looked up more than one that did not, and the same data must give the
    same key."""

    def reducer_override(self, obj):
        pandas = sys.modules.get("pandas")
        if pandas is not None and isinstance(obj, (pandas.DataFrame, pandas.Series, pandas.Index)):
            return _never_rebuilt, _frame_content(pandas, obj)
        cls = type(obj)
        if (not cls.__module__.startswith("pipeline.") or not hasattr(obj, "__dict__")
                or any(base.__module__ == "builtins" and base is not object for base in cls.__mro__)
                or isinstance(obj, enum.Enum)):
            return NotImplemented   # (a subclass of str, an exception...: its value is not in __dict__)
        held = {name: value for name, value in vars(obj).items()
                if not isinstance(getattr(cls, name, None), functools.cached_property)}
        return _never_rebuilt, (f"{cls.__module__}.{cls.__qualname__}", sorted(held.items()))


def _frame_content(pandas, obj) -> tuple:
    """A frame, series or index by its labels, types and values as Python objects: the same
    content gives the same bytes however pandas laid out its blocks (which a pickle of the frame
    would show, and which depends on what was done with the frame before)."""
    if isinstance(obj, pandas.Index):
        return "Index", str(obj.dtype), obj.tolist()
    if isinstance(obj, pandas.Series):
        return "Series", obj.name, str(obj.dtype), obj.index.tolist(), obj.tolist()
    return ("DataFrame", obj.columns.tolist(), [str(t) for t in obj.dtypes], obj.index.tolist(),
            [obj.iloc[:, n].tolist() for n in range(obj.shape[1])])


def _never_rebuilt(*_):   # (a key's pickle is hashed, never loaded)
    raise NotImplementedError


def kept(folder: Path) -> bool:
    """Whether a rendering is kept in `folder` (whatever its key)."""
    return (folder / MANIFEST).is_file()


def probably_kept(folder: Path, sources: list[Path]) -> bool:
    """A guess, made before anything is read, that the rendering kept in `folder` will do: one is
    kept and nothing in the folders `sources` (the period's received files, the officer's text) was written
    or moved there since it was last rendered or used (`used`). It decides only whether the
    chart-drawing process starts before the ingestion (pipeline/report/drawing.py), never which
    bytes are written: a wrong guess costs a process started for nothing, or started later."""
    try:
        since = (folder / MANIFEST).stat().st_mtime
    except OSError:
        return False
    for source in sources:
        for path in _files(source):
            try:
                info = path.stat()
            except OSError:
                continue
            # (ctime: a file moved or copied in; the same tick of the coarse file clock counts as new)
            if max(info.st_mtime, info.st_ctime) >= since:
                return False
    return True


def used(folder: Path) -> None:
    """The kept rendering was written again: its time is now, for `probably_kept`."""
    try:
        os.utime(folder / MANIFEST)
    except OSError:
        pass


def load(folder: Path, key: str | None) -> dict[str, bytes] | None:
    """The files kept under `key`, or None (another key, a file missing or not the bytes recorded)."""
    if key is None:
        return None
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("key") != key or not isinstance(manifest.get("files"), dict):
        return None
    files = {}
    for name, sha in manifest["files"].items():
        try:
            content = (folder / name).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(content).hexdigest() != sha:
            return None
        files[name] = content
    return files


def save(folder: Path, key: str | None, files: dict[str, bytes]) -> None:
    """Keeps `files` under `key` (the manifest written last, so a half-written copy is never used)."""
    if key is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)
        for name, content in files.items():
            write_bytes(folder / name, content)
        manifest = {"key": key, "files": {name: hashlib.sha256(c).hexdigest() for name, c in files.items()}}
        write_bytes(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
    except OSError:
        pass   # outputs/ read-only or full: the next run renders again


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts),
                  key=lambda p: p.as_posix())


def _font_list() -> bytes | None:
    """What matplotlib knows of the installed fonts: its font cache (fontlist-v*.json), which it
    builds once and from which the charts' font is chosen (`charts.chart_font`). Found where
    matplotlib keeps it (`matplotlib.get_cachedir`, without importing matplotlib, which would cost
    more than this whole check); None where there is none, and then nothing is reused."""
    for folder in _matplotlib_cache_dirs():
        lists = sorted(folder.glob("fontlist-*.json"))
        if lists:
            return b"".join(p.name.encode() + b"\0" + p.read_bytes() + _font_files(p) for p in lists)
    return None


def _font_files(font_list: Path) -> bytes:
    """Each font file the list names, by its size and time: a font package upgraded in place
    leaves matplotlib's list as it was but may draw other glyphs."""
    try:
        entries = json.loads(font_list.read_text(encoding="utf-8"))
        names = sorted({f["fname"] for key in ("ttflist", "afmlist") for f in entries.get(key, [])
                        if isinstance(f, dict) and isinstance(f.get("fname"), str)})
    except (OSError, ValueError, AttributeError):
        return b"unreadable font list"
    out = []
    for name in names:
        try:
            stat = Path(name).stat()
            out.append(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}")
        except OSError:
            out.append(f"{name}\0missing")
    return "\n".join(out).encode("utf-8")


def _matplotlibrc_files() -> list[Path]:
    """The matplotlibrc files matplotlib would read before its own (`matplotlib.matplotlib_fname`):
    in the working folder, $MATPLOTLIBRC, the user's configuration folder."""
    candidates = [Path.cwd() / "matplotlibrc"]
    if os.environ.get("MATPLOTLIBRC"):
        given = Path(os.environ["MATPLOTLIBRC"])
        candidates.append(given / "matplotlibrc" if given.is_dir() else given)
    try:
        home = Path.home()
    except RuntimeError:
        home = None
    if os.environ.get("MPLCONFIGDIR"):
        candidates.append(Path(os.environ["MPLCONFIGDIR"]) / "matplotlibrc")
    elif home is not None and sys.platform.startswith(("linux", "freebsd")):
        candidates.append(Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib" / "matplotlibrc")
    elif home is not None:
        candidates.append(home / ".matplotlib" / "matplotlibrc")
    return [path for path in candidates if path.is_file()]


def _matplotlib_cache_dirs() -> list[Path]:
    """Where matplotlib's cache is, as `matplotlib._get_config_or_cache_dir` looks for it."""
    if os.environ.get("MPLCONFIGDIR"):
        return [Path(os.environ["MPLCONFIGDIR"])]
    try:
        home = Path.home()
    except RuntimeError:
        return []
    if sys.platform.startswith(("linux", "freebsd")):
        return [Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"]
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return [home / ".matplotlib", *([Path(local) / "matplotlib"] if local else [])]
    return [home / ".matplotlib"]
