"""Names of downloaded files, and the Content-Disposition header that offers them.

Header values are Latin-1 and may not hold a line break, while titles are any Unicode: the
header carries an ASCII fallback name and the real one percent-encoded (RFC 6266 and 5987),
as werkzeug's ``send_file(download_name=...)`` does. Every browser reads ``filename*``.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from werkzeug.http import dump_options_header

# Control characters (line breaks included) and path separators never belong in a file name.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\u2028\u2029]+")
# RFC 5987 attr-char: what filename* may hold unencoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


def file_name(title: str, suffix: str, limit: int = 80) -> str:
    """``title`` shortened to ``limit`` characters as a file name ending in ``suffix``."""
    stem = " ".join(_UNSAFE.sub(" ", title).split())[:limit].strip()
    return f"{stem or 'recording'}{suffix}"


def attachment(name: str) -> str:
    """The Content-Disposition value that downloads as ``name`` (made with :func:`file_name`)."""
    name = _UNSAFE.sub(" ", name)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    if ascii_name == name:
        return dump_options_header("attachment", {"filename": name})
    stem, dot, suffix = ascii_name.rpartition(".")
    if not stem.strip():  # nothing of the title is ASCII ("日本.vtt")
        ascii_name = f"recording{dot}{suffix}" if dot else "recording"
    return dump_options_header(
        "attachment",
        {"filename": ascii_name, "filename*": f"UTF-8''{quote(name, safe=_ATTR_CHARS)}"},
    )
