"""DOT device control characteristic (D1 §2.2, Table 7): the output rate at bytes 24–25, the visit index."""

import pytest

from imurehab.errors import ProtocolError
from imurehab.protocols.movella_dot import device_control, parse_device_control, visits


def test_a_rate_write_sets_only_the_output_rate_bit_and_bytes_and_keeps_the_rest():
    read = bytearray(32)
    read[7], read[8:19] = 11, b"Movella DOT"  # tag length and tag
    read[24:26] = (60).to_bytes(2, "little")
    value = device_control(output_rate_hz=30, base=bytes(read))
    assert len(value) == 32 and value[0] == 0b1_0000 and visits(value) == ["output_rate"]
    assert value[24:26] == (30).to_bytes(2, "little") and value[1:24] == bytes(read[1:24])
    parsed = parse_device_control(value)
    assert parsed["output_rate_hz"] == 30 and parsed["tag"] == "Movella DOT" and parsed["visit_index"] == 16
    assert visits(device_control(base=value)) == []  # nothing applied without a field asked for


@pytest.mark.parametrize("rate", [0, 25, 200])
def test_rates_a_dot_does_not_output_are_refused(rate):
    with pytest.raises(ProtocolError) as err:
        device_control(output_rate_hz=rate)
    assert err.value.reason == "settings"


@pytest.mark.parametrize(("value", "reason"), [(bytes(31), "truncated"), (bytes(33), "overlong")])
def test_a_value_of_another_length_or_tag_length_is_refused(value, reason):
    with pytest.raises(ProtocolError) as err:
        parse_device_control(value)
    assert err.value.reason == reason
    with pytest.raises(ProtocolError):
        parse_device_control(bytes(7) + bytes([17]) + bytes(24))
