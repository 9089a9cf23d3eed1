"""Built-in data: the toy character vocabulary."""
