from importlib.metadata import EntryPoint

import pytest

from musegen_cli import registry
from musegen_cli.cli.app import app
from musegen_cli.errors import UserError
from musegen_cli.registry import Capability, ModelFamily, PluginError, discover
from typer.testing import CliRunner


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=registry.ENTRY_POINT_GROUP)


FAKE = ep("fake-family", "tests.fake_plugins:FAKE")


def install(monkeypatch: pytest.MonkeyPatch, *entry_points: EntryPoint) -> None:
    monkeypatch.setattr(registry, "_entry_points", lambda: list(entry_points))
    registry.reset_registry()


def test_capabilities_are_read_from_filled_slots():
    fam = ModelFamily(name="x", description="", sampler=object(), presets={"debug": "tiny"})
    assert fam.capabilities == {Capability.SAMPLER, Capability.PRESETS}
    assert not fam.supports(Capability.TRAINER)


def test_fake_third_party_family_appears_in_plugins_command(monkeypatch):
    install(monkeypatch, FAKE)
    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    import json

    (row,) = json.loads(result.stdout)["families"]
    assert row["name"] == "fake-family"
    assert row["capabilities"] == ["sampler", "conditions", "presets"]
    assert row["conditions"] == ["emotion"]
    assert "tests.fake_plugins:FAKE" in row["origin"]
    table = CliRunner().invoke(app, ["plugins"])
    assert "fake-family" in table.stdout and "sampler" in table.stdout


def test_duplicate_names_are_rejected(monkeypatch):
    with pytest.raises(PluginError, match="two plugins register the model family 'fake-family'"):
        discover([FAKE, ep("fake-family", "tests.fake_plugins:SAME_NAME")], environ={})


def test_duplicate_is_a_one_line_cli_error(monkeypatch):
    install(monkeypatch, FAKE, ep("fake-family", "tests.fake_plugins:SAME_NAME"))
    result = CliRunner().invoke(app, ["plugins"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "two plugins" in result.stderr


def test_entry_point_name_must_match_family_name():
    with pytest.raises(PluginError, match="registers a family named 'fake-family'; name the entry point the same"):
        discover([ep("other-name", "tests.fake_plugins:FAKE")], environ={})


def test_unknown_family_lists_known_names():
    reg = discover([FAKE, ep("trains-only", "tests.fake_plugins:TRAINS_ONLY")], environ={})
    with pytest.raises(UserError, match="known families: fake-family, trains-only"):
        reg.get("nope")


def test_filter_env_loads_only_named_plugins():
    reg = discover([FAKE, ep("trains-only", "tests.fake_plugins:TRAINS_ONLY")], environ={"MUSEGEN_PLUGINS": "trains-only"})
    assert list(reg.families) == ["trains-only"]


def test_filter_skips_a_broken_plugin_before_importing_it():
    broken = ep("broken", "tests.no_such_module:THING")
    reg = discover([broken, FAKE], environ={"MUSEGEN_PLUGINS": "fake-family"})
    assert list(reg.families) == ["fake-family"] and not reg.load_errors


def test_broken_plugin_is_reported_not_fatal():
    reg = discover([ep("broken", "tests.no_such_module:THING"), FAKE], environ={})
    assert list(reg.families) == ["fake-family"]
    assert "ModuleNotFoundError" in reg.load_errors["broken"]


def test_entry_point_must_be_a_model_family():
    with pytest.raises(PluginError, match="is not a musegen ModelFamily"):
        discover([ep("bad", "tests.fake_plugins:NOT_A_FAMILY")], environ={})


def test_require_explains_missing_capability():
    reg = discover([FAKE, ep("trains-only", "tests.fake_plugins:TRAINS_ONLY")], environ={})
    assert reg.require("generate").name == "fake-family"
    with pytest.raises(UserError, match="'trains-only' does not support 'generate'"):
        reg.require("generate", "trains-only")
    with pytest.raises(UserError, match="no installed model family supports 'dpo' yet"):
        reg.require("dpo")


@pytest.mark.parametrize("command", ["train", "generate", "dpo", "steer", "evolve"])
def test_model_commands_say_plainly_they_are_unsupported(monkeypatch, command):
    install(monkeypatch)
    extra = {"train": ["-o", "x"], "steer": ["fit", "--concept", "mode", "-o", "x"],
             "evolve": ["-o", "x", "--directions", "d"]}.get(command, [])
    result = CliRunner().invoke(app, [command, *extra])
    assert result.exit_code == 2
    assert f"no installed model family supports '{command}' yet" in result.stderr
    assert "Traceback" not in result.output
