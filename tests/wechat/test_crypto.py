"""Our WeChat crypto reproduces the published vectors (protocols.md 1.8, V1–V5) and interoperates with wechatpy."""

from __future__ import annotations

import pytest
from wechatpy.crypto import WeChatCrypto

from wenzheng.channels.wechat import crypto

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
V1_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9"
    "FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+"
    "WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0"
    "EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
V1_XML = (
    b"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    b"</FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA["
    b"abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
)
V2_ENCRYPT = (
    "rTNFcsut4LfGuAFKEUVVpwcaCOTJzOd9twZdIW910jb3k+iicx2uvhttIZ3Qg9Qgty3BEF2xbOrz6boTfb30dMomcgrkTqdFPwnhqbk+kIQ7rZi"
    "wny9D7NUrTgA5kpX3KsZvrXzUZyP2x9YOlxbgm572lmxKvM7HAQQhIQ/p6HBmoY30bGXFK0BtIu1pW9TjhOYrLQoU18nWYjWqDA1ynkmOytpv7Q"
    "RI1P1+0NoxL0q2zO1DgeSvnE8CZGo/o5Ap/WHK5W2RAsinpzN4/LjPnmB6U01I5XCoJoC0GK/yMZycd2Oh8Nq6+wBkC1U85oy0ktOY4nLvsQML"
    "rourmMGdZHuTbqpeJ8Ao/5PRYJ+WBvRUwPfGKBL2+2IKZF49vAJqkcGWSHGE76ZN2erXeuNazf/o9o3lIE3q739o4c8t9QGPe31GT2Go/rOz1B"
    "srASwvauNulCh+++yz+CQzBIuikA=="
)
V4_ECHOSTR = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
V5_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gs"
    "ijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQU"
    "ax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPI"
    "GHBZZIs2pDBS8R07+qN+E7Q=="
)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("AAAAA", "1714036504", "1514711492"), "f464b24fc39322e44b38aa78f5edd27bd1441696"),
        (("AAAAA", "1714037059", "486452656"), "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
        (("spamtest", "1409735669", "1320562132"), "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"),
    ],
)
def test_url_signatures(parts: tuple[str, str, str], expected: str) -> None:
    assert crypto.signature(*parts) == expected
    assert crypto.signature_matches(expected.upper(), *parts)


def test_v1_tencent_sample_decrypts_and_signs() -> None:
    assert crypto.aes_key(KEY).hex() == "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051"
    assert crypto.signature("spamtest", "1409735669", "1320562132", V1_ENCRYPT) == (
        "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    )
    message = crypto.decrypt(KEY, V1_ENCRYPT, "wx2c2769f8efd9abc2")
    assert message == V1_XML and len(message) == 280


def test_v2_easywechat_sample() -> None:
    assert crypto.signature("pamtest", "1458300676", "260774613", V2_ENCRYPT) == (
        "4f3ad57b6989f09f4eb392acce4f9e93942ed890"
    )
    message = crypto.decrypt(KEY, V2_ENCRYPT, "wxb11529c136998cb6")
    assert len(message) == 293
    assert b"<Content><![CDATA[hello]]></Content>" in message and b"asdasdasdsadasd" in message


def test_v3_wxjava_encrypts_byte_for_byte() -> None:
    encrypted = crypto.encrypt(KEY, "我是中文abcd123".encode(), "wxb11529c136998cb6", random16=b"aaaabbbbccccdddd")
    assert encrypted == "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="


def test_v4_wechatpy_encrypted_echostr() -> None:
    key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
    assert crypto.signature("123456", "1411443780", "437374425", V4_ECHOSTR) == (
        "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
    )
    assert crypto.decrypt(key, V4_ECHOSTR, "wx49f0ab532d5d035a") == b"5927782489442352469"


def test_v5_wecom_sample() -> None:
    key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
    assert crypto.signature("QDG6eK", "1409659813", "1372623149", V5_ENCRYPT) == (
        "477715d11cdb4164915debcba66cb864d751f3e6"
    )
    message = crypto.decrypt(key, V5_ENCRYPT, "wx5823bf96d3bd56c7")
    assert b"<Content><![CDATA[hello]]></Content>" in message and b"4561255354251345929" in message


def test_round_trip_and_a_full_padding_block() -> None:
    # 16 random + 4 length + 6 message + 6 app id = 32 bytes: padding must add a whole 32-byte block.
    encrypted = crypto.encrypt(KEY, b"abcdef", "wx1234", random16=b"0" * 16)
    assert len(__import__("base64").b64decode(encrypted)) == 64
    assert crypto.decrypt(KEY, encrypted, "wx1234") == b"abcdef"
    chinese = "姚桥镇初级中学附属教师职工宿舍".encode()
    assert crypto.decrypt(KEY, crypto.encrypt(KEY, chinese, "wx1234"), "wx1234") == chinese


def test_tampering_and_foreign_app_ids_are_refused() -> None:
    with pytest.raises(crypto.WeChatCryptoError) as wrong_app:
        crypto.decrypt(KEY, V1_ENCRYPT, "wx0000000000000000")
    assert wrong_app.value.code == -40005
    other_key = crypto.generate_aes_key()
    with pytest.raises(crypto.WeChatCryptoError):
        crypto.decrypt(other_key, V1_ENCRYPT, "wx2c2769f8efd9abc2")
    with pytest.raises(crypto.WeChatCryptoError):
        crypto.decrypt(KEY, "not base64!!", "wx2c2769f8efd9abc2")
    with pytest.raises(crypto.WeChatCryptoError):
        crypto.aes_key("too-short")


def test_wechatpy_and_wenzheng_understand_each_other() -> None:
    theirs = WeChatCrypto("spamtest", KEY, "wx2c2769f8efd9abc2")
    xml = "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Content><![CDATA[救救我们]]></Content></xml>"
    envelope = theirs.encrypt_message(xml, "1320562132", "1409735669")
    encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert crypto.decrypt(KEY, encrypted, "wx2c2769f8efd9abc2").decode() == xml
    ours = crypto.encrypt(KEY, xml.encode(), "wx2c2769f8efd9abc2")
    signature = crypto.signature("spamtest", "1409735669", "1320562132", ours)
    wrapped = f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{ours}]]></Encrypt></xml>"
    assert theirs.decrypt_message(wrapped, signature, "1409735669", "1320562132") == xml
