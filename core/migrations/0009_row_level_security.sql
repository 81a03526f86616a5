-- Row-level security: a backstop under the API's own region filter.
-- The API switches each request's transaction to the role aic_api (which owns no
-- table, so policies apply) and sets aic.region for leads and technicians.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aic_api') THEN
        CREATE ROLE aic_api NOLOGIN;
    END IF;
END $$;
GRANT aic_api TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO aic_api;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO aic_api;
GRANT UPDATE ON fault_models TO aic_api;
GRANT INSERT, UPDATE ON anomalies, work_orders, work_order_events, task_completions, callbacks,
    alerts, notifications TO aic_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO aic_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO aic_api;

CREATE FUNCTION aic_region_visible(p_region text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('aic.region', true), '') IN ('', p_region)
$$;

ALTER TABLE sites ENABLE ROW LEVEL SECURITY;
CREATE POLICY sites_region ON sites USING (aic_region_visible(region));

ALTER TABLE work_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY work_orders_region ON work_orders USING (aic_region_visible(region))
    WITH CHECK (aic_region_visible(region));

ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY alerts_region ON alerts USING (region IS NULL OR aic_region_visible(region));

ALTER TABLE robots ENABLE ROW LEVEL SECURITY;
CREATE POLICY robots_region ON robots USING (
    EXISTS (SELECT 1 FROM sites s WHERE s.id = robots.site_id));

ALTER TABLE anomalies ENABLE ROW LEVEL SECURITY;
CREATE POLICY anomalies_region ON anomalies USING (
    EXISTS (SELECT 1 FROM robots r WHERE r.robot_id = anomalies.robot_id));
