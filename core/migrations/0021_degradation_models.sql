-- Issue 21: time to failure from a degradation model per fault kind (analytics/ttf.py).
-- Besides the failure level and the trend power, aic models fit-levels now fits the
-- indicator's saturation (h / (1 + h / A): readings that explode as a component's
-- conductance goes), the number of windows the trend is fitted over, and the interval's
-- calibrated early / late factors (10th / 90th percentile of actual over predicted time
-- left on the labelled history), with the model's median relative error on it.
ALTER TABLE failure_levels
    ADD COLUMN saturation    double precision CHECK (saturation > 0),
    ADD COLUMN trend_windows integer NOT NULL DEFAULT 10 CHECK (trend_windows >= 4),
    ADD COLUMN early_ratio   double precision CHECK (early_ratio > 0),
    ADD COLUMN late_ratio    double precision CHECK (late_ratio > 0),
    ADD COLUMN fit_error     double precision;
