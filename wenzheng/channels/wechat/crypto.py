"""WeChat's message signatures and its AES-256-CBC message encryption (消息加解密), per protocols.md 1.2 and 1.7.

The key is the EncodingAESKey (43 characters) base64-decoded; the IV is the key's first 16 bytes; the
plaintext is random(16) || len(msg) as 4 bytes big-endian || msg || app_id, PKCS#7-padded to 32 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
_ALPHABET = string.ascii_letters + string.digits


class WeChatCryptoError(ValueError):
    """A push that fails a signature, key, padding or app-id check; ``code`` is the sample library's."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def signature(*parts: str) -> str:
    """SHA-1 hex of the parts sorted and joined: both ``signature`` (3 parts) and ``msg_signature`` (4)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's protocol


def signature_matches(expected: str, *parts: str) -> bool:
    return hmac.compare_digest(signature(*parts), (expected or "").lower())


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise WeChatCryptoError("the EncodingAESKey must be 43 characters", -40004)
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise WeChatCryptoError("the EncodingAESKey is not base64", -40004) from exc
    if len(key) != 32:
        raise WeChatCryptoError("the EncodingAESKey must decode to 32 bytes", -40004)
    return key


def generate_aes_key() -> str:
    """A fresh EncodingAESKey, as the WeChat console would generate one."""
    return base64.b64encode(secrets.token_bytes(32)).decode()[:43]


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def decrypt(encoding_aes_key: str, ciphertext_b64: str, app_id: str) -> bytes:
    """The message inside ``<Encrypt>``; raises WeChatCryptoError on any tampering or a foreign app id."""
    key = aes_key(encoding_aes_key)
    try:
        raw = base64.b64decode(ciphertext_b64, validate=True)
    except binascii.Error as exc:
        raise WeChatCryptoError("the ciphertext is not base64", -40010) from exc
    if not raw or len(raw) % 16:
        raise WeChatCryptoError("the ciphertext length is not a whole number of blocks", -40007)
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    return _unframe(_unpad(plain), app_id)


def _unpad(plain: bytes) -> bytes:
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise WeChatCryptoError("bad padding (wrong key?)", -40007)
    return plain[:-pad]


def _unframe(body: bytes, app_id: str) -> bytes:
    if len(body) < 20:
        raise WeChatCryptoError("the decrypted message is too short", -40008)
    (length,) = struct.unpack(">I", body[16:20])
    message, sender = body[20 : 20 + length], body[20 + length :]
    if len(message) != length:
        raise WeChatCryptoError("the decrypted length field is wrong", -40008)
    if not hmac.compare_digest(sender, app_id.encode()):
        raise WeChatCryptoError("the message was encrypted for another app id", -40005)
    return message


def encrypt(encoding_aes_key: str, message: bytes, app_id: str, random16: bytes | None = None) -> str:
    """The base64 ``<Encrypt>`` text for ``message``; ``random16`` only for reproducible tests."""
    key = aes_key(encoding_aes_key)
    prefix = random16 if random16 is not None else "".join(secrets.choice(_ALPHABET) for _ in range(16)).encode()
    framed = prefix + struct.pack(">I", len(message)) + message + app_id.encode()
    pad = BLOCK - len(framed) % BLOCK
    framed += bytes([pad]) * pad
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(framed) + encryptor.finalize()).decode()
