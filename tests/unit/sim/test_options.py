import pytest

from xenlab.sim import options


@pytest.mark.parametrize("text, value", [("0", 0), ("80", 80), ("65535", 65535)])
def test_ports_in_range(text, value):
    assert options.port(text) == value


@pytest.mark.parametrize("text", ["99999", "-1", "abc", "", "8.0", "0x50"])
def test_bad_ports_are_one_line_errors(text):
    with pytest.raises(ValueError) as exc:
        options.port(text)
    assert "port must be" in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("text", ["0", "x", "1025", "-3"])
def test_bad_pool_sizes(text):
    with pytest.raises(ValueError, match="pool size must be"):
        options.pool_size(text)


def test_addresses_are_ipv4():
    assert options.ipv4("192.168.57.10") == "192.168.57.10"
    for bad in ("notanip", "300.1.1.1", "::1", ""):
        with pytest.raises(ValueError, match="is not an IPv4 address"):
            options.ipv4(bad)
