"""The M-step trainer: loss, optimizer, packing, the jitted train step and toy pretraining."""
