"""The OpenAI-compatible server (`caption-studio serve`)."""
