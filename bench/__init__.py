"""Benchmarks, fuzzing and the fault soak (`make bench`, `make fuzz`, `make soak`).

Nothing here is imported by the service itself; each entry point prepares its own database and
servers on loopback and cleans them up."""
