-- Locks on store paths being built, held by live processes. A row whose process is gone
-- (pid not running, or running with another start time) is stale and may be taken over.
CREATE TABLE PathLocks (
  path      TEXT PRIMARY KEY NOT NULL,
  pid       INTEGER NOT NULL,
  procStart TEXT NOT NULL,
  acquired  INTEGER NOT NULL
) STRICT;
