"""Text from a file or a user, made safe to print on a terminal.

A results store, a preset or a data folder's name is data someone else may have written: an
ANSI escape in it could recolour, move the cursor, rewrite the screen or set the terminal's
title, a carriage return could hide what came before it on the line, and a bidirectional
override could show text in another order than it is stored. `printable` removes them all.

Example:
    >>> printable("bptt\\x1b[2J\\x1b]0;owned\\x07\\r\\nok")
    'bptt ok'
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \), and two-byte escapes (ESC + one).
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                       r"\u2066-\u2069]")


def printable(text: object, one_line: bool = True) -> str:
    """`text` without terminal escapes, control characters or bidirectional overrides; with
    `one_line`, tabs and line breaks become single spaces (one message, one line)."""
    clean = _CONTROLS.sub("", _ESCAPES.sub("", str(text)))
    if one_line:
        return re.sub(r"[\t\n]+", " ", clean).strip()
    return clean
