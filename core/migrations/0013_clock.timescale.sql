-- One clock (TimescaleDB): the same maintenance API as the plain variant, bounded by the
-- caller's clock. Continuous aggregates cannot be refreshed inside a function (their
-- refresh must run outside a transaction), so this returns the days whose rows arrived
-- after the last refresh and up to p_upto — late data included, however old — with the
-- robot-minutes they touched; core/maintenance.py refreshes exactly those days with
-- refresh_continuous_aggregate() and then advances the watermark. The policies still
-- refresh the recent days on their own.
CREATE TABLE rollup_watermark (
    name        text PRIMARY KEY,
    upto        timestamptz NOT NULL
);
INSERT INTO rollup_watermark VALUES ('telemetry', '-infinity');
CREATE INDEX telemetry_received_brin ON telemetry USING brin (received_at);

CREATE FUNCTION aic_rollup_dirty_days(p_upto timestamptz)
RETURNS TABLE (day_start timestamptz, minutes bigint) LANGUAGE sql STABLE AS $$
    SELECT time_bucket(interval '1 day', t.ts),
           count(DISTINCT (t.robot_id, time_bucket(interval '1 minute', t.ts)))
    FROM telemetry t, rollup_watermark w
    WHERE w.name = 'telemetry' AND t.received_at > w.upto AND t.received_at <= p_upto
    GROUP BY 1 ORDER BY 1
$$;

-- The plain variant's name, for people calling it from SQL: on TimescaleDB the policies
-- and `aic db maintain` do the refresh.
CREATE FUNCTION aic_refresh_rollups_upto(p_upto timestamptz)
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
