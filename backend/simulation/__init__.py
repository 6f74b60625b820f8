"""A simulated school: realistic source data for demos, load tests and checks of the analytics engine."""
