"""The reports the regional leads owe HQ (manual ch. 2), with CSV/XLSX export."""
