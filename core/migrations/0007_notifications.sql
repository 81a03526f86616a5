-- Notification outbox: written in the same transaction as the event, delivered with retries.
CREATE TABLE notifications (
    id              bigserial PRIMARY KEY,
    event           text NOT NULL,          -- work_order_created | work_order_overdue | escalation | robot_offline
    region          text,
    channel         text NOT NULL,          -- channel name from the notification config
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notifications_pending ON notifications (next_attempt_at) WHERE status = 'pending';
