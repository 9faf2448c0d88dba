"""Messages: every inbound and outbound item on every channel, and their attachments."""
