-- Per-hour partial aggregates of the feature windows (issue 19: live scoring end to end).
-- A window's features are percentiles, which cannot be merged from per-hour summaries, so
-- each hour keeps the values the window's percentiles are taken over (only the readings
-- that feed a feature: cooking, dosing, heating) and its state changes (for heat-up times).
-- A live refresh re-reads only the raw hours that received readings since its watermark,
-- then re-derives their windows from these rows: the same figures as aggregating the raw
-- day, without reading it again every few minutes.
CREATE TABLE feature_hours (
    robot_id            text NOT NULL,
    hour                timestamptz NOT NULL,
    model               text,
    fw                  text,                 -- the hour's last reported version
    fw_ts               timestamptz,          -- when it was last reported
    fws                 text[] NOT NULL DEFAULT '{}',  -- every version reported in the hour
    n_readings          integer NOT NULL,
    n_cooking           integer NOT NULL,
    err_count           integer NOT NULL,
    err_codes           text[] NOT NULL DEFAULT '{}',
    -- the values each window percentile is taken over (NULLs are ignored, as by the raw SQL)
    igbt_rise_per_kw    double precision[],
    stir_vib            double precision[],
    stir_current        double precision[],
    pressure_per_flow   double precision[],
    power_per_degree    double precision[],
    fan_rpm             double precision[],
    -- state changes within the hour, in order (the hour's first reading is one)
    mark_ts             timestamptz[],
    mark_state          text[],
    computed_at         timestamptz NOT NULL,
    PRIMARY KEY (robot_id, hour)
);

-- Rows received up to this instant (ingest's clock) are in feature_hours and windows.
INSERT INTO rollup_watermark VALUES ('features', '-infinity');

-- What live scoring takes from the whole fleet, kept between runs (a run scores only the
-- robots that reported in its minutes): per robot model and firmware, the relative
-- baseline scale of each feature (kind 'scale', issue 21's priors), and per firmware
-- update, each feature's level shift new/old (kind 'shift', the cross-version bridge);
-- per robot model and firmware, the fleet's centre and relative spread between robots
-- (kinds 'center' and 'spread', the fleet check).
CREATE TABLE fleet_norms (
    kind         text NOT NULL CHECK (kind IN ('scale', 'shift', 'center', 'spread')),
    model        text NOT NULL,
    fw_from      text NOT NULL,            -- the old version of a shift; '' for a scale
    fw           text NOT NULL,            -- '' for windows without a version
    config       text NOT NULL,            -- the scoring settings they were computed with
    value        double precision[] NOT NULL,  -- per feature, in analytics FEATURES order
    computed_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, model, fw_from, fw, config)
);

-- Parts older than a few weeks are pruned by the refresh (a late reading for an older
-- window re-reads that window's raw hours).
CREATE INDEX feature_hours_hour ON feature_hours (hour);
