"""Knowing the model: GGUF headers, Hub repositories and the bundled catalog."""
