"""How hago's tools report user errors: one message, exit code 1, no traceback.

Parse errors keep xDSL's rendering (the offending line with a caret, and its
line number); verifier and pass diagnostics keep xDSL's rendering of the IR with
the failing op marked. Anything else unexpected is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError

from hago_ir.errors import HagoError

_HEX_WEIGHTS = re.compile(r'dense<"0x[0-9A-Fa-f]{32,}">')


def elide_weights(ir_text: str) -> str:
    """The IR around a diagnostic, without the megabytes of hex-encoded weights."""
    return _HEX_WEIGHTS.sub('dense<"0x...">', ir_text)


def run_cli(tool: str, body: Callable[[], int]) -> int:
    try:
        return body()
    except HagoError as error:
        print(f"{tool}: error: {error}", file=sys.stderr)
    except ParseError as error:
        print(f"{tool}: parse error:\n{error}", file=sys.stderr)
    except ArgSpecParseError as error:
        print(f"{tool}: error in the pass pipeline:\n{error}", file=sys.stderr)
    except DiagnosticException as error:
        # xDSL puts the IR with the failing op marked in the exception's notes.
        notes = "".join(f"\n{elide_weights(note)}" for note in getattr(error, "__notes__", []))
        print(f"{tool}: error: {error}{notes}", file=sys.stderr)
    except FileNotFoundError as error:
        print(f"{tool}: error: {error.filename}: no such file", file=sys.stderr)
    except IsADirectoryError as error:
        print(f"{tool}: error: {error.filename}: is a directory", file=sys.stderr)
    except PermissionError as error:
        print(f"{tool}: error: {error.filename}: permission denied", file=sys.stderr)
    except ValueError as error:
        # xDSL reports an unknown file extension or pass name this way.
        print(f"{tool}: error: {error}", file=sys.stderr)
    except BrokenPipeError:
        return 0
    return 1
