"""Scheduler: maintenance plans → work orders, routing, visit windows, SLAs, jobs."""
