"""wenzheng (问政): government public-service accounts — bulletins out, citizens' messages in."""

__version__ = "0.1.0"
