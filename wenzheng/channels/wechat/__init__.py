"""WeChat Official Accounts: the callback server, the crypto, and the outbound API client."""
