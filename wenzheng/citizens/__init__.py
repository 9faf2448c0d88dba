"""Citizens: the people who write in, known to an agency by one or more channel handles."""
