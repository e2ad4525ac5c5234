"""Planning: memory, placement, speed and the llama.cpp command, behind one entry point ``plan()``."""
