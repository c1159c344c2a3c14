#!/usr/bin/env node
// Plays an lms-media HLS ladder in headless Chromium with hls.js (MSE) and prints one JSON verdict.
//
//   node tests/browser/play.mjs <ladder-dir> [--timeout-seconds N] [--playback-rate R]
//
// Exit codes: 0 the ladder played (ok), 1 it did not (see "reasons"), 2 the harness itself failed (bad
// arguments, node_modules missing, Chromium did not start, hls.js did not load...). See README.md.
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const CUE_TIME_TOLERANCE = 0.25; // seconds between a cue's time in the .vtt and on the TextTrack

const MIME = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
  '.m4a': 'audio/mp4',
  '.vtt': 'text/vtt; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
};

function emit(result, code) {
  result.seconds = Math.round((Date.now() - started) / 100) / 10;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = code;
}

function harnessFailure(message, extra = {}) {
  return { ok: false, harnessError: message, reasons: [`harness: ${message}`], ...extra };
}

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node tests/browser/play.mjs <ladder-dir> [--timeout-seconds N] [--playback-rate R] [--sampled] [--verbose]\n`,
  );
  emit(harnessFailure(message), 2);
}

// ---------------------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const args = { ladder: null, timeoutSeconds: 120, playbackRate: 4, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const [flag, inline] = arg.split('=', 2);
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    if (arg.startsWith('--timeout-seconds')) args.timeoutSeconds = Number(value());
    else if (arg.startsWith('--playback-rate')) args.playbackRate = Number(value());
    else if (arg === '--verbose') args.verbose = true;
    else if (arg === '--sampled') args.sampled = true;
    else if (arg === '-h' || arg === '--help') throw new Error('help');
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else if (args.ladder === null) args.ladder = arg;
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (!args.ladder) throw new Error('missing <ladder-dir>');
  if (!(args.timeoutSeconds >= 10)) throw new Error('--timeout-seconds must be a number >= 10');
  if (!(args.playbackRate >= 0.5 && args.playbackRate <= 16)) throw new Error('--playback-rate must be in [0.5, 16]');
  return args;
}

// ---------------------------------------------------------------------------------------------------------
// What the subtitle files say, to compare with the cues that reach the TextTracks.

function vttSeconds(stamp) {
  const parts = stamp.trim().split(':').map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

function normalizeCueText(text) {
  return text
    .replace(/<[^>]*>/g, '')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function parseVtt(body) {
  const cues = [];
  const blocks = body.replace(/\r\n?/g, '\n').split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l !== '');
    const timing = lines.findIndex((l) => l.includes('-->'));
    if (timing < 0) continue;
    const [start, rest] = lines[timing].split('-->');
    const end = rest.trim().split(/\s+/)[0];
    cues.push({ start: vttSeconds(start), end: vttSeconds(end), text: normalizeCueText(lines.slice(timing + 1).join('\n')) });
  }
  return cues;
}

function playlistUris(body) {
  return body
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function attribute(line, name) {
  const match = new RegExp(`(?:^|[:,])${name}=(?:"([^"]*)"|([^,]*))`).exec(line);
  return match ? (match[1] ?? match[2]) : undefined;
}

// { "<absolute http url of a .vtt>": [cues] } and the subtitle renditions the master declares.
function readSubtitleFiles(ladder, baseUrl) {
  const files = {};
  const renditions = [];
  let master;
  try {
    master = readFileSync(join(ladder, 'master.m3u8'), 'utf8');
  } catch {
    return { files, renditions };
  }
  for (const line of master.split(/\r?\n/)) {
    if (!line.startsWith('#EXT-X-MEDIA:') || attribute(line, 'TYPE') !== 'SUBTITLES') continue;
    const uri = attribute(line, 'URI');
    renditions.push({ lang: attribute(line, 'LANGUAGE') || '', name: attribute(line, 'NAME') || '', uri });
    if (!uri) continue;
    const playlistUrl = new URL(uri, baseUrl);
    let playlist;
    try {
      playlist = readFileSync(join(ladder, decodeURIComponent(playlistUrl.pathname.slice(new URL(baseUrl).pathname.length))), 'utf8');
    } catch {
      continue;
    }
    for (const segment of playlistUris(playlist)) {
      const url = new URL(segment, playlistUrl).href;
      try {
        files[url] = parseVtt(readFileSync(join(ladder, decodeURIComponent(new URL(url).pathname.slice(new URL(baseUrl).pathname.length))), 'utf8'));
      } catch {
        files[url] = null; // missing or unreadable: the player will say so
      }
    }
  }
  return { files, renditions };
}

// ---------------------------------------------------------------------------------------------------------
// Static server: the page, hls.js, and the ladder under /ladder/.

function startServer(ladder, hlsDist, requests) {
  const pageHtml = (config) => `<!doctype html>
<html><head><meta charset="utf-8"><title>lms-media playback check</title></head>
<body><video id="video" muted playsinline width="640" height="360"></video>
<script>window.__config = ${JSON.stringify(config)};</script>
<script src="/hls.js"></script>
<script src="/page.js"></script>
</body></html>`;
  let config = {};
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    let file = null;
    const path = decodeURIComponent(url.pathname);
    if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (path === '/' || path === '/index.html') {
      const body = pageHtml(config);
      res.writeHead(200, { 'content-type': MIME['.html'], 'cache-control': 'no-store' });
      res.end(body);
      return;
    } else if (path === '/hls.js') {
      file = hlsDist;
    } else if (path === '/page.js') {
      file = join(here, 'page.js');
    } else if (path.startsWith('/ladder/')) {
      const candidate = resolve(ladder, `.${path.slice('/ladder'.length)}`);
      if (candidate === ladder || candidate.startsWith(ladder + sep)) file = candidate;
    }
    const record = path.startsWith('/ladder/') ? { path, status: 0 } : null;
    const fail = (status) => {
      if (record) requests.push({ ...record, status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`${status}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405);
    let stat;
    try {
      stat = file && statSync(file);
    } catch {
      stat = null;
    }
    if (!stat || !stat.isFile()) return fail(404);
    const headers = {
      'content-type': MIME[extname(file).toLowerCase()] || 'application/octet-stream',
      'cache-control': 'no-store',
      'accept-ranges': 'bytes',
    };
    let start = 0;
    let end = stat.size - 1;
    let status = 200;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
    if (range && (range[1] || range[2])) {
      if (range[1]) {
        start = Number(range[1]);
        if (range[2]) end = Math.min(Number(range[2]), end);
      } else {
        start = Math.max(0, stat.size - Number(range[2]));
      }
      if (start > end) {
        res.setHeader('content-range', `bytes */${stat.size}`);
        return fail(416);
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${stat.size}`;
    }
    headers['content-length'] = stat.size === 0 ? 0 : end - start + 1;
    if (record) requests.push({ ...record, status });
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || stat.size === 0) return res.end();
    createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolvePromise({
        server,
        port: server.address().port,
        setConfig: (c) => {
          config = c;
        },
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// The verdict.

function judge(check, subtitles, requests, args) {
  const reasons = [];
  const httpErrors = requests.filter((r) => r.status >= 400);
  const levels = check.levels.map((l) => ({
    height: l.height,
    width: l.width,
    bitrate: l.bitrate,
    codecs: l.codecs,
    // Played: fragments of the level were loaded, played, and the decoder put out frames of its height.
    played: l.played && l.decodedDeclaredHeight,
    decodedDeclaredHeight: l.decodedDeclaredHeight,
    levelSwitched: l.switchedTo,
    fragsLoaded: l.fragsLoaded,
    playedSeconds: l.playedSeconds,
    decodedHeights: l.decodedHeights,
  }));
  if (!levels.length) reasons.push('no level (rung) was parsed from master.m3u8');
  for (const l of check.levels) {
    if (l.played && !l.decodedDeclaredHeight) {
      reasons.push(`level ${l.height}p played, but its frames were ${l.decodedHeights.join('/') || 'never'} high, not ${l.height}`);
    }
    if (!l.played) {
      reasons.push(
        `level ${l.height}p (${l.bitrate} b/s) did not play: ${l.fragsLoaded} fragment(s) loaded, ${l.playedSeconds} s played`,
      );
    }
  }

  const subtitleTracks = check.subtitleTracks.map((track, index) => {
    const seen = track.cues.map((c) => ({ ...c, norm: normalizeCueText(c.text) }));
    const expected = [];
    for (const url of track.fragsLoaded) expected.push(...(subtitles.files[url] || []));
    const matches = (a, b) => a.text === b.norm && Math.abs(a.start - b.start) <= CUE_TIME_TOLERANCE;
    const missing = [];
    for (const cue of expected) {
      if (!seen.some((s) => matches(cue, s)) && !missing.some((m) => m.text === cue.text && m.start === cue.start)) {
        missing.push(cue);
      }
    }
    const allFileCues = Object.values(subtitles.files).flatMap((cues) => cues || []);
    const unknown = seen.filter((s) => !allFileCues.some((c) => c.text === s.norm));
    const misplaced = seen.filter(
      (s) => allFileCues.some((c) => c.text === s.norm) && !allFileCues.some((c) => matches(c, s)),
    );
    const rendition = subtitles.renditions[index];
    const out = {
      lang: track.lang,
      name: track.name,
      cuesSeen: track.cues.length,
      sampleCue: track.cues[0] ? track.cues[0].text : null,
      fragsLoaded: track.fragsLoaded.length,
    };
    if (missing.length) out.missingCues = missing;
    if (unknown.length) out.unknownCues = unknown.map(({ norm, ...c }) => c);
    if (misplaced.length) out.misplacedCues = misplaced.map(({ norm, ...c }) => c);
    if (!track.cues.length) reasons.push(`subtitle track ${track.lang} "${track.name}": no cue reached the TextTrack`);
    if (missing.length) {
      reasons.push(`subtitle track ${track.lang}: ${missing.length} cue(s) of the loaded .vtt segments never showed, e.g. "${missing[0].text}"`);
    }
    if (unknown.length) reasons.push(`subtitle track ${track.lang}: ${unknown.length} cue(s) whose text is in no .vtt file`);
    if (misplaced.length) {
      reasons.push(
        `subtitle track ${track.lang}: ${misplaced.length} cue(s) off by more than ${CUE_TIME_TOLERANCE} s from their .vtt time, e.g. "${misplaced[0].text}" at ${misplaced[0].start} s`,
      );
    }
    if (rendition && (rendition.lang !== track.lang || rendition.name !== track.name)) {
      reasons.push(`subtitle track ${index}: hls.js lists ${track.lang}/"${track.name}", master.m3u8 says ${rendition.lang}/"${rendition.name}"`);
    }
    return out;
  });
  if (subtitles.renditions.length !== check.subtitleTracks.length) {
    reasons.push(
      `master.m3u8 declares ${subtitles.renditions.length} subtitle rendition(s), hls.js lists ${check.subtitleTracks.length}`,
    );
  }

  if (!check.ended) reasons.push(`playback did not reach the end (stopped in phase "${check.stoppedIn}" at ${check.stoppedAt} s)`);
  // "Really played": the played ranges must cover the timeline (continuous mode only; sampled mode
  // plays a slice of every fragment instead).
  const playedSeconds = check.playedRanges.reduce((sum, [a, b]) => sum + (b - a), 0);
  const coverage = check.duration > 0 ? playedSeconds / check.duration : 0;
  if (check.mode === 'continuous' && check.ended && coverage < 0.95) {
    reasons.push(`only ${Math.round(coverage * 100)} % of the timeline was played (ranges ${JSON.stringify(check.playedRanges)})`);
  }
  for (const e of check.fatalErrors) {
    reasons.push(`fatal error ${e.type}/${e.details}${e.httpStatus ? ` (HTTP ${e.httpStatus})` : ''}${e.frag ? ` on ${e.frag.url}` : e.url ? ` on ${e.url}` : ''}${e.reason ? `: ${e.reason}` : e.message ? `: ${e.message}` : ''}`);
  }
  if (httpErrors.length) {
    const counts = {};
    for (const r of httpErrors) counts[`${r.status} ${r.path}`] = (counts[`${r.status} ${r.path}`] || 0) + 1;
    const list = Object.entries(counts).map(([k, n]) => (n > 1 ? `${k} (x${n})` : k));
    reasons.push(`HTTP errors for ladder files: ${list.join(', ')}`);
  }
  if (check.videoElementError && !check.fatalErrors.some((e) => e.type === 'videoElement')) {
    reasons.push(`video.error: ${check.videoElementError.code} ${check.videoElementError.message}`);
  }
  for (const note of check.notes) reasons.push(note);
  const nonFatal = check.errors.filter((e) => !e.fatal);
  if (nonFatal.length) {
    const counts = {};
    for (const e of nonFatal) {
      const where = e.frag ? e.frag.url : e.url;
      const key = `${e.details}${where ? ` on ${new URL(where).pathname.replace(/^\/ladder\//, '')}` : ''}`;
      counts[key] = (counts[key] || 0) + 1;
    }
    reasons.push(`non-fatal hls.js errors: ${Object.entries(counts).map(([k, n]) => `${k} x${n}`).join(', ')}`);
  }
  if (check.harnessError) reasons.push(`page: ${check.harnessError}`);

  const failed =
    !levels.length ||
    levels.some((l) => !l.played) ||
    subtitleTracks.some((t) => !t.cuesSeen || t.missingCues || t.unknownCues || t.misplacedCues) ||
    subtitles.renditions.length !== check.subtitleTracks.length ||
    reasons.some((r) => r.startsWith('subtitle track') && r.includes('hls.js lists')) ||
    !check.ended ||
    (check.mode === 'continuous' && coverage < 0.95) ||
    check.fatalErrors.length > 0 ||
    httpErrors.length > 0 ||
    !!check.videoElementError;

  return {
    ok: !failed,
    reasons: failed ? reasons : [],
    levels,
    subtitleTracks,
    audioTracks: check.audioTracks,
    ended: check.ended,
    duration: check.duration,
    mode: check.mode,
    playbackRate: args.playbackRate,
    playedRanges: check.playedRanges,
    errors: check.errors,
    fatalErrors: check.fatalErrors,
    videoError: check.videoElementError,
    httpErrors,
    requests: requests.length,
    hlsVersion: check.hlsVersion,
  };
}

// ---------------------------------------------------------------------------------------------------------

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    return usage(e.message === 'help' ? 'plays an lms-media HLS ladder in headless Chromium' : e.message);
  }
  const log = args.verbose ? (m) => process.stderr.write(`play: ${m}\n`) : () => {};
  const ladder = resolve(args.ladder);
  if (!existsSync(ladder) || !statSync(ladder).isDirectory()) return usage(`not a directory: ${ladder}`);

  const chromiumPath = process.env.LMS_MEDIA_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) return emit(harnessFailure(`no Chromium at ${chromiumPath}`), 2);
  const require = createRequire(import.meta.url);
  let chromium;
  let hlsDist;
  try {
    ({ chromium } = require('playwright-core'));
    hlsDist = join(dirname(require.resolve('hls.js/package.json')), 'dist', 'hls.js');
  } catch (e) {
    return emit(harnessFailure(`node modules missing (run scripts/browser-deps): ${e.message.split('\n')[0]}`), 2);
  }

  const deadline = started + args.timeoutSeconds * 1000;
  const requests = [];
  const pageErrors = [];
  let browserContext = null;
  let server = null;
  const profile = mkdtempSync(join(tmpdir(), 'lms-media-chromium-'));
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (browserContext) {
      await Promise.race([browserContext.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    }
    if (server) {
      server.closeAllConnections?.();
      server.close();
    }
    rmSync(profile, { recursive: true, force: true });
  };
  // Last resort: whatever hangs, the process ends a little after its budget, and Playwright kills the
  // browser it launched when the process exits.
  const hardStop = setTimeout(() => {
    emit(harnessFailure(`hard timeout after ${args.timeoutSeconds + 15} s`), 2);
    try {
      rmSync(profile, { recursive: true, force: true });
    } catch {}
    process.exit(2);
  }, (args.timeoutSeconds + 15) * 1000);
  hardStop.unref();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      cleanup().finally(() => process.exit(2));
    });
  }

  try {
    const started_ = await startServer(ladder, hlsDist, requests);
    server = started_.server;
    const base = `http://127.0.0.1:${started_.port}`;
    const subtitles = readSubtitleFiles(ladder, `${base}/ladder/`);
    log(`serving ${ladder} at ${base}/ladder/`);

    try {
      browserContext = await chromium.launchPersistentContext(profile, {
        executablePath: chromiumPath,
        headless: true,
        timeout: Math.max(5000, Math.min(30000, deadline - Date.now() - 5000)),
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--autoplay-policy=no-user-gesture-required',
        ],
      });
    } catch (e) {
      await cleanup();
      return emit(harnessFailure(`Chromium did not start: ${e.message.split('\n')[0]}`), 2);
    }
    log(`Chromium ${browserContext.browser()?.version() ?? ''} started after ${Date.now() - started} ms`);
    const page = browserContext.pages()[0] || (await browserContext.newPage());
    page.on('pageerror', (e) => pageErrors.push(String(e.message || e)));
    page.on('console', (m) => {
      if (args.verbose) log(`console.${m.type()}: ${m.text()}`);
    });
    let crashed = false;
    page.on('crash', () => {
      crashed = true;
    });

    const budgetMs = deadline - Date.now() - 4000;
    started_.setConfig({ master: `${base}/ladder/master.m3u8`, budgetMs, playbackRate: args.playbackRate, sampled: !!args.sampled });
    await page.goto(`${base}/`, { timeout: 15000 });
    const ready = await page.evaluate(() => typeof window.Hls === 'function' && !!window.__check);
    if (!ready) {
      await cleanup();
      return emit(harnessFailure('hls.js or the page script did not load', { pageErrors }), 2);
    }
    let timedOut = false;
    try {
      await page.waitForFunction(() => window.__check && window.__check.done, null, {
        timeout: Math.max(1000, deadline - Date.now() - 2000),
        polling: 200,
      });
    } catch (e) {
      timedOut = true;
      log(`waiting for the page: ${e.message.split('\n')[0]}`);
    }
    if (crashed) {
      await cleanup();
      return emit(harnessFailure('the page crashed', { pageErrors }), 2);
    }
    const check = await Promise.race([
      page.evaluate((timedOut_) => {
        if (!window.__check.done) {
          window.__check.notes.push(timedOut_ ? 'the overall timeout ran out' : 'the page did not finish');
          window.__finish();
        }
        return window.__check;
      }, timedOut),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the page did not answer')), 5000)),
    ]);
    await cleanup();
    if (check.harnessError) {
      // The page script threw: hls.js missing, no MediaSource, or a bug in page.js, not in the ladder.
      return emit(harnessFailure(check.harnessError, { pageErrors }), 2);
    }
    const result = judge(check, subtitles, requests, args);
    if (pageErrors.length) result.pageErrors = pageErrors;
    emit(result, result.ok ? 0 : 1);
  } catch (e) {
    await cleanup();
    emit(harnessFailure(`${e.message.split('\n')[0]}`, { pageErrors }), 2);
  } finally {
    clearTimeout(hardStop);
  }
}

await main();
// Exit promptly even if a socket or timer lingers.
setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
