"""Hardware and plan reports: JSON, Markdown and HTML here; PDF is rendered by ``ui`` with Qt."""
