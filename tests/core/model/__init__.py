"""Tests of the model layer: GGUF headers, facts, Hub repos, name resolution."""
