"""The application: scenario loading, the one run pipeline (runner), LLM backends, benchmarks."""
