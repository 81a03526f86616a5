-- Consultations (咨询, chapter 1): a customer's question answered, recorded with the answer
-- (客户咨询和投诉…作好记录). Not a work order: it is not a repair and is not counted as one.
CREATE TABLE consultations (
    id          bigserial PRIMARY KEY,
    customer_id text NOT NULL REFERENCES customers (id),
    region      text NOT NULL REFERENCES regions (code),
    robot_id    text REFERENCES robots (robot_id),
    at          timestamptz NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('phone', 'wechat', 'email', 'walk_in')),
    question    text NOT NULL CHECK (length(question) > 0),
    answer      text NOT NULL CHECK (length(answer) > 0),
    staff_id    text NOT NULL REFERENCES staff (id)
);
CREATE INDEX consultations_region_at ON consultations (region, at);
GRANT SELECT, INSERT ON consultations TO aic_api;
GRANT USAGE, SELECT ON SEQUENCE consultations_id_seq TO aic_api;
ALTER TABLE consultations ENABLE ROW LEVEL SECURITY;
CREATE POLICY consultations_region ON consultations USING (aic_region_visible(region))
    WITH CHECK (aic_region_visible(region));
