import pickle

import pytest

from xenlab import plugin_pickle
from xenlab.xenserver import xapi
from xenlab.errors import UnsupportedHost


def facts(**kw):
    base = dict(url="http://h", brand="XCP-ng", product_version="8.2.1", platform_version="3.2.1",
                api_version="2.16", host_uuid="u", host_ref="r", hostname="h", management_ip="1.2.3.4",
                default_sr_uuid="s", default_sr_type="ext")
    return xapi.HostFacts(**{**base, **kw})


@pytest.mark.parametrize("version", ["7.0.0", "7.1.2", "8.2.1", "8.3.0"])
def test_supported_versions(version):
    # 8.3's dom0 still runs Python 2 plugins (xcp-ng-rpms/xapi SPECS/xapi.spec: python2_compat below XS 9).
    xapi.check_supported(facts(product_version=version))


@pytest.mark.parametrize("kw, why", [
    (dict(product_version="8.4.0"), "Python 2"), (dict(product_version="6.5.0"), "Python 2"),
    (dict(product_version=""), "not supported"), (dict(default_sr_type="lvm"), "not 'ext'"),
    (dict(default_sr_type=""), "no default SR"),
])
def test_refusals_say_why(kw, why):
    with pytest.raises(UnsupportedHost, match=why) as exc:
        xapi.check_supported(facts(**kw))
    assert exc.value.exit_code == 6


def test_no_args_pickle_is_what_os_xenapi_sends():
    assert pickle.loads(plugin_pickle.NO_ARGS.encode()) == {"args": (), "kwargs": {}}


@pytest.mark.parametrize("cur, ok", [("2.1", True), ("2.3", True), ("2.0", False), ("3.0", False), ("x", False)])
def test_compatible(cur, ok):
    assert xapi.compatible("2.1", cur) is ok
