"""Channel endpoints: public by necessity (the channel cannot log in), authenticated by each channel's own proof."""
