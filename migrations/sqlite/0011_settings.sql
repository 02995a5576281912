-- Settings an admin changed in the console, over the command line's values (see
-- domain::settings). A missing row means the command line's value is in force.
CREATE TABLE settings (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
