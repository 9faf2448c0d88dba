"""Reading a push's XML: the common push takes the C parser, and gives exactly what defusedxml gives; anything
with a DTD, an entity or another encoding still goes through defusedxml and is refused the same way."""

from __future__ import annotations

import pytest
from defusedxml.ElementTree import fromstring

from wenzheng.channels.wechat import parse
from wenzheng.channels.wechat.simulate import event_xml, text_xml
from wenzheng.errors import BadRequest

PUSHES = [
    text_xml("第1条：路面塌陷，请派人查看 <b>&amp; ]]&gt;", openid="o_1", msg_id=1),
    event_xml("subscribe", openid="o_2", create_time=1366416000, extra="<EventKey><![CDATA[qrscene_9]]></EventKey>"),
    event_xml(
        "scancode_waitmsg",
        openid="o_3",
        create_time=1366416000,
        extra="<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>1</ScanResult></ScanCodeInfo>",
    ),
    "<xml><A>1</A><A>2</A><B><C>x</C></B></xml>",
]


@pytest.mark.parametrize("xml", PUSHES)
def test_the_common_push_reads_as_defusedxml_reads_it(xml: str) -> None:
    body = xml.encode()
    assert parse._plain_root(body) is not None  # the fast way was taken
    assert parse.parse_xml(body) == parse._element(fromstring(body, forbid_dtd=True))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'<!DOCTYPE x [<!ENTITY e "boom">]><xml><Content>&e;</Content></xml>', "xml_forbidden"),
        (b'<xml><!DOCTYPE x [<!ENTITY e "boom">]><Content>&e;</Content></xml>', "malformed_xml"),
        (b"<xml><Content>&undeclared;</Content></xml>", "malformed_xml"),
        (b"<xml><Content>unclosed</xml>", "malformed_xml"),
        (b"<xmlx></xmlx>", "malformed_xml"),
    ],
)
def test_dtds_entities_and_bad_xml_are_refused_as_before(body: bytes, code: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse.parse_xml(body)
    assert refused.value.code == code


def test_what_the_fast_way_does_not_take_still_reads() -> None:
    commented = b"<xml><!-- a comment --><Content><![CDATA[<!DOCTYPE is only text here]]></Content></xml>"
    assert parse._plain_root(commented) is None
    assert parse.parse_xml(commented)["Content"] == "<!DOCTYPE is only text here"
    declared = '<?xml version="1.0" encoding="ISO-8859-1"?><xml><Content>café</Content></xml>'.encode("latin-1")
    assert parse._plain_root(declared) is None
    assert parse.parse_xml(declared)["Content"] == "café"


def test_a_declared_multibyte_encoding_is_a_clear_400_not_a_crash() -> None:
    import pytest

    from wenzheng.channels.wechat.parse import parse_xml
    from wenzheng.errors import BadRequest

    body = '<?xml version="1.0" encoding="GBK"?><xml><Content>求救</Content></xml>'.encode("gbk")
    with pytest.raises(BadRequest) as refused:
        parse_xml(body)
    assert refused.value.code == "unsupported_encoding"
