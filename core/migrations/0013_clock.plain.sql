-- One clock (plain PostgreSQL): the rollup refresh takes its upper bound from the
-- caller instead of the database's now(). Same body as 0002's aic_refresh_rollups;
-- that function stays, now a wrapper, for people who call it from SQL.

-- Recompute the 1-minute and 1-hour buckets touched by rows received after the
-- last refresh and up to p_upto (the caller's clock minus a lag that leaves out
-- rows whose transaction may still be open).
CREATE FUNCTION aic_refresh_rollups_upto(p_upto timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz;
    hi timestamptz := p_upto;
    touched integer;
BEGIN
    SELECT upto INTO lo FROM rollup_watermark WHERE name = 'telemetry' FOR UPDATE;
    IF hi <= lo THEN
        RETURN 0;
    END IF;

    CREATE TEMP TABLE IF NOT EXISTS _dirty_minutes (robot_id text, bucket timestamptz)
        ON COMMIT DROP;
    TRUNCATE _dirty_minutes;
    INSERT INTO _dirty_minutes
        SELECT DISTINCT robot_id, date_trunc('minute', ts)
        FROM telemetry WHERE received_at > lo AND received_at <= hi;
    GET DIAGNOSTICS touched = ROW_COUNT;

    INSERT INTO telemetry_1m
    SELECT t.robot_id, date_trunc('minute', t.ts) AS bucket, count(*),
        avg(wok_temp_c), min(wok_temp_c), max(wok_temp_c),
        avg(heater_power_w), min(heater_power_w), max(heater_power_w),
        avg(igbt_temp_c), min(igbt_temp_c), max(igbt_temp_c),
        avg(stir_current_a), min(stir_current_a), max(stir_current_a),
        avg(stir_rpm), min(stir_rpm), max(stir_rpm),
        avg(stir_vib_mm_s), min(stir_vib_mm_s), max(stir_vib_mm_s),
        avg(pump_pressure_kpa), min(pump_pressure_kpa), max(pump_pressure_kpa),
        avg(dose_flow_ml_s), min(dose_flow_ml_s), max(dose_flow_ml_s),
        avg(exhaust_fan_rpm), min(exhaust_fan_rpm), max(exhaust_fan_rpm),
        avg(cabinet_temp_c), min(cabinet_temp_c), max(cabinet_temp_c),
        max(t.cycles_total), max(t.heater_hours), max(t.run_hours),
        count(*) FILTER (WHERE cardinality(t.err) > 0)
    FROM telemetry t
    JOIN _dirty_minutes d
      ON t.robot_id = d.robot_id
     AND t.ts >= d.bucket AND t.ts < d.bucket + interval '1 minute'
    GROUP BY 1, 2
    ON CONFLICT (robot_id, bucket) DO UPDATE SET
            wok_temp_c_avg = EXCLUDED.wok_temp_c_avg,
            wok_temp_c_min = EXCLUDED.wok_temp_c_min,
            wok_temp_c_max = EXCLUDED.wok_temp_c_max,
            heater_power_w_avg = EXCLUDED.heater_power_w_avg,
            heater_power_w_min = EXCLUDED.heater_power_w_min,
            heater_power_w_max = EXCLUDED.heater_power_w_max,
            igbt_temp_c_avg = EXCLUDED.igbt_temp_c_avg,
            igbt_temp_c_min = EXCLUDED.igbt_temp_c_min,
            igbt_temp_c_max = EXCLUDED.igbt_temp_c_max,
            stir_current_a_avg = EXCLUDED.stir_current_a_avg,
            stir_current_a_min = EXCLUDED.stir_current_a_min,
            stir_current_a_max = EXCLUDED.stir_current_a_max,
            stir_rpm_avg = EXCLUDED.stir_rpm_avg,
            stir_rpm_min = EXCLUDED.stir_rpm_min,
            stir_rpm_max = EXCLUDED.stir_rpm_max,
            stir_vib_mm_s_avg = EXCLUDED.stir_vib_mm_s_avg,
            stir_vib_mm_s_min = EXCLUDED.stir_vib_mm_s_min,
            stir_vib_mm_s_max = EXCLUDED.stir_vib_mm_s_max,
            pump_pressure_kpa_avg = EXCLUDED.pump_pressure_kpa_avg,
            pump_pressure_kpa_min = EXCLUDED.pump_pressure_kpa_min,
            pump_pressure_kpa_max = EXCLUDED.pump_pressure_kpa_max,
            dose_flow_ml_s_avg = EXCLUDED.dose_flow_ml_s_avg,
            dose_flow_ml_s_min = EXCLUDED.dose_flow_ml_s_min,
            dose_flow_ml_s_max = EXCLUDED.dose_flow_ml_s_max,
            exhaust_fan_rpm_avg = EXCLUDED.exhaust_fan_rpm_avg,
            exhaust_fan_rpm_min = EXCLUDED.exhaust_fan_rpm_min,
            exhaust_fan_rpm_max = EXCLUDED.exhaust_fan_rpm_max,
            cabinet_temp_c_avg = EXCLUDED.cabinet_temp_c_avg,
            cabinet_temp_c_min = EXCLUDED.cabinet_temp_c_min,
            cabinet_temp_c_max = EXCLUDED.cabinet_temp_c_max,
            n = EXCLUDED.n,
            cycles_total = EXCLUDED.cycles_total,
            heater_hours = EXCLUDED.heater_hours,
            run_hours = EXCLUDED.run_hours,
            err_count = EXCLUDED.err_count;

    INSERT INTO telemetry_1h
    SELECT m.robot_id, date_trunc('hour', m.bucket) AS hb, sum(m.n),
        sum(wok_temp_c_avg * n) / nullif(sum(n) FILTER (WHERE wok_temp_c_avg IS NOT NULL), 0), min(wok_temp_c_min), max(wok_temp_c_max),
        sum(heater_power_w_avg * n) / nullif(sum(n) FILTER (WHERE heater_power_w_avg IS NOT NULL), 0), min(heater_power_w_min), max(heater_power_w_max),
        sum(igbt_temp_c_avg * n) / nullif(sum(n) FILTER (WHERE igbt_temp_c_avg IS NOT NULL), 0), min(igbt_temp_c_min), max(igbt_temp_c_max),
        sum(stir_current_a_avg * n) / nullif(sum(n) FILTER (WHERE stir_current_a_avg IS NOT NULL), 0), min(stir_current_a_min), max(stir_current_a_max),
        sum(stir_rpm_avg * n) / nullif(sum(n) FILTER (WHERE stir_rpm_avg IS NOT NULL), 0), min(stir_rpm_min), max(stir_rpm_max),
        sum(stir_vib_mm_s_avg * n) / nullif(sum(n) FILTER (WHERE stir_vib_mm_s_avg IS NOT NULL), 0), min(stir_vib_mm_s_min), max(stir_vib_mm_s_max),
        sum(pump_pressure_kpa_avg * n) / nullif(sum(n) FILTER (WHERE pump_pressure_kpa_avg IS NOT NULL), 0), min(pump_pressure_kpa_min), max(pump_pressure_kpa_max),
        sum(dose_flow_ml_s_avg * n) / nullif(sum(n) FILTER (WHERE dose_flow_ml_s_avg IS NOT NULL), 0), min(dose_flow_ml_s_min), max(dose_flow_ml_s_max),
        sum(exhaust_fan_rpm_avg * n) / nullif(sum(n) FILTER (WHERE exhaust_fan_rpm_avg IS NOT NULL), 0), min(exhaust_fan_rpm_min), max(exhaust_fan_rpm_max),
        sum(cabinet_temp_c_avg * n) / nullif(sum(n) FILTER (WHERE cabinet_temp_c_avg IS NOT NULL), 0), min(cabinet_temp_c_min), max(cabinet_temp_c_max),
        max(m.cycles_total), max(m.heater_hours), max(m.run_hours), sum(m.err_count)
    FROM telemetry_1m m
    JOIN (SELECT DISTINCT robot_id, date_trunc('hour', bucket) AS hb FROM _dirty_minutes) d
      ON m.robot_id = d.robot_id
     AND m.bucket >= d.hb AND m.bucket < d.hb + interval '1 hour'
    GROUP BY 1, 2
    ON CONFLICT (robot_id, bucket) DO UPDATE SET
            wok_temp_c_avg = EXCLUDED.wok_temp_c_avg,
            wok_temp_c_min = EXCLUDED.wok_temp_c_min,
            wok_temp_c_max = EXCLUDED.wok_temp_c_max,
            heater_power_w_avg = EXCLUDED.heater_power_w_avg,
            heater_power_w_min = EXCLUDED.heater_power_w_min,
            heater_power_w_max = EXCLUDED.heater_power_w_max,
            igbt_temp_c_avg = EXCLUDED.igbt_temp_c_avg,
            igbt_temp_c_min = EXCLUDED.igbt_temp_c_min,
            igbt_temp_c_max = EXCLUDED.igbt_temp_c_max,
            stir_current_a_avg = EXCLUDED.stir_current_a_avg,
            stir_current_a_min = EXCLUDED.stir_current_a_min,
            stir_current_a_max = EXCLUDED.stir_current_a_max,
            stir_rpm_avg = EXCLUDED.stir_rpm_avg,
            stir_rpm_min = EXCLUDED.stir_rpm_min,
            stir_rpm_max = EXCLUDED.stir_rpm_max,
            stir_vib_mm_s_avg = EXCLUDED.stir_vib_mm_s_avg,
            stir_vib_mm_s_min = EXCLUDED.stir_vib_mm_s_min,
            stir_vib_mm_s_max = EXCLUDED.stir_vib_mm_s_max,
            pump_pressure_kpa_avg = EXCLUDED.pump_pressure_kpa_avg,
            pump_pressure_kpa_min = EXCLUDED.pump_pressure_kpa_min,
            pump_pressure_kpa_max = EXCLUDED.pump_pressure_kpa_max,
            dose_flow_ml_s_avg = EXCLUDED.dose_flow_ml_s_avg,
            dose_flow_ml_s_min = EXCLUDED.dose_flow_ml_s_min,
            dose_flow_ml_s_max = EXCLUDED.dose_flow_ml_s_max,
            exhaust_fan_rpm_avg = EXCLUDED.exhaust_fan_rpm_avg,
            exhaust_fan_rpm_min = EXCLUDED.exhaust_fan_rpm_min,
            exhaust_fan_rpm_max = EXCLUDED.exhaust_fan_rpm_max,
            cabinet_temp_c_avg = EXCLUDED.cabinet_temp_c_avg,
            cabinet_temp_c_min = EXCLUDED.cabinet_temp_c_min,
            cabinet_temp_c_max = EXCLUDED.cabinet_temp_c_max,
            n = EXCLUDED.n,
            cycles_total = EXCLUDED.cycles_total,
            heater_hours = EXCLUDED.heater_hours,
            run_hours = EXCLUDED.run_hours,
            err_count = EXCLUDED.err_count;

    UPDATE rollup_watermark SET upto = hi WHERE name = 'telemetry';
    RETURN touched;
END $$;

CREATE OR REPLACE FUNCTION aic_refresh_rollups(p_lag interval DEFAULT interval '30 seconds')
RETURNS integer LANGUAGE sql AS $$ SELECT aic_refresh_rollups_upto(now() - p_lag) $$;
