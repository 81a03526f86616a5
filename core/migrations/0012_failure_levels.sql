-- Failure levels of the health indicators fitted from labelled history (aic models
-- fit-levels): the relative deviation from baseline at which faults of a kind failed.
-- Time-to-failure uses them instead of the defaults in analytics/components.py, and
-- the trend power (health ** power is fitted as linear in time) that predicted best.
CREATE TABLE failure_levels (
    kind            text PRIMARY KEY,
    level           double precision NOT NULL CHECK (level > 0),
    n_faults        integer NOT NULL CHECK (n_faults > 0),
    spread_low      double precision,
    spread_high     double precision,
    trend_power     double precision NOT NULL DEFAULT 0.5 CHECK (trend_power > 0),
    fitted_from     text NOT NULL,     -- run id(s) of the labelled history
    fitted_at       timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON failure_levels TO aic_api;
