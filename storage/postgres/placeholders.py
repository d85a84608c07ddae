"""SQLite's ``?`` and ``?NNN`` placeholders turned into PostgreSQL's ``$N``.

The repositories write one statement for both engines. Numbering follows SQLite's rule: a bare
``?`` takes the largest number used so far plus one, ``?NNN`` takes NNN. Quoted strings,
quoted identifiers, dollar-quoted bodies and comments are copied untouched.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["numbered"]


@lru_cache(maxsize=4096)
def numbered(sql: str) -> str:
    """``sql`` with every placeholder written as ``$N``."""
    out: list[str] = []
    highest = 0
    i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = _quoted_end(sql, i, ch)
            out.append(sql[i:end])
            i = end
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif ch == "$" and sql.startswith("$$", i):
            end = sql.find("$$", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif ch == "?":
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            number = int(sql[i + 1 : j]) if j > i + 1 else highest + 1
            highest = max(highest, number)
            out.append(f"${number}")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _quoted_end(sql: str, start: int, quote: str) -> int:
    """The index just past the quoted run opening at ``start`` (a doubled quote escapes)."""
    i = start + 1
    n = len(sql)
    while i < n:
        if sql[i] == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n
