-- Fleet registry: regions, staff, customers, sites and their service hours, robot models, robots.

CREATE TABLE regions (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_-]{1,31}$'),
    name_zh     text NOT NULL,
    name_en     text NOT NULL
);

CREATE TABLE staff (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('manager', 'lead', 'technician', 'engineer')),
    region      text REFERENCES regions (code),
    phone       text,
    email       text,
    active      boolean NOT NULL DEFAULT true,
    CHECK (role IN ('manager', 'engineer') OR region IS NOT NULL)
);
-- The manual gives each region exactly one lead (组长).
CREATE UNIQUE INDEX staff_one_lead_per_region ON staff (region) WHERE role = 'lead' AND active;

CREATE TABLE customers (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    name        text NOT NULL,
    contact     text,
    phone       text
);

CREATE TABLE sites (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    customer_id text NOT NULL REFERENCES customers (id),
    region      text NOT NULL REFERENCES regions (code),
    name        text NOT NULL,
    city        text NOT NULL,
    address     text NOT NULL,
    contact     text,
    phone       text,
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai'
);
CREATE INDEX sites_region ON sites (region);

-- Weekly service hours, several intervals a day. closes <= opens means the
-- interval runs past midnight into the next day (late-night kitchens).
CREATE TABLE site_service_hours (
    site_id     text NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),  -- ISO: 1 = Monday
    opens       time NOT NULL,
    closes      time NOT NULL,
    PRIMARY KEY (site_id, weekday, opens)
);

CREATE TABLE robot_models (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    description     text,
    heater_max_w    double precision NOT NULL CHECK (heater_max_w > 0),
    wok_capacity_l  double precision,
    warranty_months integer NOT NULL DEFAULT 12 CHECK (warranty_months >= 0)
);

CREATE TABLE robots (
    robot_id        text PRIMARY KEY CHECK (robot_id ~ '^[a-z0-9-]{3,64}$'),
    serial          text NOT NULL UNIQUE,
    model           text NOT NULL REFERENCES robot_models (code),
    site_id         text NOT NULL REFERENCES sites (id),
    purchase_date   date NOT NULL,
    install_date    date NOT NULL,
    warranty_end    date NOT NULL,
    firmware        text NOT NULL,
    commissioning   text NOT NULL DEFAULT 'pending'
                    CHECK (commissioning IN ('pending', 'pass', 'fail')),
    active          boolean NOT NULL DEFAULT true,
    CHECK (install_date >= purchase_date),
    CHECK (warranty_end >= purchase_date)
);
CREATE INDEX robots_site ON robots (site_id);
