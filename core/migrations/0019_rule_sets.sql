-- Threshold rules as versioned data (issue 21): engineers load a rules file with
-- `aic models rules load FILE`; live scoring uses the active set, or the file shipped
-- in the package while none is loaded. Anomalies record `rules/<version>`.
CREATE TABLE rule_sets (
    version    integer PRIMARY KEY CHECK (version > 0),
    body       jsonb NOT NULL,
    source     text,
    loaded_by  text,
    loaded_at  timestamptz NOT NULL,
    active     boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX rule_sets_one_active ON rule_sets (active) WHERE active;
