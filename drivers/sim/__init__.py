"""A simulated vehicle for the dev image: a repeating drive, published as vehicle signals."""
