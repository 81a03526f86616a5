"""The HTTP API (FastAPI) for leads, technicians, engineers and HQ."""
