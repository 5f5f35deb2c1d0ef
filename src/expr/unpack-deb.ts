/**
 * `unpackDeb`: the data archives of Debian packages (`.deb` files) extracted into one tree, laid
 * out as dpkg would lay them out below `/` — nothing merged, relocated or otherwise changed.
 * Made by `builtin:unpack-deb` (src/realize/unpack-deb.ts) inside hepstore, with no host program,
 * so the first step of a bootstrap depends on nothing of the host.
 */
import { StoreError } from '../errors.js';
import { builtinEnv, UNPACK_DEB } from '../derivation/builtins.js';
import { derivation, isDrv, type Drv } from './drv.js';
import { SourcePath } from './path.js';

export interface UnpackDebArgs {
  name: string;
  /** The .deb files (fixed-output fetches, or path(...) sources), unpacked in this order. */
  debs: Array<Drv | SourcePath>;
  meta?: Record<string, unknown>;
}

export function unpackDeb(a: UnpackDebArgs): Drv {
  if (!a || typeof a.name !== 'string') throw new StoreError('EVAL', 'unpackDeb needs a name');
  if (!Array.isArray(a.debs) || a.debs.length === 0) throw new StoreError('EVAL', `unpackDeb '${a.name}' needs debs: a non-empty array of .deb files`);
  const debs: string[] = [];
  a.debs.forEach((d, i) => {
    if (!isDrv(d) && !(d instanceof SourcePath)) {
      throw new StoreError('EVAL', `unpackDeb '${a.name}': debs[${i}] is not a derivation or a path`, { hint: 'give fetchurl(...) derivations or path(...) sources of .deb files' });
    }
    const p = d.toString();
    if (!debs.includes(p)) debs.push(p);
  });
  const drv = derivation({ name: a.name, builder: UNPACK_DEB.builder, env: { debs, ...builtinEnv(UNPACK_DEB) } });
  if (a.meta) drv.meta = { ...a.meta };
  return drv;
}
