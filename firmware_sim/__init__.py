"""Simulated AIC fleet: kitchens, physics, injected faults with ground truth."""
