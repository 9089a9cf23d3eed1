"""Self-describing checkpoints (Orbax params + model_config.json + tokenizer) and the manager."""
