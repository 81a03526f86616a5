-- Issue 21: the wok sensor's day-to-day noise is the day's recipe mix. Dishes differ by
-- -7 ... +6 % in heater power per degree (the same on every robot), so a window's median
-- moves with what was cooked (bench.indicators --recipe-mix). Each hour now keeps the
-- recipe of every power-per-degree value, and each window its per-recipe medians; a
-- robot's windows are judged recipe by recipe against its own baseline
-- (analytics.segments.condition_on_recipe).
ALTER TABLE feature_hours ADD COLUMN ppd_recipe text[];  -- parallel to power_per_degree
ALTER TABLE robot_features ADD COLUMN ppd_by_recipe jsonb;  -- {recipe: median power per degree}
