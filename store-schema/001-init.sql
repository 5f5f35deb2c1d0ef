-- The store database. A path is valid iff its row is in ValidPaths (Invariant 1).

CREATE TABLE Meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE ValidPaths (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  path             TEXT UNIQUE NOT NULL,
  narHash          TEXT NOT NULL,          -- SRI, sha256 of the canonical archive
  narSize          INTEGER NOT NULL,
  registrationTime INTEGER NOT NULL,       -- seconds since the epoch
  deriver          TEXT,                   -- the .drv that produced it, if known
  ca               TEXT,                   -- content address ('nar:<sri>', 'text:<sri>', 'flat:<sri>')
  sigs             TEXT NOT NULL DEFAULT '', -- space-separated 'keyname:base64'
  ultimate         INTEGER NOT NULL DEFAULT 0 -- 1 if built (or added) here, 0 if copied in
) STRICT;

CREATE TABLE Refs (
  referrer  INTEGER NOT NULL REFERENCES ValidPaths(id) ON DELETE CASCADE,
  reference INTEGER NOT NULL REFERENCES ValidPaths(id) ON DELETE RESTRICT,
  PRIMARY KEY (referrer, reference)
) STRICT, WITHOUT ROWID;

CREATE INDEX IndexReference ON Refs(reference);

-- A self-reference must not stop its own path from being deleted.
CREATE TRIGGER DeleteSelfRefs BEFORE DELETE ON ValidPaths
BEGIN
  DELETE FROM Refs WHERE referrer = old.id AND reference = old.id;
END;

-- Outputs of registered .drv files: drv row, output name, output path (valid or not).
CREATE TABLE DerivationOutputs (
  drv  INTEGER NOT NULL REFERENCES ValidPaths(id) ON DELETE CASCADE,
  id   TEXT NOT NULL,
  path TEXT NOT NULL,
  PRIMARY KEY (drv, id)
) STRICT;

CREATE INDEX IndexDerivationOutputs ON DerivationOutputs(path);
