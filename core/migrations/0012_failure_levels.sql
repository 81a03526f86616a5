-- Failure levels of the health indicators fitted from labelled history (aic models
-- fit-levels): the relative deviation from baseline at which faults of a kind failed.
-- Time-to-failure uses them instead of the defaults in analytics/components.py.
CREATE TABLE failure_levels (
    kind            text PRIMARY KEY,
    level           double precision NOT NULL CHECK (level > 0),
    n_faults        integer NOT NULL CHECK (n_faults > 0),
    spread_low      double precision,
    spread_high     double precision,
    fitted_from     text NOT NULL,     -- run id(s) of the labelled history
    fitted_at       timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON failure_levels TO aic_api;
