"""cdpcore: the engine of a customer data platform, as a library.

Identity resolution (OneID), tag rules, audience segments, consent checks and
model scoring over one embedded SQLite workspace. This package is a thin layer
over the native extension ``cdpcore._cdpcore``; every name documented here is
also reachable from C++ and from the C ABI.

    >>> import cdpcore
    >>> ws = cdpcore.Workspace.open(":memory:")
    >>> ws.schema_version("workspace")
    1
"""
from . import _cdpcore
from ._cdpcore import *  # noqa: F401,F403  (the native API)
from ._cdpcore import (  # noqa: F401  (named for readers and type checkers)
    Error,
    Workspace,
    __version__,
    format_time,
    parse_time,
    to_micros,
)

from ._time import TimeLike  # noqa: E402,F401
from . import consent, datagen, identity, model, profile, rules, segment  # noqa: E402,F401
# The pure-Python layers that extend a native class replace it at the top level,
# so ``cdpcore.ProfileStore`` takes DataFrames and ``cdpcore.Segment`` exists.
from .profile import ProfileStore  # noqa: E402,F401
from .segment import Segment  # noqa: E402,F401

version_number: int = _cdpcore.version_number
