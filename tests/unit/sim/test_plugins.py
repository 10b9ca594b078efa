import pickle

import pytest

from xenlab.sim import plugins
from xenlab.sim.store import Failure


def test_answer_is_the_python2_pickle():
    assert plugins.dumps("2.1") == "S'2.1'\np0\n."
    assert plugins.loads(plugins.dumps("it's")) == "it's"


def test_loads_refuses_anything_but_data():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    with pytest.raises(pickle.UnpicklingError):
        plugins.loads(pickle.dumps(Evil(), protocol=0).decode())


def test_call(tmp_path):
    path = tmp_path / "dom0_plugin_version.py"
    with pytest.raises(Failure, match="XENAPI_MISSING_PLUGIN"):
        plugins.call(tmp_path, "dom0_plugin_version.py", "get_version", {})
    path.write_text('PLUGIN_VERSION = "2.1"\n')
    path.chmod(0o755)
    params = {"params": "(dp0\nS'args'\np1\n(tp2\nsS'kwargs'\np3\n(dp4\ns."}
    assert plugins.call(tmp_path, "dom0_plugin_version.py", "get_version", params) == "S'2.1'\np0\n."
    assert plugins.call(tmp_path, "dom0_plugin_version.py", "get_version", {}) == "2.1"
    with pytest.raises(Failure, match="FIELD_TYPE_ERROR"):  # Python 3 os-xenapi's bytes
        plugins.call(tmp_path, "dom0_plugin_version.py", "get_version", {"params": b"x"})
    with pytest.raises(Failure, match="XENAPI_MISSING_PLUGIN"):
        plugins.call(tmp_path, "../etc/passwd", "x", {})
    with pytest.raises(Failure, match="UnknownMethod"):
        plugins.call(tmp_path, "dom0_plugin_version.py", "nope", {})
