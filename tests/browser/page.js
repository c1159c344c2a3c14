// Runs inside headless Chromium (served by play.mjs): plays the ladder with hls.js over MSE and leaves the
// outcome in window.__check. play.mjs passes its settings in window.__config and reads window.__check.
/* global Hls */
(function () {
  'use strict';
  const config = window.__config;
  const deadline = performance.now() + config.budgetMs;
  const check = {
    done: false,
    phase: 'starting',
    mode: null,
    levels: [],
    subtitleTracks: [],
    audioTracks: [],
    ended: false,
    duration: null,
    errors: [],
    fatalErrors: [],
    videoErrors: [],
    notes: [],
    subtitleFrags: {},
    playedRanges: [],
  };
  window.__check = check;

  const video = document.getElementById('video');
  let hls = null;
  // Level of the fragment under the playhead (from FRAG_CHANGED), and per level what was seen of it.
  let playingLevel = -1;
  const levelSeen = []; // {fragLoaded, switched, fragChanged, playedSeconds, decodedHeights:Set}
  const cueSeen = []; // per subtitle track: Map key -> {start, end, text}
  let lastTime = null;

  const now = () => performance.now();
  const left = () => deadline - now();
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const round = (x) => (typeof x === 'number' && isFinite(x) ? Math.round(x * 1000) / 1000 : x);

  function describeError(data) {
    const out = {
      type: data.type,
      details: data.details,
      fatal: !!data.fatal,
      at: round(video.currentTime),
    };
    if (data.reason) out.reason = String(data.reason);
    if (data.error && data.error.message) out.message = String(data.error.message);
    if (data.response && data.response.code !== undefined) out.httpStatus = data.response.code;
    const frag = data.frag;
    if (frag) {
      out.frag = { type: frag.type, level: frag.level, sn: frag.sn, url: frag.url };
    } else if (data.url) {
      out.url = data.url;
    } else if (data.context && data.context.url) {
      out.url = data.context.url;
    }
    if (data.buffer !== undefined) out.buffer = round(data.buffer);
    if (data.mimeType) out.mimeType = data.mimeType;
    return out;
  }

  // Polls what the text tracks hold: hls.js only exposes cues of the enabled track (disabled tracks have
  // cues === null), so this runs on every tick and keeps what it saw.
  function collectCues() {
    if (!hls) return;
    const tracks = hls.subtitleTracks || [];
    for (let i = 0; i < video.textTracks.length; i++) {
      const tt = video.textTracks[i];
      if (!tt.cues || tt.cues.length === 0) continue;
      const index = tracks.findIndex((t) => t.name === tt.label && (t.lang || '') === (tt.language || ''));
      if (index < 0) continue;
      const seen = cueSeen[index] || (cueSeen[index] = new Map());
      for (let c = 0; c < tt.cues.length; c++) {
        const cue = tt.cues[c];
        const key = `${cue.startTime.toFixed(3)}|${cue.endTime.toFixed(3)}|${cue.text}`;
        if (!seen.has(key)) seen.set(key, { start: round(cue.startTime), end: round(cue.endTime), text: cue.text });
      }
    }
  }

  function onTick() {
    const t = video.currentTime;
    if (lastTime !== null && t > lastTime && t - lastTime < 2 && !video.seeking && playingLevel >= 0) {
      const seen = levelSeen[playingLevel];
      if (seen) {
        seen.playedSeconds += t - lastTime;
        if (video.videoHeight) seen.decodedHeights.add(video.videoHeight);
      }
    }
    lastTime = t;
    collectCues();
  }

  async function waitFor(predicate, ms, what) {
    const until = now() + Math.max(0, Math.min(ms, left()));
    while (now() < until) {
      if (check.fatalErrors.length) return false;
      onTick();
      if (predicate()) return true;
      await sleep(50);
    }
    onTick();
    if (predicate()) return true;
    check.notes.push(`timed out waiting for ${what} (at ${round(video.currentTime)} s)`);
    return false;
  }

  async function pause(ms) {
    const until = now() + Math.max(0, Math.min(ms, left()));
    while (now() < until) {
      onTick();
      await sleep(50);
    }
  }

  function levelPlayed(i) {
    const seen = levelSeen[i];
    return !!seen && seen.fragLoaded > 0 && seen.fragChanged && seen.playedSeconds >= 0.5;
  }

  // The decoder put out frames of the size the master declares for the level (RESOLUTION).
  function levelDecoded(i) {
    const seen = levelSeen[i];
    const height = hls.levels[i].height;
    return !!seen && (!height || seen.decodedHeights.has(height));
  }

  function finish() {
    onTick();
    check.levels = (hls ? hls.levels : []).map((level, i) => {
      const seen = levelSeen[i] || {};
      return {
        height: level.height,
        width: level.width,
        bitrate: level.bitrate,
        codecs: [level.videoCodec, level.audioCodec].filter(Boolean).join(','),
        played: levelPlayed(i),
        decodedDeclaredHeight: levelDecoded(i),
        fragsLoaded: seen.fragLoaded || 0,
        switchedTo: !!seen.switched,
        playedSeconds: round(seen.playedSeconds || 0),
        decodedHeights: seen.decodedHeights ? [...seen.decodedHeights] : [],
      };
    });
    check.subtitleTracks = (hls ? hls.subtitleTracks : []).map((track, i) => {
      const cues = cueSeen[i] ? [...cueSeen[i].values()] : [];
      return {
        lang: track.lang || '',
        name: track.name,
        default: !!track.default,
        cuesSeen: cues.length,
        cues,
        fragsLoaded: (check.subtitleFrags[i] || []).slice(),
      };
    });
    check.audioTracks = (hls ? hls.audioTracks : []).map((t) => ({ lang: t.lang || '', name: t.name }));
    check.duration = round(video.duration);
    check.ended = check.ended || video.ended;
    for (let i = 0; i < video.played.length; i++) {
      check.playedRanges.push([round(video.played.start(i)), round(video.played.end(i))]);
    }
    check.videoElementError = video.error ? { code: video.error.code, message: video.error.message } : null;
    check.stoppedIn = check.phase;
    check.stoppedAt = round(video.currentTime);
    check.phase = 'done';
    check.done = true;
  }
  window.__finish = finish;

  async function run() {
    if (typeof Hls === 'undefined') throw new Error('hls.js did not load');
    if (!Hls.isSupported()) throw new Error('hls.js reports that this browser has no usable MediaSource');
    check.hlsVersion = Hls.version;
    const retry = { maxNumRetry: 2, retryDelayMs: 200, maxRetryDelayMs: 1000 };
    const policy = (ttfb, load) => ({
      default: { maxTimeToFirstByteMs: ttfb, maxLoadTimeMs: load, timeoutRetry: retry, errorRetry: retry },
    });
    hls = new Hls({
      debug: false,
      enableWorker: true,
      startLevel: 0,
      capLevelToPlayerSize: false,
      subtitleDisplay: true,
      renderTextTracksNatively: true,
      // Local, static files: a failure is not transient, so do not spend the budget on retries.
      manifestLoadPolicy: policy(5000, 10000),
      playlistLoadPolicy: policy(5000, 10000),
      fragLoadPolicy: policy(5000, 20000),
    });
    window.__hls = hls;

    hls.on(Hls.Events.ERROR, (_event, data) => {
      const error = describeError(data);
      check.errors.push(error);
      if (data.fatal) check.fatalErrors.push(error);
    });
    hls.on(Hls.Events.FRAG_LOADED, (_event, data) => {
      const frag = data.frag;
      if (frag.type === 'main' && levelSeen[frag.level]) levelSeen[frag.level].fragLoaded += 1;
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
      if (levelSeen[data.level]) levelSeen[data.level].switched = true;
    });
    hls.on(Hls.Events.FRAG_CHANGED, (_event, data) => {
      onTick();
      playingLevel = data.frag.level;
      if (levelSeen[playingLevel]) levelSeen[playingLevel].fragChanged = true;
    });
    hls.on(Hls.Events.SUBTITLE_FRAG_PROCESSED, (_event, data) => {
      if (!data.success) return;
      const list = check.subtitleFrags[data.frag.level] || (check.subtitleFrags[data.frag.level] = []);
      if (!list.includes(data.frag.url)) list.push(data.frag.url);
    });
    video.addEventListener('error', () => {
      const e = video.error;
      const error = { type: 'videoElement', details: 'MediaError', code: e && e.code, message: e && e.message, fatal: true };
      check.videoErrors.push(error);
      check.fatalErrors.push(error);
    });
    video.addEventListener('ended', () => {
      check.ended = true;
    });
    video.addEventListener('timeupdate', onTick);

    check.phase = 'manifest';
    const parsed = new Promise((resolve) => hls.once(Hls.Events.MANIFEST_PARSED, () => resolve(true)));
    hls.attachMedia(video);
    hls.loadSource(config.master);
    let manifestParsed = false;
    parsed.then(() => (manifestParsed = true));
    await waitFor(() => manifestParsed, 20000, 'the master playlist to be parsed (MANIFEST_PARSED)');
    if (!manifestParsed || check.fatalErrors.length) return;
    hls.levels.forEach((_level, i) => {
      levelSeen[i] = { fragLoaded: 0, switched: false, fragChanged: false, playedSeconds: 0, decodedHeights: new Set() };
    });
    await waitFor(() => isFinite(video.duration) && video.duration > 0, 20000, 'the media duration');
    if (check.fatalErrors.length) return;
    const duration = video.duration;

    // Subtitles, while paused at 0: enable each track and wait for its cues to land on the TextTrack.
    check.phase = 'subtitles';
    const subtitleTracks = hls.subtitleTracks || [];
    for (let i = 0; i < subtitleTracks.length; i++) {
      hls.subtitleTrack = i;
      await waitFor(() => cueSeen[i] && cueSeen[i].size > 0, 10000, `cues of subtitle track ${i} (${subtitleTracks[i].lang})`);
      // Let the fragments ahead land too, so their cues can be compared with the files.
      await pause(300);
      if (check.fatalErrors.length) return;
    }
    const defaultTrack = subtitleTracks.findIndex((t) => t.default);
    if (subtitleTracks.length) hls.subtitleTrack = defaultTrack >= 0 ? defaultTrack : 0;

    // Rungs: force each level in turn and play until a fragment of it has been loaded and played.
    // Segments are usually one GOP each and Chromium keeps showing the old rendition until the next
    // keyframe, so a forced level shows its own frames only from the next fragment boundary on: keep a
    // boundary ahead of the playhead (rewind when none is left) and wait for the frames to change size.
    check.phase = 'levels';
    video.muted = true;
    video.playbackRate = Math.min(2, config.playbackRate);
    try {
      await video.play();
    } catch (e) {
      check.notes.push(`video.play() was refused: ${e && e.message}`);
    }
    const boundaryAhead = () => {
      const details = hls.levels.map((l) => l.details).find(Boolean);
      const frags = details ? details.fragments : [];
      return frags.some((f) => f.start > video.currentTime + 0.3);
    };
    let rewinds = 0;
    for (let i = 0; i < hls.levels.length; i++) {
      if ((video.ended || !boundaryAhead()) && rewinds < hls.levels.length) {
        rewinds += 1;
        check.notes.push(`rewound to 0 at ${round(video.currentTime)} s to switch to level ${i}`);
        video.currentTime = 0;
        if (video.paused) video.play().catch(() => {});
      }
      hls.currentLevel = i;
      if (await waitFor(() => levelPlayed(i), 20000, `level ${i} (${hls.levels[i].height}p) to play`)) {
        await waitFor(() => levelDecoded(i), 20000, `frames ${hls.levels[i].height} high from level ${i}`);
      }
      if (check.fatalErrors.length) return;
    }
    check.notes = check.notes.filter((n) => !n.startsWith('rewound'));
    check.rewinds = rewinds;
    hls.loadLevel = -1; // back to automatic selection, without flushing what is buffered

    // To the end: continuously at playbackRate when the budget allows, else a slice of every fragment.
    check.phase = 'to-end';
    const rate = config.playbackRate;
    const needMs = ((duration - video.currentTime) / rate) * 1000 + 5000;
    check.mode = needMs < left() * 0.7 && !config.sampled ? 'continuous' : 'sampled';
    video.playbackRate = rate;
    if (check.mode === 'sampled') {
      const details = hls.levels[Math.max(0, hls.currentLevel)].details;
      const frags = details ? details.fragments.filter((f) => f.start + f.duration > video.currentTime + 0.5) : [];
      for (const frag of frags.slice(0, -1)) {
        video.currentTime = frag.start + 0.05;
        const target = frag.start + Math.min(0.5, frag.duration / 2);
        if (!(await waitFor(() => video.currentTime >= target && !video.seeking, 10000, `fragment ${frag.sn} to play`))) break;
      }
      const last = frags[frags.length - 1];
      if (last && video.currentTime < last.start) video.currentTime = last.start + 0.05;
    }
    let lastProgress = now();
    let progressAt = video.currentTime;
    await waitFor(
      () => {
        if (video.currentTime !== progressAt) {
          progressAt = video.currentTime;
          lastProgress = now();
        } else if (!video.paused && now() - lastProgress > 10000) {
          check.notes.push(`playback stalled at ${round(progressAt)} s for 10 s`);
          return true;
        }
        return video.ended;
      },
      left(),
      'the end of the media',
    );
  }

  run()
    .catch((e) => {
      check.harnessError = String((e && e.message) || e);
    })
    .finally(finish);
})();
