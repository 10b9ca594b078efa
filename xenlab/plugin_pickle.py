"""How os-xenapi's dom0 plugin calls carry their arguments and answers.

`host.call_plugin`'s args are a map of string to string; os-xenapi's
call_plugin_serialized puts a protocol-0 pickle of {"args": [...], "kwargs": {...}}
in `args["params"]`, and the Python 2 plugins answer with pickle.dumps(result), a
protocol-0 pickle in an XML-RPC string (e.g. "S'2.1'\\np0\\n."). Both xenlab's
XenAPI client and its simulator speak this; standard library only (the stand-in
guest has nothing else).
"""

from __future__ import annotations

import io
import pickle
import re


class _DataOnly(pickle.Unpickler):
    """Unpickle plain data only: a pickle naming any class or function is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def loads(text: str):
    return _DataOnly(io.BytesIO(text.encode("latin-1")), encoding="latin-1").load()


def dumps(value) -> str:
    """What a Python 2 plugin's pickle.dumps(value) returns (protocol 0)."""
    if isinstance(value, str) and re.fullmatch(r"[ -&(-\[\]-~]*", value):
        # A Python 2 str: S'...' (the exact bytes py2 writes for ASCII without
        # quotes or backslashes).
        return f"S'{value}'\np0\n."
    return pickle.dumps(value, protocol=0).decode("latin-1")


# A protocol-0 pickle of {"args": (), "kwargs": {}}, byte for byte what os-xenapi's
# call_plugin_serialized sends under Python 2.7 (where Nova's check works).
NO_ARGS = "(dp0\nS'args'\np1\n(tp2\nsS'kwargs'\np3\n(dp4\ns."
