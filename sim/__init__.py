"""World backends and scenarios."""
