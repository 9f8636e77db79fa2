"""A family's own keys in a bench config and its own `rig emulate` flags."""

import pytest
import yaml

from rig.bench.config import BenchConfig, family_keys_only, load_bench_config
from rig.cli import main
from rig.errors import ConfigError


def config_file(tmp_path, sensor: dict):
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump({"duration_s": 5, "sensors": [sensor]}))
    return path


def test_a_serial_sensor_takes_its_line_speed(tmp_path):
    loaded = load_bench_config(config_file(tmp_path, {"id": "A1", "baudrate": 115200}))
    assert loaded.config.sensors[0].options.baudrate == 115200
    default = load_bench_config(config_file(tmp_path, {"id": "B2"}))
    assert default.config.sensors[0].options.baudrate == 921600


def test_a_key_of_another_family_names_the_key_and_the_family(tmp_path):
    path = config_file(tmp_path, {"id": "A2", "family": "asterix-cat048", "baudrate": 9600})
    with pytest.raises(ConfigError) as e:
        load_bench_config(path)
    text = str(e.value)
    assert str(path) in text and "sensors[0].baudrate" in text and "asterix-cat048" in text
    assert "transport" in text and "baudrate" not in text.partition("expected")[2]


def test_a_bad_family_value_is_checked_by_the_family_s_model(tmp_path):
    with pytest.raises(ConfigError, match=r"sensors\[0\]\.baudrate.*greater than 0"):
        load_bench_config(config_file(tmp_path, {"id": "A1", "baudrate": 0}))
    with pytest.raises(ConfigError, match=r"sensors\[0\]\.baudrat\b.*did you mean baudrate\?"):
        load_bench_config(config_file(tmp_path, {"id": "A1", "baudrat": 9600}))


def test_a_recorded_config_keeps_only_the_keys_each_family_takes():
    recorded = {"duration_s": 5, "sensors": [
        {"id": "A1", "family": "serial-sensor", "baudrate": 115200, "sac": 1},
        {"id": "A2", "family": "asterix-cat048", "baudrate": 921600, "sac": 2}]}
    config = BenchConfig.model_validate(family_keys_only(recorded))
    assert config.sensors[0].options.baudrate == 115200
    assert config.sensors[1].model_extra == {} and config.sensors[1].sac == 2


def test_emulate_lists_and_takes_only_the_named_family_s_flags(capsys):
    with pytest.raises(SystemExit) as e:
        main(["emulate", "--family", "asterix-cat048", "--help"])
    assert e.value.code == 0
    shown = capsys.readouterr().out
    assert "asterix-cat048 options" in shown and "--site-alt" in shown
    assert "--autostart" not in shown
    with pytest.raises(SystemExit) as e:
        main(["emulate", "--family=scpi-sensor", "--sac", "3"])
    assert e.value.code == 2
    assert "unrecognized arguments: --sac 3" in capsys.readouterr().err


@pytest.mark.parametrize("transport,message", [
    ("nonsense", "neither udp://HOST:PORT"),
    ("udp://@127.0.0.1:8610", "a feed sends"),
    ("udp://127.0.0.1", "expected udp://HOST:PORT"),
    ("carrier://x", "unknown scheme carrier://"),
])
def test_a_feed_transport_is_checked(tmp_path, transport, message):
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump({"duration_s": 5, "sensors": [{"id": "A1"}], "outputs": {
        "feeds": [{"partner": "A", "transport": transport}]}}))
    with pytest.raises(ConfigError, match=r"outputs\.feeds\[0\]\.transport") as e:
        load_bench_config(path)
    assert message in str(e.value)


def test_good_feed_transports_pass(tmp_path):
    path = tmp_path / "bench.yaml"
    feeds = [{"partner": "A", "transport": t} for t in
             ("udp://127.0.0.1:8610", "/dev/ttyUSB0", "socket://10.0.0.5:4001", "loop://")]
    path.write_text(yaml.safe_dump({"duration_s": 5, "sensors": [{"id": "A1"}],
                                    "outputs": {"feeds": feeds}}))
    assert len(load_bench_config(path).config.outputs.feeds) == 4
