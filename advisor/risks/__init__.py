"""Risk flags: a rules engine over data files, and the licence knowledge base."""
