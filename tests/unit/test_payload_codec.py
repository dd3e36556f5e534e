"""The AES-GCM payload codec and its PAYLOAD_ENCRYPTION_KEY setting."""

from __future__ import annotations

import base64
import os

import pytest
from temporalio.api.common.v1 import Payload

from runtime.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadKeys, PayloadUndecryptable
from runtime.settings import _origins, _payload_keys

OLD_KEY = base64.b64encode(os.urandom(32)).decode()
NEW_KEY = base64.b64encode(os.urandom(32)).decode()
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"CycleId": "cycle-secretive"}')


def codec(setting: str) -> EncryptionCodec:
    return EncryptionCodec(PayloadKeys.parse(setting))


async def test_a_payload_round_trips_encrypted_under_the_first_key():
    old = codec(f"old:{OLD_KEY}")
    (sealed,) = await old.encode([PLAIN])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"old"
    assert b"cycle-secretive" not in sealed.SerializeToString()
    assert await old.decode([sealed]) == [PLAIN]


async def test_a_rotated_setting_encrypts_with_the_new_key_and_still_decrypts_the_old():
    (sealed_old,) = await codec(f"old:{OLD_KEY}").encode([PLAIN])
    rotated = codec(f"new:{NEW_KEY}, old:{OLD_KEY}")
    (sealed_new,) = await rotated.encode([PLAIN])
    assert sealed_new.metadata[KEY_ID] == b"new"
    assert await rotated.decode([sealed_old, sealed_new]) == [PLAIN, PLAIN]


async def test_payloads_written_before_encryption_pass_unchanged():
    assert await codec(f"old:{OLD_KEY}").decode([PLAIN]) == [PLAIN]


async def test_an_unknown_key_id_fails_naming_the_id_but_no_key():
    (sealed,) = await codec(f"old:{OLD_KEY}").encode([PLAIN])
    with pytest.raises(PayloadUndecryptable, match="key id 'old'") as raised:
        await codec(f"new:{NEW_KEY}").decode([sealed])
    assert NEW_KEY not in str(raised.value) and OLD_KEY not in str(raised.value)


async def test_another_key_under_the_same_id_or_an_altered_payload_fails():
    (sealed,) = await codec(f"k:{OLD_KEY}").encode([PLAIN])
    with pytest.raises(PayloadUndecryptable, match="does not decrypt with key id 'k'"):
        await codec(f"k:{NEW_KEY}").decode([sealed])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"other"}, data=sealed.data)
    with pytest.raises(PayloadUndecryptable, match="does not decrypt with key id 'other'"):
        await codec(f"other:{OLD_KEY}").decode([relabelled])  # the key id is bound to the ciphertext


@pytest.mark.parametrize(("setting", "problem"), [
    (OLD_KEY, "entry 1 is not id:base64key"),
    (f"a:{OLD_KEY},{NEW_KEY}", "entry 2 is not id:base64key"),
    (f"a:{OLD_KEY},a:{NEW_KEY}", "key id 'a' appears twice"),
    (f"a:{OLD_KEY}!", "key 'a' is not valid base64"),
    ("a:" + base64.b64encode(b"short").decode(), "key 'a' is 5 bytes"),
])
def test_a_bad_setting_stops_the_process_naming_the_variable_but_no_key(setting, problem):
    with pytest.raises(SystemExit) as stopped:
        _payload_keys(setting)
    message = str(stopped.value)
    assert message.startswith("PAYLOAD_ENCRYPTION_KEY: ") and problem in message
    assert OLD_KEY not in message and NEW_KEY not in message


def test_no_setting_means_no_encryption():
    assert _payload_keys("") is None and _payload_keys("  ") is None


def test_the_codec_origins_must_be_named_since_the_browser_sign_in_is_a_cookie():
    assert _origins(" http://ui.example , http://localhost:8233,") == ("http://ui.example", "http://localhost:8233")
    with pytest.raises(SystemExit, match="CYCLEWRIGHT_CODEC_CORS_ORIGINS: .*'\\*' is not allowed"):
        _origins("http://ui.example,*")
