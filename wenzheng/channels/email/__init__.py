"""E-mail: an SMTP listener in (aiosmtpd), SMTP out, replies threaded by reference and In-Reply-To."""
