"""After-sales service records: work orders and their lifecycle, callbacks, parts, warranty,
commissioning and software-update records (manual ch. 4)."""
