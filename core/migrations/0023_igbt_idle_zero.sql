-- Issue 21: a firmware update that moves the IGBT reading by a constant (a fan-curve or
-- calibration offset) moved the cooling indicator, (IGBT - cabinet) / kW, by offset / kW,
-- and the cross-version bridge — a ratio — under-read a cooling fault degrading across
-- such an update. The heater-off (idle) readings measure that offset directly: with no
-- power the IGBT sits at the cabinet's temperature plus the offset. Each hour keeps the kW
-- of every cooling value and the idle IGBT-over-cabinet readings; each window its idle
-- zero and median kW, and scoring takes the rise over the firmware version's zero per kW
-- (analytics.segments.zero_igbt).
ALTER TABLE feature_hours
    ADD COLUMN igbt_kw double precision[],    -- parallel to igbt_rise_per_kw
    ADD COLUMN igbt_idle double precision[];  -- IGBT - cabinet, heater off, idle
ALTER TABLE robot_features
    ADD COLUMN igbt_idle_rise double precision,  -- median IGBT - cabinet, heater off
    ADD COLUMN igbt_kw double precision;         -- median kW of the cooling values
