-- Fault models per robot model *and firmware version*: firmware NULL = every version of the
-- model that has no model of its own. One active model per (name, robot model, firmware).
ALTER TABLE fault_models ADD COLUMN firmware text;
DROP INDEX fault_models_one_active;
CREATE UNIQUE INDEX fault_models_one_active
    ON fault_models (name, robot_model, coalesce(firmware, '')) WHERE active;
