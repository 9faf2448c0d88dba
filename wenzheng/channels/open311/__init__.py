"""Open311 GeoReport v2: other civic software files and reads requests through the same door."""
