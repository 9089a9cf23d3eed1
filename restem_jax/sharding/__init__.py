"""Device meshes, logical-axis sharding rules, divisibility checks and host-array gathering."""
