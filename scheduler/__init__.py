"""Scheduler: maintenance plans and due dates, predictive rules, routing, visit windows,
SLAs, notifications and the job process with its leader election."""
