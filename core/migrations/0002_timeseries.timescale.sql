-- Time series on TimescaleDB. Every Timescale-only statement of the project is
-- in this file; 0002_timeseries.plain.sql is the plain-PostgreSQL variant with
-- the same tables, columns and maintenance functions. Reviewed, not run in CI
-- (TimescaleDB cannot be installed on the CI machine).

CREATE TABLE telemetry (
    ts                 timestamptz NOT NULL,
    robot_id           text NOT NULL,
    seq                bigint NOT NULL,
    model              text,
    fw                 text,
    state              text NOT NULL,
    recipe             text,
    wok_temp_c         double precision,
    heater_power_w     double precision,
    igbt_temp_c        double precision,
    stir_current_a     double precision,
    stir_rpm           double precision,
    stir_vib_mm_s      double precision,
    pump_pressure_kpa  double precision,
    dose_flow_ml_s     double precision,
    exhaust_fan_rpm    double precision,
    cabinet_temp_c     double precision,
    cycles_total       bigint,
    heater_hours       double precision,
    run_hours          double precision,
    err                text[] NOT NULL DEFAULT '{}',
    m_extra            jsonb,
    received_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (robot_id, ts, seq)
);

SELECT create_hypertable('telemetry', 'ts', chunk_time_interval => interval '1 day');
ALTER TABLE telemetry SET (timescaledb.compress, timescaledb.compress_segmentby = 'robot_id',
                           timescaledb.compress_orderby = 'ts, seq');
SELECT add_compression_policy('telemetry', interval '7 days');
SELECT add_retention_policy('telemetry', interval '400 days');

CREATE TABLE robot_events (
    ts          timestamptz NOT NULL,
    robot_id    text NOT NULL,
    seq         bigint NOT NULL,
    type        text NOT NULL,
    code        text,
    detail      text,
    fw          text,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (robot_id, ts, seq)
);
CREATE INDEX robot_events_robot_ts ON robot_events (robot_id, ts DESC);
CREATE INDEX robot_events_type_ts ON robot_events (type, ts DESC);

-- Every message that broke the contract, with its raw bytes: never lost silently.
CREATE TABLE quarantine (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text NOT NULL,
    payload     bytea NOT NULL,
    reason      text NOT NULL,
    detail      text
);
CREATE INDEX quarantine_reason_time ON quarantine (reason, received_at DESC);

CREATE MATERIALIZED VIEW telemetry_1m WITH (timescaledb.continuous) AS
SELECT t.robot_id, time_bucket(interval '1 minute', t.ts) AS bucket, count(*) AS n,

        avg(wok_temp_c) AS wok_temp_c_avg, min(wok_temp_c) AS wok_temp_c_min, max(wok_temp_c) AS wok_temp_c_max,
        avg(heater_power_w) AS heater_power_w_avg, min(heater_power_w) AS heater_power_w_min, max(heater_power_w) AS heater_power_w_max,
        avg(igbt_temp_c) AS igbt_temp_c_avg, min(igbt_temp_c) AS igbt_temp_c_min, max(igbt_temp_c) AS igbt_temp_c_max,
        avg(stir_current_a) AS stir_current_a_avg, min(stir_current_a) AS stir_current_a_min, max(stir_current_a) AS stir_current_a_max,
        avg(stir_rpm) AS stir_rpm_avg, min(stir_rpm) AS stir_rpm_min, max(stir_rpm) AS stir_rpm_max,
        avg(stir_vib_mm_s) AS stir_vib_mm_s_avg, min(stir_vib_mm_s) AS stir_vib_mm_s_min, max(stir_vib_mm_s) AS stir_vib_mm_s_max,
        avg(pump_pressure_kpa) AS pump_pressure_kpa_avg, min(pump_pressure_kpa) AS pump_pressure_kpa_min, max(pump_pressure_kpa) AS pump_pressure_kpa_max,
        avg(dose_flow_ml_s) AS dose_flow_ml_s_avg, min(dose_flow_ml_s) AS dose_flow_ml_s_min, max(dose_flow_ml_s) AS dose_flow_ml_s_max,
        avg(exhaust_fan_rpm) AS exhaust_fan_rpm_avg, min(exhaust_fan_rpm) AS exhaust_fan_rpm_min, max(exhaust_fan_rpm) AS exhaust_fan_rpm_max,
        avg(cabinet_temp_c) AS cabinet_temp_c_avg, min(cabinet_temp_c) AS cabinet_temp_c_min, max(cabinet_temp_c) AS cabinet_temp_c_max,
        max(t.cycles_total) AS cycles_total, max(t.heater_hours) AS heater_hours,
        max(t.run_hours) AS run_hours,
        count(*) FILTER (WHERE cardinality(t.err) > 0) AS err_count
FROM telemetry t
GROUP BY 1, 2
WITH NO DATA;
SELECT add_continuous_aggregate_policy('telemetry_1m',
    start_offset => interval '3 days', end_offset => interval '1 minute',
    schedule_interval => interval '1 minute');

CREATE MATERIALIZED VIEW telemetry_1h WITH (timescaledb.continuous) AS
SELECT m.robot_id, time_bucket(interval '1 hour', m.bucket) AS bucket, sum(m.n) AS n,

        sum(wok_temp_c_avg * n) / nullif(sum(n) FILTER (WHERE wok_temp_c_avg IS NOT NULL), 0) AS wok_temp_c_avg, min(wok_temp_c_min) AS wok_temp_c_min, max(wok_temp_c_max) AS wok_temp_c_max,
        sum(heater_power_w_avg * n) / nullif(sum(n) FILTER (WHERE heater_power_w_avg IS NOT NULL), 0) AS heater_power_w_avg, min(heater_power_w_min) AS heater_power_w_min, max(heater_power_w_max) AS heater_power_w_max,
        sum(igbt_temp_c_avg * n) / nullif(sum(n) FILTER (WHERE igbt_temp_c_avg IS NOT NULL), 0) AS igbt_temp_c_avg, min(igbt_temp_c_min) AS igbt_temp_c_min, max(igbt_temp_c_max) AS igbt_temp_c_max,
        sum(stir_current_a_avg * n) / nullif(sum(n) FILTER (WHERE stir_current_a_avg IS NOT NULL), 0) AS stir_current_a_avg, min(stir_current_a_min) AS stir_current_a_min, max(stir_current_a_max) AS stir_current_a_max,
        sum(stir_rpm_avg * n) / nullif(sum(n) FILTER (WHERE stir_rpm_avg IS NOT NULL), 0) AS stir_rpm_avg, min(stir_rpm_min) AS stir_rpm_min, max(stir_rpm_max) AS stir_rpm_max,
        sum(stir_vib_mm_s_avg * n) / nullif(sum(n) FILTER (WHERE stir_vib_mm_s_avg IS NOT NULL), 0) AS stir_vib_mm_s_avg, min(stir_vib_mm_s_min) AS stir_vib_mm_s_min, max(stir_vib_mm_s_max) AS stir_vib_mm_s_max,
        sum(pump_pressure_kpa_avg * n) / nullif(sum(n) FILTER (WHERE pump_pressure_kpa_avg IS NOT NULL), 0) AS pump_pressure_kpa_avg, min(pump_pressure_kpa_min) AS pump_pressure_kpa_min, max(pump_pressure_kpa_max) AS pump_pressure_kpa_max,
        sum(dose_flow_ml_s_avg * n) / nullif(sum(n) FILTER (WHERE dose_flow_ml_s_avg IS NOT NULL), 0) AS dose_flow_ml_s_avg, min(dose_flow_ml_s_min) AS dose_flow_ml_s_min, max(dose_flow_ml_s_max) AS dose_flow_ml_s_max,
        sum(exhaust_fan_rpm_avg * n) / nullif(sum(n) FILTER (WHERE exhaust_fan_rpm_avg IS NOT NULL), 0) AS exhaust_fan_rpm_avg, min(exhaust_fan_rpm_min) AS exhaust_fan_rpm_min, max(exhaust_fan_rpm_max) AS exhaust_fan_rpm_max,
        sum(cabinet_temp_c_avg * n) / nullif(sum(n) FILTER (WHERE cabinet_temp_c_avg IS NOT NULL), 0) AS cabinet_temp_c_avg, min(cabinet_temp_c_min) AS cabinet_temp_c_min, max(cabinet_temp_c_max) AS cabinet_temp_c_max,
        max(m.cycles_total) AS cycles_total, max(m.heater_hours) AS heater_hours,
        max(m.run_hours) AS run_hours, sum(m.err_count) AS err_count
FROM telemetry_1m m
GROUP BY 1, 2
WITH NO DATA;
SELECT add_continuous_aggregate_policy('telemetry_1h',
    start_offset => interval '7 days', end_offset => interval '1 hour',
    schedule_interval => interval '15 minutes');

-- Same maintenance API as the plain variant; Timescale's policies do the work.
CREATE FUNCTION aic_ensure_partitions(p_from timestamptz, p_to timestamptz)
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;

CREATE FUNCTION aic_drop_partitions_before(p_before timestamptz)
RETURNS integer LANGUAGE sql AS $$ SELECT count(*)::integer FROM drop_chunks('telemetry', p_before) $$;

CREATE FUNCTION aic_refresh_rollups(p_lag interval DEFAULT interval '30 seconds')
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
