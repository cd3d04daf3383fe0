"""How the `supportcue` command ends on an error: never with a traceback.

- `SupportcueError` (a setting, a file, a missing model: something the user can fix): one line, exit 2.
- `OSError` about a file (cannot write the export, no permission): the file and why, exit 2.
- Anything else is a bug: one line naming the error and a file holding the details (the traceback,
  with personal data redacted, readable by its owner only) to look at or attach to a report; exit 1.

A command that did its work but could not hand it on (`drift`: alerts stored, the webhook did not take
them) prints its result as usual and exits 3, so that cron or a CI job notices.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

import typer

from supportcue.cli.output import err_console, say
from supportcue.errors import SupportcueError

USER_ERROR = 2
BUG = 1
NOT_DELIVERED = 3


def _say(text: str) -> None:
    from supportcue.security.redaction import redact

    say(redact(text), err_console)


def write_details(exc: BaseException, folder: Path | None = None) -> Path:
    """Write the error's traceback (redacted) to a new file only its owner can read; returns its path."""
    from importlib.metadata import PackageNotFoundError, version

    from supportcue.security.redaction import redact

    try:
        release = version("supportcue")
    except PackageNotFoundError:
        release = "unknown"
    handle, name = tempfile.mkstemp(prefix="supportcue-error-", suffix=".log", dir=folder)
    text = "".join(
        [
            f"supportcue {release}, Python {sys.version.split()[0]}, {datetime.now(UTC).isoformat()}\n",
            f"command: {' '.join(sys.argv[1:])}\n\n",
            *traceback.format_exception(exc),
        ]
    )
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(redact(text))
    return Path(name)


def run(app: typer.Typer) -> None:
    """Run `app`, turning every exception it lets out into a short message and an exit code. The
    command runs in a `personal_scope`: the customer's name and field values of the suggestions it
    asks for are redacted from its log, its error and the details file (command line included)."""
    from supportcue.security.redaction import personal_scope

    with personal_scope():
        try:
            app()
        except SupportcueError as exc:
            _say(f"error: {exc}")
            sys.exit(USER_ERROR)
        except OSError as exc:
            if exc.filename is None:
                _bug(exc)
            _say(f"error: {exc.filename}: {exc.strerror or exc}")
            sys.exit(USER_ERROR)
        except Exception as exc:
            _bug(exc)


def _bug(exc: BaseException) -> None:
    summary = (str(exc).strip().splitlines() or [""])[0][:300]
    try:
        details = f"the details are in {write_details(exc)}"
    except OSError as failed:
        details = f"(writing the details failed too: {failed})"
    _say(
        f"error: an unexpected {type(exc).__name__}{': ' + summary if summary else ''}\n"
        f"  supportcue did not expect this; {details} (attach that file if you report it)"
    )
    sys.exit(BUG)
