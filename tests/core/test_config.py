import pytest

from musegen_cli import config
from musegen_cli.errors import UserError


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_when_nothing_is_set(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = config.load(environ={})
    assert settings["device"].value == "auto" and settings["device"].source == "default"


def test_layers_in_rising_priority(monkeypatch, tmp_path, isolated_home):
    monkeypatch.chdir(tmp_path)
    user = write(isolated_home / "config" / "musegen.toml", 'device = "cpu"\nthreads = 2\nmodel = "mine"\n')
    project = write(tmp_path / "musegen.toml", "threads = 3\n")
    settings = config.load(environ={"MUSEGEN_MODEL": "from-env"})
    assert (settings["device"].value, settings["device"].source) == ("cpu", str(user))
    assert (settings["threads"].value, settings["threads"].source) == (3, str(project))
    assert (settings["model"].value, settings["model"].source) == ("from-env", "MUSEGEN_MODEL")


def test_flag_beats_everything(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MUSEGEN_DEVICE", "cpu")
    assert config.get("device") == "cpu"
    assert config.get("device", "cuda") == "cuda"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("devise = 'cpu'\n", "unknown setting 'devise'"),
        ("threads = 'many'\n", "threads must be an integer"),
        ("[device\n", "not valid TOML"),
    ],
)
def test_bad_files_are_user_errors(monkeypatch, tmp_path, text, message):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "musegen.toml", text)
    with pytest.raises(UserError, match=message):
        config.load(environ={})


def test_environment_values_are_parsed_to_the_setting_type(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert config.load(environ={"MUSEGEN_THREADS": "4"})["threads"].value == 4
    with pytest.raises(UserError, match="MUSEGEN_THREADS: threads must be an integer"):
        config.load(environ={"MUSEGEN_THREADS": "four"})


def test_config_command_shows_sources(monkeypatch, tmp_path):
    import json

    from typer.testing import CliRunner

    from musegen_cli.cli.app import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MUSEGEN_DEVICE", "cpu")
    result = CliRunner().invoke(app, ["config", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["settings"]["device"] == {"value": "cpu", "source": "MUSEGEN_DEVICE"}
    assert data["settings"]["threads"]["source"] == "default"


def test_config_lists_as_read_only_the_files_that_exist(monkeypatch, tmp_path, isolated_home):
    import json

    from typer.testing import CliRunner

    from musegen_cli import paths
    from musegen_cli.cli.app import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "musegen.toml").write_text('device = "cpu"\n')
    data = json.loads(CliRunner().invoke(app, ["config", "--json"]).stdout)
    assert data["files"] == [str(tmp_path / "musegen.toml")]
    assert data["files_not_found"] == [str(paths.user_config_file())]
    result = CliRunner().invoke(app, ["config"], env={"COLUMNS": "1000"})
    read_line = next(line for line in result.stdout.splitlines() if line.startswith("Files read"))
    assert str(tmp_path / "musegen.toml") in read_line and str(paths.user_config_file()) not in read_line
    assert f"Not found (read when they exist): {paths.user_config_file()}" in result.stdout
    (tmp_path / "musegen.toml").unlink()
    result = CliRunner().invoke(app, ["config"], env={"COLUMNS": "1000"})
    assert "Files read (lowest priority first): none" in result.stdout
