-- Analytics: daily features per robot, anomalies, fault-model registry.

-- One row per robot and window (UTC day by default): the health features.
CREATE TABLE robot_features (
    robot_id            text NOT NULL,
    window_start        timestamptz NOT NULL,
    window_hours        integer NOT NULL DEFAULT 24,
    model               text,
    fw                  text,
    n_readings          integer NOT NULL,
    n_cooking           integer NOT NULL,
    igbt_rise_per_kw    double precision,   -- (IGBT - cabinet) °C per kW while cooking
    stir_vib_p90        double precision,   -- mm/s under load
    stir_current_p50    double precision,   -- A under load
    pressure_per_flow   double precision,   -- kPa per ml/s while dosing
    power_per_degree    double precision,   -- W per °C of wok above cabinet while cooking
    heatup_s            double precision,   -- median preheat duration per dish
    fan_rpm_p50         double precision,   -- exhaust fan while heating
    err_count           integer NOT NULL,
    err_codes           text[] NOT NULL DEFAULT '{}',
    computed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (robot_id, window_start, window_hours)
);

CREATE TABLE anomalies (
    id                  bigserial PRIMARY KEY,
    robot_id            text NOT NULL,
    detector            text NOT NULL,
    model_version       text NOT NULL,
    component           text NOT NULL,
    kind                text NOT NULL,          -- the suspected fault kind
    window_start        timestamptz NOT NULL,
    window_end          timestamptz NOT NULL,
    score               double precision NOT NULL,  -- higher = more anomalous
    severity            text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    predicted_failure   timestamptz,
    failure_low         timestamptz,
    failure_high        timestamptz,
    evidence            jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'acknowledged', 'cleared')),
    acknowledged_by     text,
    acknowledged_at     timestamptz,
    cleared_by          text,
    cleared_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (robot_id, detector, component, window_start)
);
CREATE INDEX anomalies_open ON anomalies (robot_id) WHERE status <> 'cleared';
CREATE INDEX anomalies_created ON anomalies (created_at DESC);

CREATE TABLE fault_models (
    id                  bigserial PRIMARY KEY,
    name                text NOT NULL,            -- e.g. isolation_forest
    robot_model         text NOT NULL,
    version             integer NOT NULL,
    params              jsonb NOT NULL,
    train_from          timestamptz,
    train_to            timestamptz,
    data_hash           text NOT NULL,
    n_train             integer NOT NULL,
    sklearn_version     text NOT NULL,
    artifact            bytea NOT NULL,
    metrics             jsonb,
    active              boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text,
    UNIQUE (name, robot_model, version)
);
CREATE UNIQUE INDEX fault_models_one_active ON fault_models (name, robot_model) WHERE active;
