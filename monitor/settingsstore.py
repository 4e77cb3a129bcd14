"""Where the settings live: JSON files in the platform's configuration folder, in layers.

Folder (what ``QStandardPaths.AppConfigLocation`` gives, without Qt):

- ``$FACIAL_NERVE_MONITOR_CONFIG`` when set (tests, a site-wide folder);
- Linux and other Unix: ``$XDG_CONFIG_HOME/facial-nerve-monitor``, by default
  ``~/.config/facial-nerve-monitor``;
- macOS: ``~/Library/Preferences/facial-nerve-monitor``;
- Windows: ``%LOCALAPPDATA%\\facial-nerve-monitor``.

Layers, each over the one before (a layer holds only what differs from what is below):

1. factory defaults (the code: :func:`monitor.monitorsettings.factory_settings`);
2. ``procedures/<procedure>.json``: the settings of a procedure for every user;
3. ``users/<user>/<procedure>.json``: one user's settings for that procedure.

``users/<user>/last-case.json`` keeps the last surgeon, neurophysiologist and procedure
(never a patient field). Every file is written atomically (a temporary file in the same
folder, flushed to disk, then renamed over the old one): a crash leaves the old or the new
file, never half of one. A file that cannot be read or holds unusable values is renamed aside
(``<name>.unreadable-<date>-<time>``), a warning says so, and the layers below it apply;
so is a folder in its place, a file over :data:`MAX_FILE_BYTES` (never read whole) and one
nested deeper or holding larger numbers than any settings file. Reading never raises.

JSON rather than TOML: Python reads TOML (``tomllib``) but cannot write it without another
package, and the settings are written by the program far more often than by hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import logging
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from monitor.casesetup import NAME_MAX, CaseSetup, Procedure
from monitor.monitorsettings import (
    MonitorSettings,
    SettingsError,
    clean_layer,
    difference,
    factory_settings,
    merge,
)

log = logging.getLogger(__name__)

APP_FOLDER = "facial-nerve-monitor"
ENV_FOLDER = "FACIAL_NERVE_MONITOR_CONFIG"
FORMAT = 1
_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
#: A settings file is a few kB; anything larger is not one, and is never read whole.
MAX_FILE_BYTES = 1_000_000
#: Settings nest a few levels (settings, montage, presets, a preset, a channel).
MAX_DEPTH = 16
#: No setting needs a larger integer; a 400-digit one does not even convert to a float.
MAX_INTEGER = 10**15
_LAST_CASE_CHARS = {"surgeon": NAME_MAX, "neurophysiologist": NAME_MAX, "procedure": 80}
_WHY_CHARS = 300  # a warning quotes at most this much of a file's content


def config_folder() -> Path:
    """The platform's configuration folder for the monitor (see the module docstring)."""
    override = os.environ.get(ENV_FOLDER)
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / APP_FOLDER
    if sys.platform == "darwin":
        return home / "Library" / "Preferences" / APP_FOLDER
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
    return base / APP_FOLDER


def check_user(user: str) -> str:
    """A user name usable as a folder: letters, digits, ``.``, ``-``, ``_``; 1 to 32.

    Raises
    ------
    SettingsError
    """
    text = str(user).strip()
    if not _USER.fullmatch(text):
        raise SettingsError(
            "A user name has 1 to 32 letters, digits, '.', '-' or '_' (no spaces), "
            "starting with a letter or digit."
        )
    return text


def default_user() -> str:
    """The login name, made a valid user name (``user`` if there is none)."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name in some containers
        name = ""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:32]
    return name or "user"


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` so that a crash leaves the old or the new file.

    Raises
    ------
    OSError
        The folder cannot be created or written (the old file is then untouched).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # make the rename itself durable
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False when even that cannot be found out."""
    try:
        return path.exists()
    except OSError:
        return False


def _read_capped(path: Path) -> bytes:
    """The bytes of a settings file, never more than :data:`MAX_FILE_BYTES`.

    Raises
    ------
    FileNotFoundError
        There is no file.
    SettingsError
        Not a regular file, or too large: why, as the end of a sentence.
    OSError
        It cannot be read.
    """
    info = path.stat()  # before opening: opening a pipe would wait for a writer
    if stat.S_ISDIR(info.st_mode):
        raise SettingsError("is a folder, not a settings file")
    if not stat.S_ISREG(info.st_mode):
        raise SettingsError("is not a file")
    too_large = SettingsError(f"is too large to be a settings file (over {MAX_FILE_BYTES:,} bytes)")
    if info.st_size > MAX_FILE_BYTES:
        raise too_large
    with open(path, "rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:  # it grew since
        raise too_large
    return raw


def _check_values(doc: Any) -> None:
    """Refuse nesting and numbers no settings file holds, before any check meets them.

    Raises
    ------
    SettingsError
        Why, as the end of a sentence.
    """
    stack = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SettingsError("is damaged: nested too deeply to be a settings file")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, int) and abs(value) > MAX_INTEGER:
            raise SettingsError("holds a number far too large to be a setting")


def _settings_in(raw: bytes) -> Any:
    """The ``settings`` part of a settings file's bytes.

    Raises
    ------
    SettingsError
        Why the file is unusable, as the end of a sentence ("is damaged: ...").
    """
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise SettingsError(f"is damaged: not valid JSON{where}") from None
    except RecursionError:  # [[[[...]]]]: the reader gives up long before the end
        raise SettingsError("is damaged: nested too deeply to be a settings file") from None
    except ValueError:  # an integer of thousands of digits
        raise SettingsError("is damaged: holds a number with too many digits") from None
    _check_values(doc)
    if not isinstance(doc, dict) or not isinstance(doc.get("settings", {}), dict):
        raise SettingsError("is not a settings file")
    if doc.get("format", FORMAT) != FORMAT:
        raise SettingsError(f"has format {_shown(doc.get('format'))}, not {FORMAT}")
    return doc.get("settings", {})


def _shown(value: Any) -> str:
    """``repr(value)``, cut short: a warning never quotes a whole file."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _short(why: str) -> str:
    return why if len(why) <= _WHY_CHARS else why[: _WHY_CHARS - 1] + "…"


def _checked_layer(settings: Any) -> tuple[dict[str, Any], list[str]]:
    """:func:`~monitor.monitorsettings.clean_layer`, every failure as a SettingsError whose
    text ends the sentence "The settings file ... "."""
    try:
        return clean_layer(settings)
    except SettingsError as exc:
        raise SettingsError(f"holds an unusable value ({exc})") from None
    except Exception:  # a value no check foresaw must not stop the case setup
        log.debug("settings layer refused", exc_info=True)
        raise SettingsError("holds a value that cannot be used") from None


def _settings_from(stored: dict[str, Any]) -> MonitorSettings:
    """:meth:`MonitorSettings.from_dict`, every failure as a SettingsError (as above)."""
    try:
        return MonitorSettings.from_dict(stored)
    except SettingsError as exc:
        raise SettingsError(f"holds an unusable value ({exc})") from None
    except Exception:  # as in _checked_layer
        log.debug("settings refused", exc_info=True)
        raise SettingsError("holds a value that cannot be used") from None


class SettingsStore:
    """Loads and saves :class:`~monitor.monitorsettings.MonitorSettings` per user and per
    procedure (see the module docstring).

    Parameters
    ----------
    folder : str or Path, optional
        Default :func:`config_folder`.

    ``warnings`` collects, in words, what went wrong while reading (a file set aside, an
    unknown setting ignored); the screen shows them, the log has them too.

    Thread safety: not thread-safe; use from one thread (the GUI thread). Separate
    processes may share the folder: each write is atomic, the last one wins.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else config_folder()
        self.warnings: list[str] = []

    # -- files -------------------------------------------------------------------------------
    def procedure_file(self, procedure: Procedure | str) -> Path:
        return self.folder / "procedures" / f"{Procedure.parse(procedure).value}.json"

    def user_file(self, user: str, procedure: Procedure | str) -> Path:
        name = f"{Procedure.parse(procedure).value}.json"
        return self.folder / "users" / check_user(user) / name

    def last_case_file(self, user: str) -> Path:
        return self.folder / "users" / check_user(user) / "last-case.json"

    def users(self) -> list[str]:
        """Users with a settings folder, sorted."""
        folder = self.folder / "users"
        try:
            return sorted(
                p.name for p in folder.iterdir() if p.is_dir() and _USER.fullmatch(p.name)
            )
        except OSError:
            return []

    # -- reading -------------------------------------------------------------------------------
    def _warn(self, text: str) -> None:
        log.warning("%s", text)
        self.warnings.append(text)

    def _set_aside(self, path: Path, why: str) -> None:
        """Rename an unusable file out of the way (never delete it) and say so."""
        why = _short(why)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside, k = path.with_name(f"{path.name}.unreadable-{stamp}"), 1
        while _exists(aside):
            k += 1
            aside = path.with_name(f"{path.name}.unreadable-{stamp}-{k}")
        try:
            os.replace(path, aside)
        except OSError as exc:
            self._warn(
                f"The settings file {path} {why}; it could not be moved aside "
                f"({exc.strerror or exc}), so settings will not be saved over it. "
                "The defaults are used."
            )
            raise SettingsError(f"The settings file {path} {why}.") from None
        self._warn(
            f"The settings file {path} {why}; it was renamed to {aside.name} and the "
            "defaults are used instead."
        )

    def _read_layer(self, path: Path) -> dict[str, Any] | None:
        """The settings in ``path`` ({} when there is no file, None when it was unusable
        and has been set aside). Never raises."""
        try:
            raw = _read_capped(path)
            layer, notes = _checked_layer(_settings_in(raw))
        except FileNotFoundError:
            return {}
        except SettingsError as exc:
            self._set_aside_quietly(path, str(exc))
            return None
        except OSError as exc:
            self._set_aside_quietly(path, f"cannot be read ({exc.strerror or exc})")
            return None
        for note in notes:
            self._warn(f"{path}: {_short(note)}")
        return layer

    def _set_aside_quietly(self, path: Path, why: str) -> None:
        with contextlib.suppress(SettingsError):
            self._set_aside(path, why)

    def _apply(self, base: dict[str, Any], path: Path) -> dict[str, Any]:
        """``base`` with the layer in ``path`` on top, if that layer reads and makes sense."""
        layer = self._read_layer(path)
        if not layer:
            return base
        combined = merge(base, layer)
        try:
            _settings_from(combined)
        except SettingsError as exc:
            self._set_aside_quietly(path, str(exc))
            return base
        return combined

    def _layers(self, user: str | None, procedure: Procedure) -> tuple[dict, dict]:
        """(factory + procedure layer, that + user layer) as stored dicts."""
        below = self._apply(factory_settings(procedure).to_dict(), self.procedure_file(procedure))
        full = below if user is None else self._apply(below, self.user_file(user, procedure))
        return below, full

    def load(self, user: str | None, procedure: Procedure | str) -> MonitorSettings:
        """The settings of ``user`` for ``procedure`` (``user=None``: the procedure's own).

        Never fails on a bad file: see ``warnings``. Raises :class:`SettingsError` only
        for an invalid user name.
        """
        _, full = self._layers(user, Procedure.parse(procedure))
        return MonitorSettings.from_dict(full)

    # -- writing ------------------------------------------------------------------------------
    def _write(self, path: Path, layer: dict[str, Any]) -> Path:
        # Never replace a damaged file unseen: reading it sets it aside first.
        if _exists(path) and self._read_layer(path) is None and _exists(path):
            raise SettingsError(f"Settings not saved: {path} could not be moved aside.")
        doc = {"format": FORMAT, "settings": layer}
        try:
            write_json_atomically(path, doc)
        except OSError as exc:
            raise SettingsError(
                f"Settings could not be saved to {path}: {exc.strerror or exc}."
            ) from None
        log.info("settings saved to %s", path)
        return path

    def save(self, settings: MonitorSettings, user: str, procedure: Procedure | str) -> Path:
        """Keep ``settings`` as ``user``'s for ``procedure``: the user's file then holds
        what differs from the procedure's settings. Raises :class:`SettingsError`."""
        procedure = Procedure.parse(procedure)
        below, _ = self._layers(None, procedure)
        layer = difference(settings.to_dict(), below)
        return self._write(self.user_file(user, procedure), layer)

    def save_for_procedure(self, settings: MonitorSettings, procedure: Procedure | str) -> Path:
        """Keep ``settings`` as the procedure's, for every user (what differs from the
        factory defaults). Raises :class:`SettingsError`."""
        procedure = Procedure.parse(procedure)
        layer = difference(settings.to_dict(), factory_settings(procedure).to_dict())
        return self._write(self.procedure_file(procedure), layer)

    def restore_factory_defaults(
        self, user: str | None, procedure: Procedure | str
    ) -> MonitorSettings:
        """Make the factory defaults apply again to ``user`` and ``procedure``.

        The user's file for the procedure and the procedure's file are renamed to
        ``<name>.before-reset`` (the previous such copy is replaced), so one reset can be
        undone by renaming back. Returns the factory settings. Raises
        :class:`SettingsError` when a file cannot be moved.
        """
        procedure = Procedure.parse(procedure)
        paths = [self.procedure_file(procedure)]
        if user is not None:
            paths.insert(0, self.user_file(user, procedure))
        for path in paths:
            try:
                os.replace(path, path.with_name(path.name + ".before-reset"))
            except FileNotFoundError:  # nothing to reset
                continue
            except OSError as exc:
                raise SettingsError(
                    f"Factory defaults not restored: {path} could not be moved "
                    f"({exc.strerror or exc})."
                ) from None
            log.info("factory defaults restored: %s set aside", path)
        return factory_settings(procedure)

    # -- the last case ------------------------------------------------------------------------
    def remember_case(self, user: str, setup: CaseSetup) -> None:
        """Keep the surgeon, the neurophysiologist and the procedure for ``user``'s next
        case (no patient field, no case id, no side, no anaesthesia). Raises
        :class:`SettingsError` when it cannot be written."""
        path = self.last_case_file(user)
        try:
            write_json_atomically(path, {"format": FORMAT, "last_case": setup.remembered()})
        except OSError as exc:
            raise SettingsError(f"Could not write {path}: {exc.strerror or exc}.") from None

    def last_case(self, user: str) -> dict[str, str]:
        """``{"surgeon": ..., "neurophysiologist": ..., "procedure": ...}`` of ``user``'s
        last case, those it holds ({} if none or unreadable: it only fills in the next case
        setup)."""
        try:
            doc = json.loads(_read_capped(self.last_case_file(user)))
            last = doc["last_case"]
            return {
                k: last[k]
                for k, most in _LAST_CASE_CHARS.items()
                if isinstance(last.get(k), str) and len(last[k]) <= most  # longer: not one
            }
        except (OSError, ValueError, LookupError, TypeError, AttributeError, RecursionError):
            return {}
