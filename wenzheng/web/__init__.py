"""HTTP: the JSON API, the operator console and the public pages. Handlers are thin: parse, access, act, render."""
