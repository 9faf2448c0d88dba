"""Channel adapters in (WeChat, SMS, e-mail, web, Open311) and senders out, behind one interface each."""
