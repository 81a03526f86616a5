-- API users: staff sign in with a password (argon2 hash); HQ viewers are staff too.
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check
    CHECK (role IN ('manager', 'lead', 'technician', 'engineer', 'viewer', 'admin'));
ALTER TABLE staff DROP CONSTRAINT staff_check;
ALTER TABLE staff ADD CONSTRAINT staff_region_for_field_roles
    CHECK (role IN ('manager', 'engineer', 'viewer', 'admin') OR region IS NOT NULL);

CREATE TABLE staff_credentials (
    staff_id        text PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    password_hash   text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
