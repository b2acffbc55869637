"""Agent sessions: minting, the chat lease, and the streaming run proxy."""
