-- How many firmware versions reported in a feature window (issue 21). A window in which an
-- update landed mixes two versions' behaviour: scoring leaves it out of both versions'
-- baselines and tests instead of judging the new behaviour against the old baseline.
ALTER TABLE robot_features ADD COLUMN fw_versions smallint NOT NULL DEFAULT 1;
