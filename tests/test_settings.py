"""Settings: documented defaults, environment overrides, clear errors for bad values."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from supportcue.errors import SettingsError, WorkspaceError
from supportcue.settings import (
    DEFAULT_TOML,
    ChatwootSettings,
    Settings,
    get_settings,
    init_workspace,
    load_settings,
    require_workspace,
)


def test_default_toml_matches_the_model_defaults() -> None:
    documented = Settings.model_validate({**tomllib.loads(DEFAULT_TOML), "workspace": Path(".")})
    assert documented == Settings()


def test_init_creates_a_workspace(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws")
    assert (tmp_path / "ws" / "supportcue.toml").exists() and (tmp_path / "ws" / "models").is_dir()
    settings = require_workspace(load_settings(tmp_path / "ws", environ={}))
    assert settings.database_url == f"sqlite:///{(tmp_path / 'ws' / 'supportcue.db').resolve()}"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    env = {
        "SUPPORTCUE_WORKSPACE": str(tmp_path),
        "SUPPORTCUE_DATABASE_URL": "postgresql://u@h/db",
        "SUPPORTCUE_PIPELINE__TOPIC": "shadow",
        "SUPPORTCUE_MATCH__THRESHOLD": "0.8",
    }
    settings = load_settings(environ=env)
    assert settings.workspace == tmp_path
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.pipeline.topic == "shadow" and settings.match.threshold == 0.8


def test_bad_setting_names_key_and_allowed_values(tmp_path: Path) -> None:
    (tmp_path / "supportcue.toml").write_text('[pipeline]\ntopic = "sometimes"\n')
    with pytest.raises(
        SettingsError, match=r"pipeline\.topic: got 'sometimes'; allowed values: 'live', 'shadow' or 'off'"
    ):
        load_settings(tmp_path, environ={})
    with pytest.raises(SettingsError, match=r"pipeline\.tone: got 'loud'"):
        load_settings(
            tmp_path, environ={"SUPPORTCUE_PIPELINE__TONE": "loud", "SUPPORTCUE_PIPELINE__TOPIC": "off"}
        )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SUPPORTCUE_SERVICE__BATCH_WAIT_MS", "inf"),  # every suggestion would wait for a full batch
        ("SUPPORTCUE_SERVICE__REGISTRY_POLL_S", "inf"),
    ],
)
def test_a_float_setting_is_a_finite_number(tmp_path: Path, variable: str, value: str) -> None:
    (tmp_path / "supportcue.toml").write_text("")
    with pytest.raises(SettingsError, match=rf"{variable} \(environment variable\).*finite number"):
        load_settings(tmp_path, environ={variable: value})


def _float_settings() -> list[tuple[str, str, bool]]:
    """(section, key, is a table of floats) of every float setting, found in the models, so that a
    float setting added later is checked too."""
    found = []
    for section, info in Settings.model_fields.items():
        model = info.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for key, field in model.model_fields.items():
            if field.annotation in (float, float | None, dict[str, float]):
                found.append((section, key, field.annotation == dict[str, float]))
    return found


FLOAT_SETTINGS = _float_settings()


def test_the_float_settings_are_found() -> None:
    assert ("service", "registry_poll_s", False) in FLOAT_SETTINGS
    assert ("labels", "source_weights", True) in FLOAT_SETTINGS and len(FLOAT_SETTINGS) > 20


@pytest.mark.parametrize(("section", "key", "table"), FLOAT_SETTINGS, ids=lambda v: str(v))
def test_nan_is_no_float_setting_in_the_file_or_a_variable(
    tmp_path: Path, section: str, key: str, table: bool
) -> None:
    """`registry_poll_s = nan` would never follow the registry (`nan > 0` is false), a nan threshold
    would pass or fail everything: an error naming the setting, like inf."""
    value = "{expert = nan}" if table else "nan"
    (tmp_path / "supportcue.toml").write_text(f"[{section}]\n{key} = {value}\n")
    with pytest.raises(SettingsError, match=rf"supportcue\.toml: setting {section}\.{key}\b.*finite number"):
        load_settings(tmp_path, environ={})
    (tmp_path / "supportcue.toml").write_text("")
    variable = f"SUPPORTCUE_{section.upper()}__{key.upper()}"
    for nan in ('{"expert": NaN}',) if table else ("nan", "NaN", "-nan"):
        with pytest.raises(SettingsError, match=rf"{variable} \(environment variable\).*finite number"):
            load_settings(tmp_path, environ={variable: nan})


def test_unknown_key_and_bad_toml(tmp_path: Path) -> None:
    (tmp_path / "supportcue.toml").write_text("[service]\nprot = 1\n")
    with pytest.raises(SettingsError, match=r"service\.prot: unknown setting"):
        load_settings(tmp_path, environ={})
    (tmp_path / "supportcue.toml").write_text("[service\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(tmp_path, environ={})
    (tmp_path / "supportcue.toml").write_bytes("[tone]\ngreeting = 'Olá'\n".encode("latin-1"))
    with pytest.raises(
        SettingsError, match=r"supportcue\.toml: not UTF-8 text \(byte 21\); save it as UTF-8"
    ):
        load_settings(tmp_path, environ={})


def test_missing_workspace_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a supportcue workspace"):
        require_workspace(load_settings(tmp_path, environ={}))


def test_a_folder_holding_a_workspace_names_it(tmp_path: Path) -> None:
    """Run from the repository after `make demo` (the workspace is demo-workspace/), every command
    said "run `supportcue init DIR`", as if there were none."""
    (tmp_path / "demo-workspace").mkdir()
    (tmp_path / "demo-workspace" / "supportcue.toml").write_text("")
    (tmp_path / "notes").mkdir()
    with pytest.raises(WorkspaceError) as raised:
        require_workspace(load_settings(tmp_path, environ={}))
    said = str(raised.value)
    assert "the workspace here is demo-workspace/" in said and "--workspace demo-workspace" in said
    assert "SUPPORTCUE_WORKSPACE=demo-workspace" in said and "init" not in said


def test_bad_user_rule_is_reported(tmp_path: Path) -> None:
    (tmp_path / "supportcue.toml").write_text('[validation]\ninvalid_patterns = ["(unclosed"]\n')
    with pytest.raises(
        SettingsError, match=r"validation\.invalid_patterns: .*'\(unclosed' is not a valid regular"
    ):
        load_settings(tmp_path, environ={})


def test_get_settings_reads_like_load_settings_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_workspace(tmp_path)
    monkeypatch.setenv("SUPPORTCUE_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("SUPPORTCUE_MATCH__THRESHOLD", "0.8")
    get_settings.cache_clear()
    try:
        first = get_settings()
        assert first.workspace == tmp_path and first.match.threshold == 0.8
        monkeypatch.setenv("SUPPORTCUE_MATCH__THRESHOLD", "0.9")
        assert get_settings() is first  # cached: the file and environment are read once
        get_settings.cache_clear()
        assert get_settings().match.threshold == 0.9
        assert get_settings(tmp_path) == load_settings(tmp_path)
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("chat.example.com", "must start with http:// or https://"),
        ("ftp://chat.example.com", "must start with http:// or https://"),
        ("https://", "has no host"),
        ("https://chat.example.com; script-src *", "not a valid"),
    ],
)
def test_a_bad_chatwoot_base_url_names_the_setting(tmp_path: Path, value: str, says: str) -> None:
    with pytest.raises(SettingsError, match=rf"chatwoot\.base_url: .*{re.escape(says)}"):
        load_settings(tmp_path, environ={"SUPPORTCUE_CHATWOOT__BASE_URL": value})


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('["https://support.example.com"]', "give the host name only: 'support.example.com'"),
        ('["support.example.com:8000"]', "give the host name without the port"),
        ('["sup*port.example.com"]', "'*' is allowed alone or as '*.domain'"),
        ('[""]', "an empty host name"),
    ],
)
def test_a_bad_allowed_host_names_the_setting(tmp_path: Path, value: str, says: str) -> None:
    (tmp_path / "supportcue.toml").write_text(f"[service]\nallowed_hosts = {value}\n")
    with pytest.raises(SettingsError, match=rf"service\.allowed_hosts: .*{re.escape(says)}"):
        load_settings(tmp_path, environ={})


def test_allowed_hosts_from_the_environment(tmp_path: Path) -> None:
    env = {"SUPPORTCUE_SERVICE__ALLOWED_HOSTS": " a.example , [::1] "}
    assert load_settings(tmp_path, environ=env).service.allowed_hosts == ["a.example", "::1"]


def test_placeholders_are_workspace_constants_from_the_file_or_the_environment(tmp_path: Path) -> None:
    (tmp_path / "supportcue.toml").write_text(
        '[placeholders]\nsupport_phone = "+1 555 0100"\nhelp_center_url = "https://help.example.com"\n'
    )
    settings = load_settings(tmp_path, environ={"SUPPORTCUE_PLACEHOLDERS__SUPPORT_PHONE": "+44 20 7946 0000"})
    assert settings.placeholders == {
        "support_phone": "+44 20 7946 0000",
        "help_center_url": "https://help.example.com",
    }
    assert "[placeholders]" in DEFAULT_TOML and Settings().placeholders == {}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '"Support Phone" = "1"',
            r"placeholders: .*'Support Phone' is not a placeholder key.*'support_phone'",
        ),
        ('support_phone = " "', r"placeholders: .*'support_phone' is empty"),
        ("support_phone = 5550100", r"placeholders\.support_phone: Input should be a valid string"),
    ],
)
def test_a_bad_placeholder_names_the_key(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "supportcue.toml").write_text(f"[placeholders]\n{toml}\n")
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path, environ={})


def test_a_bad_environment_variable_is_blamed_not_the_file(tmp_path: Path) -> None:
    """Issue 10: `SUPPORTCUE_SERVICE__PORT=abc` was reported as "supportcue.toml: setting service.port"."""
    init_workspace(tmp_path)
    config = str(tmp_path / "supportcue.toml")
    with pytest.raises(SettingsError) as port:
        load_settings(tmp_path, environ={"SUPPORTCUE_SERVICE__PORT": "abc"})
    assert str(port.value).startswith(
        "SUPPORTCUE_SERVICE__PORT (environment variable): setting service.port: "
    )
    assert "got 'abc'" in str(port.value) and config not in str(port.value)
    cases = {
        "SUPPORTCUE_PIPELINE__TOPIC": ("sometimes", "allowed values: 'live', 'shadow' or 'off'"),
        "SUPPORTCUE_PIPELINE__INTENT": ("sometimes", "intent: mode must be one of"),  # a section's rule
        "SUPPORTCUE_NOSECTION__KEY": ("1", "setting nosection: unknown setting"),
        "SUPPORTCUE_SERVICE__PROT": ("1", "setting service.prot: unknown setting"),
        "SUPPORTCUE_TONE__PRODUCT_NAMES": ("Acme, Pay", 'give it as JSON, e.g. ["a", "b"]'),
    }
    for name, (value, says) in cases.items():
        with pytest.raises(SettingsError) as caught:
            load_settings(tmp_path, environ={name: value})
        assert str(caught.value).startswith(f"{name} (environment variable): "), str(caught.value)
        assert says in str(caught.value) and config not in str(caught.value)
    listed = load_settings(tmp_path, environ={"SUPPORTCUE_TONE__PRODUCT_NAMES": '["Acme Pay"]'})
    assert listed.tone.product_names == ["Acme Pay"]


def test_the_file_and_the_variable_are_each_blamed_for_their_own_value(tmp_path: Path) -> None:
    config = tmp_path / "supportcue.toml"
    config.write_text('[service]\nport = "eighty"\n[pipeline]\ntopic = "sometimes"\n')
    with pytest.raises(SettingsError) as both:
        load_settings(tmp_path, environ={"SUPPORTCUE_PIPELINE__TOPIC": "loud"})
    assert str(both.value).splitlines() == [
        "SUPPORTCUE_PIPELINE__TOPIC (environment variable): setting pipeline.topic: got 'loud'; allowed "
        "values: 'live', 'shadow' or 'off'",
        f"{config}: setting service.port: Input should be a valid integer, unable to parse string as an "
        "integer (at line 2)",
    ]
    fixed = load_settings(
        tmp_path, environ={"SUPPORTCUE_SERVICE__PORT": "8001", "SUPPORTCUE_PIPELINE__TOPIC": "off"}
    )
    assert fixed.service.port == 8001  # the variable wins over the file's bad value
    assert fixed.source("service.port") == "environment variable SUPPORTCUE_SERVICE__PORT"
    assert fixed.source("database.url") == str(config)


@pytest.mark.parametrize(
    "url", ["garbage", "mysql://ana:s3cret@db.example.com/support", "postgresql//u@h/db"]
)
def test_a_database_url_that_cannot_be_used_names_the_variable_and_hides_the_password(
    tmp_path: Path, url: str
) -> None:
    init_workspace(tmp_path)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={"SUPPORTCUE_DATABASE_URL": url})
    message = str(caught.value)
    assert message.startswith("SUPPORTCUE_DATABASE_URL (environment variable): setting database.url: ")
    assert "is not a database URL supportcue can use: give sqlite:///PATH or postgresql://" in message
    assert "s3cret" not in message and str(tmp_path) not in message
    good = "postgresql://ana:s3cret@db.example.com:5432/support"
    assert load_settings(tmp_path, environ={"SUPPORTCUE_DATABASE_URL": good}).database_url == good


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        ("https://chat.example.com/app/accounts/1", "https://chat.example.com"),
        # a browser's origin (MessageEvent.origin, and what frame-ancestors is matched to) never
        # names the scheme's default port, and its host is lower case
        ("https://Chat.Example.com:443/", "https://chat.example.com"),
        ("http://chat.example.com:80", "http://chat.example.com"),
        ("https://chat.example.com:8443", "https://chat.example.com:8443"),
        ("http://chat.example.com:443", "http://chat.example.com:443"),
        ("", ""),
    ],
)
def test_the_chatwoot_origin_is_written_as_a_browser_writes_it(base_url: str, origin: str) -> None:
    assert ChatwootSettings(base_url=base_url).origin == origin


@pytest.mark.parametrize(
    ("frame_origin", "origin"),
    [
        ("https://chat.example.com", "https://chat.example.com"),
        ("https://Chat.Example.com:443/", "https://chat.example.com"),  # a trailing slash is no path
        ("http://10.0.0.5:3000", "http://10.0.0.5:3000"),
        ("", "http://chatwoot.internal:3000"),  # unset: base_url's origin
    ],
)
def test_the_frame_origin_is_its_own_setting_and_defaults_to_the_base_urls(
    frame_origin: str, origin: str
) -> None:
    """The server may reach Chatwoot at an internal address while agents' browsers open a public one:
    the Dashboard App page is framed by (and listens to) the browsers' origin."""
    settings = ChatwootSettings(base_url="http://chatwoot.internal:3000", frame_origin=frame_origin)
    assert settings.origin == origin
    assert settings.base_url == "http://chatwoot.internal:3000"  # the API's address is unchanged


@pytest.mark.parametrize(
    ("frame_origin", "says"),
    [
        ("chat.example.com", "must start with http:// or https://"),
        ("ftp://chat.example.com", "must start with http:// or https://"),
        ("https://chat.example.com/app/accounts/1", "an origin only (scheme://host[:port]), with no path"),
        ("https://chat.example.com?x=1", "an origin only"),
        ("https://chat.example.com#top", "an origin only"),
        ("https://ana:pw@chat.example.com", "an origin only"),
        ("https://*.example.com", "not a valid URL"),
        ("https://chat.example.com:99999", "port"),
        ("https://", "has no host"),
    ],
)
def test_a_frame_origin_that_is_not_an_origin_stops_start_up(
    tmp_path: Path, frame_origin: str, says: str
) -> None:
    init_workspace(tmp_path)
    environ = {"SUPPORTCUE_CHATWOOT__FRAME_ORIGIN": frame_origin}
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ=environ)
    message = str(caught.value)
    assert "SUPPORTCUE_CHATWOOT__FRAME_ORIGIN" in message and "chatwoot.frame_origin" in message
    assert says in message


def test_the_workspace_embedder_corrects_spelling_unless_turned_off(tmp_path: Path) -> None:
    from supportcue.embeddings import CachedEmbedder, SpellingEmbedder
    from supportcue.training.loader import workspace_embedder

    init_workspace(tmp_path / "ws")
    on = require_workspace(load_settings(tmp_path / "ws", environ={}))
    embedder = workspace_embedder(on)
    assert isinstance(embedder, CachedEmbedder) and isinstance(embedder.inner, SpellingEmbedder)
    assert isinstance(workspace_embedder(on, cache=False), SpellingEmbedder)
    off = require_workspace(
        load_settings(tmp_path / "ws", environ={"SUPPORTCUE_EMBEDDING__SPELLING": "false"})
    )
    assert not off.embedding.spelling
    assert not isinstance(workspace_embedder(off, cache=False), SpellingEmbedder)


def test_a_bad_setting_in_the_file_names_its_line(tmp_path: Path) -> None:
    """An operator's mistake in a 200-line `supportcue.toml` (an unknown table, a key misspelt, a
    value of the wrong type) named the file and the key but not where: now the line too, as a TOML
    syntax error does."""
    init_workspace(tmp_path)
    config = tmp_path / "supportcue.toml"
    default = config.read_text()
    port = default.splitlines().index("port = 8000") + 1
    config.write_text(default.replace("port = 8000", 'port = "eighty"'))
    with pytest.raises(
        SettingsError, match=rf"supportcue\.toml: setting service\.port: .*integer.* \(at line {port}\)$"
    ):
        load_settings(tmp_path, environ={})
    lines = len(default.splitlines())
    greeting = default.splitlines().index('greeting = "Hi {first_name},"') + 1
    config.write_text(default.replace("\ngreeting = ", "\ngreting = ") + "\n[servce]\nport = 8001\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={})
    assert set(str(caught.value).splitlines()) == {
        f"{config}: setting servce: unknown setting (at line {lines + 2})",
        f"{config}: setting tone.greting: unknown setting (at line {greeting})",
    }
