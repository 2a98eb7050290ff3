"""The e-file: xdomea 3.0.0 messages of closed cases and the connectors that transfer them."""
