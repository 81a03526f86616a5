-- Scheduler: maintenance plans, work orders with an audited lifecycle, callbacks, alerts.

ALTER TABLE staff ADD COLUMN work_start time NOT NULL DEFAULT '08:00';
ALTER TABLE staff ADD COLUMN work_end time NOT NULL DEFAULT '20:00';

CREATE TABLE maintenance_plans (
    id          bigserial PRIMARY KEY,
    robot_model text NOT NULL REFERENCES robot_models (code),
    version     integer NOT NULL,
    source      text,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    active      boolean NOT NULL DEFAULT true,
    UNIQUE (robot_model, version)
);
CREATE UNIQUE INDEX maintenance_plans_one_active ON maintenance_plans (robot_model) WHERE active;

CREATE TABLE plan_tasks (
    plan_id                 bigint NOT NULL REFERENCES maintenance_plans (id) ON DELETE CASCADE,
    code                    text NOT NULL,
    title_zh                text NOT NULL,
    title_en                text NOT NULL,
    interval_days           integer CHECK (interval_days > 0),
    interval_cycles         bigint CHECK (interval_cycles > 0),
    interval_run_hours      double precision CHECK (interval_run_hours > 0),
    interval_heater_hours   double precision CHECK (interval_heater_hours > 0),
    anchor                  text NOT NULL DEFAULT 'floating' CHECK (anchor IN ('fixed', 'floating')),
    duration_min            integer NOT NULL CHECK (duration_min > 0),
    parts                   jsonb NOT NULL DEFAULT '[]',
    checklist               jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (plan_id, code)
);

-- When each robot last had each task done, with its counters then (floating intervals).
CREATE TABLE task_completions (
    robot_id        text NOT NULL REFERENCES robots (robot_id),
    task_code       text NOT NULL,
    completed_at    timestamptz NOT NULL,
    cycles_total    bigint,
    run_hours       double precision,
    heater_hours    double precision,
    work_order_id   bigint,
    PRIMARY KEY (robot_id, task_code, completed_at)
);

CREATE TABLE work_orders (
    id                  bigserial PRIMARY KEY,
    number              text NOT NULL UNIQUE,
    type                text NOT NULL CHECK (type IN ('repair', 'preventive', 'predictive',
                                                      'commissioning', 'software_update')),
    status              text NOT NULL DEFAULT 'new'
                        CHECK (status IN ('new', 'scheduled', 'confirmed', 'dispatched',
                                          'in_progress', 'completed', 'verified', 'on_hold',
                                          'cancelled')),
    dedup_key           text NOT NULL,
    robot_id            text NOT NULL REFERENCES robots (robot_id),
    site_id             text NOT NULL REFERENCES sites (id),
    region              text NOT NULL REFERENCES regions (code),
    customer_id         text NOT NULL REFERENCES customers (id),
    title               text NOT NULL,
    tasks               jsonb NOT NULL DEFAULT '[]',   -- task codes (merged preventive tasks too)
    symptom             text,
    customer_requests   text,
    priority            smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 4),  -- 1 = urgent
    due_at              timestamptz NOT NULL,
    warranty            text NOT NULL CHECK (warranty IN ('in_warranty', 'out_of_warranty')),
    lead_id             text REFERENCES staff (id),
    technician_id       text REFERENCES staff (id),
    window_start        timestamptz,
    window_end          timestamptz,
    window_late         boolean NOT NULL DEFAULT false,  -- no window before the due date
    anomaly_id          bigint REFERENCES anomalies (id),
    evidence            jsonb,
    completion          jsonb,   -- cause, resolution, parts_used, time_spent_min, fee, rating, signer
    held_from           text,    -- status before on_hold
    escalated_at        timestamptz,
    escalated_to        text REFERENCES staff (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT 'scheduler'
);
-- At most one open order per robot and task or fault: re-running never duplicates.
CREATE UNIQUE INDEX work_orders_one_open ON work_orders (dedup_key)
    WHERE status NOT IN ('completed', 'verified', 'cancelled');
CREATE INDEX work_orders_region_status ON work_orders (region, status);
CREATE INDEX work_orders_robot ON work_orders (robot_id);
CREATE SEQUENCE work_order_number_seq;

CREATE TABLE work_order_events (
    id              bigserial PRIMARY KEY,
    work_order_id   bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    from_status     text,
    to_status       text NOT NULL,
    note            text
);
CREATE INDEX work_order_events_order ON work_order_events (work_order_id, at);

-- 客户回访记录: callbacks the manual asks for (2 h after phone guidance, 3 h after an uncertain fix).
CREATE TABLE callbacks (
    id              bigserial PRIMARY KEY,
    work_order_id   bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('phone_guided', 'uncertain_fix', 'verification')),
    due_at          timestamptz NOT NULL,
    done_at         timestamptz,
    done_by         text,
    satisfied       boolean,
    notes           text,
    UNIQUE (work_order_id, kind)
);

CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('robot_offline', 'escalation', 'overdue',
                                                  'due_soon', 'robot_no_data')),
    region          text REFERENCES regions (code),
    robot_id        text,
    work_order_id   bigint REFERENCES work_orders (id) ON DELETE CASCADE,
    message         text NOT NULL,
    dedup_key       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (dedup_key) WHERE resolved_at IS NULL;
