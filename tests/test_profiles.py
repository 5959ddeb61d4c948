"""Server profiles (app/profiles.py): validation, TLS rules, storage, the demo profile."""

from __future__ import annotations

import json
import os
import stat

import pytest

from app.profiles import (
    DEMO_PROFILE_NAME,
    Profile,
    ProfileError,
    ProfileStore,
    default_config_dir,
    demo_profile,
)


def _remote(**kw) -> Profile:
    base = dict(name="Sở TN&MT Bình Phước", host="db.stnmt.binhphuoc.gov.vn", port=5432)
    return Profile(**{**base, **kw})


def test_config_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LANDREC_CONFIG_DIR", str(tmp_path / "cfg"))
    assert default_config_dir() == tmp_path / "cfg"
    monkeypatch.delenv("LANDREC_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_config_dir() == tmp_path / "xdg" / "landrec"


def test_remote_profiles_verify_the_server(tmp_path):
    p = _remote().validate()
    assert p.tls_mode == "verify-full"  # the default for remote servers
    params = p.conninfo("clerk")
    assert params["sslmode"] == "verify-full" and params["sslrootcert"] == "system"
    assert "password" not in params
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert _remote(ca_file=str(ca)).conninfo("clerk", "pw")["sslrootcert"] == str(ca)
    for weak in ("disable", "allow", "prefer", "require"):
        with pytest.raises(ProfileError) as refused:
            _remote(tls_mode=weak).validate()
        assert refused.value.field_name == "tls_mode"
    assert _remote(tls_mode="verify-ca").validate()


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"name": " "}, "name"),
        ({"host": "db host; DROP TABLE x; --"}, "host"),
        ({"host": ""}, "host"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"database": ""}, "database"),
        ({"tls_mode": "verify-everything"}, "tls_mode"),
        ({"ca_file": "/no/such/ca.crt"}, "ca_file"),
    ],
)
def test_bad_profiles_name_the_field(change, field_name):
    with pytest.raises(ProfileError) as bad:
        _remote(**change).validate()
    assert bad.value.field_name == field_name


def test_store_round_trip_private_files(tmp_path):
    cfg = tmp_path / "cfg"
    store = ProfileStore(cfg, store_dir=tmp_path / "no-store").load()
    assert store.profiles == [] and store.default() is None  # no local store here
    store.put(_remote())
    store.put(_remote(name="Máy chủ dự phòng", host="10.0.0.7", port=6432))
    store.remember_sign_in("Máy chủ dự phòng", "can_bo_xa")
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600

    again = ProfileStore(cfg, store_dir=tmp_path / "no-store").load()
    assert [p.name for p in again.profiles] == ["Sở TN&MT Bình Phước", "Máy chủ dự phòng"]
    assert again.default().name == "Máy chủ dự phòng"
    assert again.get("Máy chủ dự phòng").last_user == "can_bo_xa"
    assert again.get("Máy chủ dự phòng").port == 6432

    # Renaming keeps one entry; a clash with another profile's name is refused.
    again.put(_remote(name="Sở TN&MT (mới)"), old_name="Sở TN&MT Bình Phước")
    with pytest.raises(ProfileError):
        again.put(_remote(name="Máy chủ dự phòng"), old_name="Sở TN&MT (mới)")
    again.remove("Máy chủ dự phòng")
    again.save()
    names = [p["name"] for p in json.loads(again.path.read_text())["profiles"]]
    assert names == ["Sở TN&MT (mới)"]


def test_bad_entries_are_skipped_not_fatal(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "profiles.json").write_text(
        json.dumps(
            {
                "profiles": [
                    {"name": "plain", "host": "db.example.vn", "tls_mode": "disable"},
                    {"name": "ok", "host": "db.example.vn"},
                    "garbage",
                    {"name": "typo", "hots": "x"},
                ]
            }
        )
    )
    store = ProfileStore(cfg, store_dir=tmp_path / "none").load()
    assert [p.name for p in store.profiles] == ["ok"]  # a plain-text remote never loads


@pytest.mark.store
def test_demo_profile_comes_from_the_local_store(local_store, tmp_path):
    meta = local_store.meta()
    demo = demo_profile(local_store.directory)
    assert demo is not None and demo.builtin
    assert (demo.name, demo.host, demo.port) == (DEMO_PROFILE_NAME, "127.0.0.1", meta["port"])
    assert demo.tls_mode == "disable"  # 127.0.0.1 only: the one profile without TLS
    assert demo.validate() is demo

    cfg = tmp_path / "cfg"
    store = ProfileStore(cfg, store_dir=local_store.directory).load()
    assert store.profiles[0].name == DEMO_PROFILE_NAME and store.default().builtin
    with pytest.raises(ProfileError):
        store.put(Profile(name=DEMO_PROFILE_NAME, host="evil.example", tls_mode="verify-full"))
    store.remember_sign_in(DEMO_PROFILE_NAME, "demo_clerk")
    saved = json.loads(store.path.read_text())
    # Only who signed in is saved for the demo profile; its address is read each time.
    assert saved["profiles"] == [{"name": DEMO_PROFILE_NAME, "last_user": "demo_clerk"}]
    reloaded = ProfileStore(cfg, store_dir=local_store.directory).load()
    assert reloaded.profiles[0].last_user == "demo_clerk"
    assert reloaded.profiles[0].port == meta["port"]
