-- One clock (TimescaleDB): the same maintenance API as the plain variant. The
-- continuous-aggregate policies refresh the rollups on TimescaleDB's own schedule.
CREATE FUNCTION aic_refresh_rollups_upto(p_upto timestamptz)
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
