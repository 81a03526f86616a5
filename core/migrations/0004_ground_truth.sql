-- Faults injected by the simulator (firmware_sim): the ground truth fault models are scored on.
CREATE TABLE fault_ground_truth (
    run_id      text NOT NULL,
    robot_id    text NOT NULL,
    kind        text NOT NULL,
    component   text NOT NULL,
    error_code  text NOT NULL,
    onset       timestamptz NOT NULL,
    failure     timestamptz NOT NULL,
    seed        integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, robot_id, kind)
);
CREATE INDEX fault_ground_truth_robot ON fault_ground_truth (robot_id, onset);
