"""The Llama-family model: config, layers, every attention backend (training, prefill and the
cascade decode step), KV-cache layout and the plain-function interface (`interface.py`)."""
