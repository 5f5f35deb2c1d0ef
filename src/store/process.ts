/** Identity of a process that survives pid reuse: its pid and its start time from /proc. */
import fs from 'node:fs';

export interface ProcessId {
  pid: number;
  start: string;
}

/** Start time (clock ticks since boot) of a running process, or undefined if it is gone. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses; fields after the last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

let self: ProcessId | undefined;

export function thisProcess(): ProcessId {
  self ??= { pid: process.pid, start: processStart(process.pid) ?? String(Date.now()) };
  return self;
}

export function isAlive(p: ProcessId): boolean {
  if (p.pid === process.pid) return p.start === thisProcess().start;
  return processStart(p.pid) === p.start;
}

/**
 * Work files that a process leaves in the store's var/ while it runs (build directories, push
 * staging files) carry its identity in their names: `<label>@<pid>.<start>.<random>`. A
 * killed process cannot remove them; `store gc` removes those whose owner is gone.
 */
export function ownedName(label: string): string {
  const me = thisProcess();
  return `${label}@${me.pid}.${me.start}.`;
}

const OWNED = /@(\d+)\.(\d+)\.[A-Za-z0-9]+$/;

/** The process that made a name of ownedName() (with its random tail), if it is one. */
export function ownerOf(name: string): ProcessId | undefined {
  const m = OWNED.exec(name);
  return m ? { pid: Number(m[1]), start: m[2] } : undefined;
}
