"""SMS: a gateway's webhook in, an HTTP gateway adapter out, billed segments counted as gateways count them."""
