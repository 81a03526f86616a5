-- Ingest bookkeeping: last-known state per robot and seq gaps.

-- One row per robot that has sent anything: latest reading, last seen, online flag
-- (from the retained status topic and the robot's last will), highest seq.
CREATE TABLE robot_state (
    robot_id            text PRIMARY KEY,
    max_seq             bigint,
    last_ts             timestamptz,
    last_seen           timestamptz,
    state               text,
    fw                  text,
    recipe              text,
    measurements        jsonb,
    cycles_total        bigint,
    heater_hours        double precision,
    run_hours           double precision,
    err                 text[],
    online              boolean,
    online_changed_at   timestamptz,
    status_ts           timestamptz
);

-- Missing seq ranges per robot. seq is one counter per robot over telemetry and
-- events. A gap is opened when seq jumps and closed when late data fills it.
CREATE TABLE seq_gaps (
    robot_id    text NOT NULL,
    seq_from    bigint NOT NULL,
    seq_to      bigint NOT NULL,
    missing     bigint NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz,
    PRIMARY KEY (robot_id, seq_from),
    CHECK (seq_to >= seq_from),
    CHECK (missing BETWEEN 0 AND seq_to - seq_from + 1)
);
CREATE INDEX seq_gaps_open ON seq_gaps (robot_id) WHERE closed_at IS NULL;
