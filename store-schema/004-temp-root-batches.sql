-- Temporary roots as one row per batch instead of one row per path: a realize of a large
-- graph roots tens of thousands of paths, and one row (written and deleted as a whole) costs
-- far less than an index entry for each. Same protocol as before (003): a process adds its
-- batch BEFORE it checks that those paths are valid; the collector re-reads all batches of
-- live processes inside the write transaction that deletes a path; rows of a process that is
-- gone are ignored, and removed by `store gc`.
CREATE TABLE TempRootBatches (
  id        INTEGER PRIMARY KEY,
  pid       INTEGER NOT NULL,
  procStart TEXT NOT NULL,
  session   INTEGER NOT NULL,
  paths     TEXT NOT NULL            -- store paths, one per line
) STRICT;

-- Rows of processes that run while the store is upgraded keep protecting their paths.
INSERT INTO TempRootBatches (pid, procStart, session, paths)
  SELECT pid, procStart, session, group_concat(path, char(10)) FROM TempRoots GROUP BY pid, procStart, session;

DROP TABLE TempRoots;
ALTER TABLE TempRootBatches RENAME TO TempRoots;
CREATE INDEX TempRootsByOwner ON TempRoots(pid, procStart, session);
