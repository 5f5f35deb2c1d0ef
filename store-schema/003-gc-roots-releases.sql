-- Garbage collection: temporary roots of running processes, and named releases.

-- Paths a running process relies on: the outputs, .drv files and sources of a realize in
-- progress, a path being added or imported. A process adds its rows BEFORE it checks that
-- a path is valid; the collector re-reads them inside the write transaction that deletes a
-- path, so the database write lock orders the two. Rows of a process that is gone (pid not
-- running, or running with another start time) are ignored, and removed by `store gc`.
-- `session` tells apart several open stores of one process, each releasing only its own.
CREATE TABLE TempRoots (
  path      TEXT NOT NULL,
  pid       INTEGER NOT NULL,
  procStart TEXT NOT NULL,
  session   INTEGER NOT NULL,
  PRIMARY KEY (path, pid, procStart, session)
) STRICT, WITHOUT ROWID;

CREATE INDEX TempRootsByOwner ON TempRoots(pid, procStart, session);

-- Named releases (`store release add NAME FILE`): each keeps its outputs alive until it is
-- removed; deprecating one only marks it.
CREATE TABLE Releases (
  name       TEXT PRIMARY KEY NOT NULL,
  source     TEXT,                    -- the expression file (and attribute) or store path it came from
  created    INTEGER NOT NULL,        -- seconds since the epoch
  deprecated INTEGER                  -- when it was deprecated, or NULL
) STRICT;

-- The store paths a release keeps alive. The foreign key makes the database itself refuse to
-- invalidate a path that a release still names.
CREATE TABLE ReleaseOutputs (
  release TEXT NOT NULL REFERENCES Releases(name) ON DELETE CASCADE,
  path    TEXT NOT NULL REFERENCES ValidPaths(path) ON DELETE RESTRICT,
  drvPath TEXT,
  attr    TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (release, path)
) STRICT;

CREATE INDEX ReleaseOutputsByPath ON ReleaseOutputs(path);
