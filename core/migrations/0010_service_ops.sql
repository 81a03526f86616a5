-- Service operations of the manual: spare parts (备件管理, 坏料回仓), warranty and fees (保修卡,
-- 非保费用结算标准), commissioning results (AIC客户处设备调试), software-update records
-- (软件更新记录) and the customer file (用户档案).

CREATE TABLE parts (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9._-]{1,63}$'),
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    unit        text NOT NULL DEFAULT 'pcs',
    unit_price  numeric(10, 2) NOT NULL CHECK (unit_price >= 0),
    returnable  boolean NOT NULL DEFAULT true   -- the removed part goes back (坏料回仓)
);

-- Parts a repair or predictive task needs (preventive tasks list theirs in the plan).
CREATE TABLE task_parts (
    task_code   text NOT NULL,
    part_code   text NOT NULL REFERENCES parts (code),
    qty         integer NOT NULL CHECK (qty > 0),
    PRIMARY KEY (task_code, part_code)
);

CREATE TABLE part_stock (
    region      text NOT NULL REFERENCES regions (code),
    part_code   text NOT NULL REFERENCES parts (code),
    on_hand     integer NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    min_level   integer NOT NULL DEFAULT 0 CHECK (min_level >= 0),
    PRIMARY KEY (region, part_code)
);

-- Every change of stock: receipts, parts issued to work orders, corrections.
CREATE TABLE part_movements (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    region          text NOT NULL REFERENCES regions (code),
    part_code       text NOT NULL REFERENCES parts (code),
    qty             integer NOT NULL CHECK (qty <> 0),     -- + in, - out
    kind            text NOT NULL CHECK (kind IN ('receive', 'issue', 'adjust')),
    work_order_id   bigint REFERENCES work_orders (id),
    robot_id        text,
    in_warranty     boolean,
    unit_price      numeric(10, 2),
    actor           text NOT NULL,
    note            text,
    CHECK (kind <> 'issue' OR (work_order_id IS NOT NULL AND qty < 0))
);
CREATE INDEX part_movements_region_at ON part_movements (region, at);
CREATE INDEX part_movements_order ON part_movements (work_order_id);

-- 坏料回仓: a faulty part removed on a work order, until the regional warehouse has it back.
CREATE TABLE faulty_returns (
    id              bigserial PRIMARY KEY,
    region          text NOT NULL REFERENCES regions (code),
    part_code       text NOT NULL REFERENCES parts (code),
    qty             integer NOT NULL CHECK (qty > 0),
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    robot_id        text NOT NULL,
    removed_at      timestamptz NOT NULL,
    received_at     timestamptz,
    received_by     text,
    note            text,
    UNIQUE (work_order_id, part_code)
);

-- 非保费用结算标准: the fee schedule out-of-warranty work is priced from.
CREATE TABLE fee_schedules (
    version             integer PRIMARY KEY CHECK (version > 0),
    effective_from      date NOT NULL,
    currency            text NOT NULL DEFAULT 'CNY',
    labour_per_hour     numeric(10, 2) NOT NULL CHECK (labour_per_hour >= 0),
    min_labour_hours    numeric(4, 2) NOT NULL DEFAULT 1 CHECK (min_labour_hours >= 0),
    parts_markup        numeric(4, 2) NOT NULL DEFAULT 1 CHECK (parts_markup > 0),
    travel              jsonb NOT NULL DEFAULT '{}',   -- region -> flat travel fee
    travel_default      numeric(10, 2) NOT NULL DEFAULT 0,
    loaded_at           timestamptz NOT NULL DEFAULT now()
);

-- Warranty: from purchase or from commissioning (per model), optional usage cap in cycles.
ALTER TABLE robot_models ADD COLUMN warranty_from text NOT NULL DEFAULT 'purchase'
    CHECK (warranty_from IN ('purchase', 'commissioning'));
ALTER TABLE robot_models ADD COLUMN warranty_cycles bigint CHECK (warranty_cycles > 0);
ALTER TABLE robots ADD COLUMN warranty_cycles bigint CHECK (warranty_cycles > 0);
ALTER TABLE robots ADD COLUMN commissioned_at timestamptz;

-- 保修卡: one card per robot, one line per completed repair or service visit.
CREATE TABLE warranty_cards (
    robot_id        text PRIMARY KEY REFERENCES robots (robot_id),
    card_no         text NOT NULL UNIQUE,
    customer_id     text NOT NULL REFERENCES customers (id),
    start_date      date NOT NULL,
    end_date        date NOT NULL,
    cycle_cap       bigint,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (end_date >= start_date)
);
CREATE TABLE warranty_card_entries (
    id              bigserial PRIMARY KEY,
    robot_id        text NOT NULL REFERENCES warranty_cards (robot_id),
    work_order_id   bigint NOT NULL UNIQUE REFERENCES work_orders (id),
    at              timestamptz NOT NULL,
    description     text NOT NULL,
    in_warranty     boolean NOT NULL,
    charged         numeric(10, 2) NOT NULL DEFAULT 0
);

-- AIC客户处设备调试: the checklist result of each commissioning visit.
CREATE TABLE commissioning_results (
    id              bigserial PRIMARY KEY,
    robot_id        text NOT NULL REFERENCES robots (robot_id),
    work_order_id   bigint UNIQUE REFERENCES work_orders (id),
    at              timestamptz NOT NULL,
    passed          boolean NOT NULL,
    checklist       jsonb NOT NULL,      -- item code -> true (ok) / false (failed)
    actor           text NOT NULL
);
CREATE INDEX commissioning_results_robot ON commissioning_results (robot_id, at);

-- 软件更新记录: site, date, model, quantity, version, operator.
CREATE TABLE software_updates (
    id              bigserial PRIMARY KEY,
    site_id         text NOT NULL REFERENCES sites (id),
    robot_id        text REFERENCES robots (robot_id),   -- NULL: a manual entry for several robots
    model           text NOT NULL REFERENCES robot_models (code),
    updated_on      date NOT NULL,
    quantity        integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
    version         text NOT NULL,
    from_version    text,
    operator        text NOT NULL,
    source          text NOT NULL CHECK (source IN ('event', 'manual', 'work_order')),
    event_key       text UNIQUE,           -- robot/ts/seq of the firmware_updated event
    work_order_id   bigint REFERENCES work_orders (id),
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX software_updates_site ON software_updates (site_id, updated_on);

-- 用户档案: the service record of each customer, one line per completed work order.
CREATE TABLE customer_file_entries (
    id              bigserial PRIMARY KEY,
    customer_id     text NOT NULL REFERENCES customers (id),
    region          text NOT NULL REFERENCES regions (code),
    robot_id        text NOT NULL,
    work_order_id   bigint NOT NULL UNIQUE REFERENCES work_orders (id),
    at              timestamptz NOT NULL,
    kind            text NOT NULL,
    summary         text NOT NULL,
    rating          smallint,
    charged         numeric(10, 2) NOT NULL DEFAULT 0
);
CREATE INDEX customer_file_entries_customer ON customer_file_entries (customer_id, at);

ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN (
    'robot_offline', 'escalation', 'overdue', 'due_soon', 'robot_no_data', 'parts_low'));

-- The API completes orders as aic_api: it writes what a completion writes.
GRANT INSERT, UPDATE ON part_stock, part_movements, faulty_returns, warranty_cards,
    warranty_card_entries, commissioning_results, software_updates, customer_file_entries
    TO aic_api;
GRANT UPDATE (commissioning, commissioned_at, warranty_end) ON robots TO aic_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO aic_api;

ALTER TABLE part_stock ENABLE ROW LEVEL SECURITY;
CREATE POLICY part_stock_region ON part_stock USING (aic_region_visible(region))
    WITH CHECK (aic_region_visible(region));
ALTER TABLE part_movements ENABLE ROW LEVEL SECURITY;
CREATE POLICY part_movements_region ON part_movements USING (aic_region_visible(region))
    WITH CHECK (aic_region_visible(region));
ALTER TABLE faulty_returns ENABLE ROW LEVEL SECURITY;
CREATE POLICY faulty_returns_region ON faulty_returns USING (aic_region_visible(region))
    WITH CHECK (aic_region_visible(region));
ALTER TABLE customer_file_entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY customer_file_entries_region ON customer_file_entries
    USING (aic_region_visible(region)) WITH CHECK (aic_region_visible(region));
ALTER TABLE software_updates ENABLE ROW LEVEL SECURITY;
CREATE POLICY software_updates_region ON software_updates
    USING (EXISTS (SELECT 1 FROM sites s WHERE s.id = software_updates.site_id));
