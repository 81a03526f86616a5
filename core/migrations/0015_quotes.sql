-- Out-of-warranty work is priced and agreed before the visit (4.2.2A); a receipt is given
-- for what was charged (4.2.7.1A).
ALTER TABLE work_orders ADD COLUMN quote jsonb;             -- labour, parts, travel, total
ALTER TABLE work_orders ADD COLUMN quote_accepted_at timestamptz;
ALTER TABLE work_orders ADD COLUMN quote_accepted_by text;  -- the customer's contact who agreed
CREATE SEQUENCE receipt_number_seq;
GRANT USAGE, SELECT ON receipt_number_seq TO aic_api;
