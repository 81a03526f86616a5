-- The manual's service loop (ch. 4): orders opened from a customer's call, callbacks that
-- can be unreachable or unsatisfied (then a revisit), alerts for overdue callbacks.

-- Where an order came from: the plans, a detector, or a customer (4.2.1A 报修).
ALTER TABLE work_orders ADD COLUMN origin text NOT NULL DEFAULT 'scheduler'
    CHECK (origin IN ('scheduler', 'phone', 'wechat', 'email', 'complaint', 'walk_in', 'revisit'));
ALTER TABLE work_orders ADD COLUMN reported_by text;   -- the customer's contact who called
ALTER TABLE work_orders ADD COLUMN parent_id bigint REFERENCES work_orders (id);  -- a revisit's order

-- A callback that could not be made (no answer for three days …) says why.
ALTER TABLE callbacks ADD COLUMN unreachable_reason text;
ALTER TABLE callbacks ADD COLUMN revisit_order_id bigint REFERENCES work_orders (id);

ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN (
    'robot_offline', 'escalation', 'overdue', 'due_soon', 'robot_no_data', 'parts_low',
    'callback_overdue', 'unsatisfied'));
