"""Stocking norms (储备定额), shortfalls against them, and the readiness they add up to."""
