-- The dashboard's language, remembered per staff member (NULL: by role — Chinese for
-- leads and technicians, English for engineers).
ALTER TABLE staff ADD COLUMN lang text CHECK (lang IN ('zh', 'en'));
GRANT UPDATE (lang) ON staff TO aic_api;
