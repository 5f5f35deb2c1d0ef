/** Headless Chromium for tests: a page's screenshot, decoded, to count what it shows. */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PNG } from 'pngjs';

/** The Chromium binary (Debian's `chromium`), or undefined when it is not installed. */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
      const p = path.join(dir, name);
      if (fs.existsSync(p)) return p;
    }
  }
  return undefined;
}

/** A screenshot of `file` (an .html or .svg) at width × height, decoded. */
export function screenshot(chromium: string, file: string, out: string, width = 1600, height = 1200): PNG {
  const profile = fs.mkdtempSync(path.join(path.dirname(out), 'chromium-profile-'));
  const r = spawnSync(
    chromium,
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${profile}`, `--window-size=${width},${height}`, `--screenshot=${out}`, `file://${file}`],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, HOME: profile } },
  );
  if (!fs.existsSync(out)) throw new Error(`chromium made no screenshot (status ${r.status}): ${r.stderr}`);
  return PNG.sync.read(fs.readFileSync(out));
}

/** How many pixels `is` holds for. */
export function countPixels(png: PNG, is: (r: number, g: number, b: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) if (is(png.data[i], png.data[i + 1], png.data[i + 2])) n++;
  return n;
}

/** How many pixels are within `tolerance` (per channel) of the colour '#rrggbb'. */
export function pixelsOf(png: PNG, colour: string, tolerance = 24): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
  return countPixels(png, (x, y, z) => Math.abs(x - r) <= tolerance && Math.abs(y - g) <= tolerance && Math.abs(z - b) <= tolerance);
}

/** The colour of the frames of `store graph`'s boxes. */
const BOX_FRAME = '#64748b';

/** The root's box in `store graph`'s pictures: the most saturated blue (it keeps all of the closure alive). */
const isRootBlue = (r: number, g: number, b: number) => b > 180 && r < 120 && g > 90 && g < 180;

/** What a screenshot shows of `store graph`'s boxes: pixels of their frames, and of the root's box. */
export function graphPixels(png: PNG): { frames: number; rootBox: number } {
  return { frames: pixelsOf(png, BOX_FRAME, 30), rootBox: countPixels(png, isRootBlue) };
}
