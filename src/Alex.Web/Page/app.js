// Alex web page. Talks JSON over one WebSocket to the gateway that served it (docs/protocol.md,
// "Web gateway"). No framework, no build step, nothing from the internet.
'use strict';

const $ = (id) => document.getElementById(id);
const COUNTERS = [
  'leftForwardTicks', 'rightForwardTicks', 'leftReverseTicks', 'rightReverseTicks',
  'leftForwardTurnTicks', 'rightForwardTurnTicks', 'leftReverseTurnTicks', 'rightReverseTurnTicks',
  'forwardDistanceCm', 'reverseDistanceCm',
];
const RECONNECT_MS = [250, 500, 1000, 2000, 4000];
const PING_MS = 2000;

const state = {
  socket: null,
  attempt: 0,
  nextId: 1,
  pending: new Map(), // id -> { sent, text, kind }
  robot: 'offline',
  role: 'none', // this gateway's certificate role: driver or watcher
  you: null,
  holder: null,
  path: [[0, 0]],
  scans: [],
  scanSeq: 0,
  // The server's map (when it maps): tiles by "x,y" ({ x, y, image, known }), the cell size, the pose it puts Alex at,
  // and the anchor that places the map frame in this page's odometry frame (set at the first map update after a path).
  map: { tiles: new Map(), cell: 5, seq: 0, pose: null, anchor: null },
  pose: { x: 0, y: 0, heading: 0 },
  planned: null, // { from: pose, to: [x, y] } or { turn } — the last commanded move, drawn dashed
  lastStatusAt: 0,
  gatewayRtt: null,
  robotRtt: null,
  commandRtt: null,
  team: [], // the team's declared commands, from the gateway's hello (docs/extensions.md)
  teamKeys: new Map(), // key -> declared command
  replay: null, // a recording played back (hello's "replay": file, start, duration, speed): read-only
};

// ---- connection ---------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  setBadge('badge-gateway', 'gateway-state', 'connecting', state.attempt === 0 ? 'connecting…' : `reconnecting (try ${state.attempt + 1})…`);
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = ws;
  ws.addEventListener('open', () => {
    state.attempt = 0;
    setBadge('badge-gateway', 'gateway-state', 'connected', 'connected');
    hideBanner();
    log('link', 'connected to the gateway');
    refreshControls();
  });
  ws.addEventListener('message', (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch { return; }
    onMessage(msg);
  });
  ws.addEventListener('close', () => {
    if (state.socket !== ws) return;
    state.socket = null;
    for (const [id, p] of state.pending) {
      if (p.text === 'ping') state.pending.delete(id);
      else finishPending(id, false, 'gateway connection lost');
    }
    const delay = RECONNECT_MS[Math.min(state.attempt, RECONNECT_MS.length - 1)];
    state.attempt += 1;
    setBadge('badge-gateway', 'gateway-state', 'reconnecting', `reconnecting in ${(delay / 1000).toFixed(1)} s`);
    setBadge('badge-robot', 'robot-state', 'offline', 'unknown');
    showBanner(`Lost the gateway. Reconnecting by itself (try ${state.attempt})… The robot server stops Alex when nobody holds the connection.`, 'bad');
    if (state.attempt === 1) log('link', 'lost the gateway; reconnecting');
    refreshControls();
    setTimeout(connect, delay);
  });
}

function send(obj) {
  const ws = state.socket;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(obj));
  return true;
}

function command(type, fields, text) {
  if (state.replay) {
    log('fail', `${text}: this is a replay of ${state.replay.file}, there is no robot to drive`);
    return null;
  }
  const id = state.nextId++;
  if (!send({ type, id, ...fields })) {
    log('fail', `${text}: not connected to the gateway`);
    return null;
  }
  state.pending.set(id, { sent: performance.now(), text });
  log('cmd', text);
  return id;
}

function finishPending(id, ok, reply, reading) {
  const p = state.pending.get(id);
  if (!p) return;
  state.pending.delete(id);
  const ms = performance.now() - p.sent;
  if (ok) {
    state.commandRtt = ms;
    updateLatency();
  }
  const said = reading ? describeReading(reading) : reply;
  log(ok ? 'ok' : 'fail', `${p.text} → ${said}${ok ? ` (${ms.toFixed(0)} ms)` : ''}`);
  if (p.team) showTeamReply(p.team, ok, ok ? said : reply, reading);
}

// ---- messages from the gateway -----------------------------------------------------------

function onMessage(msg) {
  switch (msg.type) {
    case 'hello':
      $('robot-target').textContent = msg.replay ? msg.robot : `robot: ${msg.robot}`;
      $('version').textContent = msg.version;
      if (msg.replay) showReplay(msg.replay);
      showTeam(msg.commands ?? []);
      break;
    case 'replay':
      showReplayClock(msg.at, msg.ended);
      break;
    case 'pose':
      movePose(msg.pose);
      break;
    case 'link': {
      const changed = state.robot !== msg.state;
      state.robot = msg.state;
      const text = { connected: 'connected', connecting: 'connecting…', reconnecting: 'reconnecting…', offline: 'offline', replay: 'replay (recorded)' }[msg.state] ?? msg.state;
      setBadge('badge-robot', 'robot-state', msg.state, text);
      $('badge-robot').title = msg.detail ?? '';
      if (msg.state === 'reconnecting') showBanner(`Cannot reach the robot; the gateway keeps trying: ${msg.detail ?? ''}`, 'warn');
      else if (msg.state === 'connected') hideBanner();
      if (msg.state === 'connected') showLease();
      else setBadge('badge-lease', 'lease-state', 'none', '—');
      if (changed) log('link', `robot ${msg.state}${msg.detail ? `: ${msg.detail}` : ''}`);
      refreshControls();
      break;
    }
    case 'lease':
      state.role = msg.role;
      state.holder = msg.holder;
      state.you = msg.you;
      if (state.robot === 'connected') showLease();
      refreshControls();
      break;
    case 'status':
      showCounters(msg.counters);
      movePose(msg.pose);
      break;
    case 'scan':
      onScan(msg);
      break;
    case 'map':
      onMap(msg);
      break;
    case 'path':
      state.path = msg.points.length ? msg.points : [[0, 0]];
      state.pose = msg.pose;
      state.map.anchor = null; // a fresh path: the map is placed again at its next update
      state.planned = null;
      showPose();
      draw();
      break;
    case 'reply':
      finishPending(msg.id, msg.ok, msg.text, msg.reading);
      break;
    case 'message':
      log('arduino', msg.text);
      break;
    case 'rtt':
      state.robotRtt = msg.ms;
      updateLatency();
      break;
    case 'pong': {
      const p = state.pending.get(msg.id);
      if (p) {
        state.pending.delete(msg.id);
        state.gatewayRtt = performance.now() - p.sent;
        updateLatency();
      }
      break;
    }
    case 'error':
      log('fail', `gateway: ${msg.text}`);
      break;
    case 'notice':
      log({ safety: 'safety', log: 'recorded' }[msg.kind] ?? 'link', msg.text);
      if (msg.kind === 'safety') {
        state.planned = null;
        draw();
      }
      break;
    default:
      break;
  }
}

// ---- the controls -------------------------------------------------------------------------

const MOVES = {
  forward: { label: 'forward', unit: 'cm', param: 'distance' },
  reverse: { label: 'reverse', unit: 'cm', param: 'distance' },
  left: { label: 'left', unit: '°', param: 'angle' },
  right: { label: 'right', unit: '°', param: 'angle' },
};

function drive(move) {
  const m = MOVES[move];
  const value = Number($(m.param).value);
  const speed = Number($('speed').value);
  const what = value === 0 ? 'until stopped' : `${value}${m.unit === '°' ? '°' : ` ${m.unit}`}`;
  if (command('drive', { move, value, speed }, `${m.label} ${what} at ${speed} %`) !== null) {
    plan(move, value);
    flash(`move-${move}`);
  }
}

function stop() {
  if (state.replay) return;
  flash('stop');
  state.planned = null;
  draw();
  command('stop', {}, 'STOP');
}

function plan(move, value) {
  const p = state.pose;
  const rad = (p.heading * Math.PI) / 180;
  if (move === 'forward' || move === 'reverse') {
    const d = (move === 'forward' ? 1 : -1) * (value || 0);
    state.planned = value ? { from: p, to: [p.x + d * Math.cos(rad), p.y + d * Math.sin(rad)] } : null;
  } else {
    state.planned = { from: p, turn: (move === 'left' ? 1 : -1) * (value || 0) };
  }
  draw();
}

function flash(id) {
  const el = $(id);
  el.classList.add('pressed');
  setTimeout(() => el.classList.remove('pressed'), 140);
}

function isOnline() {
  return state.socket?.readyState === WebSocket.OPEN && state.robot === 'connected';
}

// A watcher certificate may only watch and STOP; a driver may move when the lease is free or theirs.
function mayDrive() {
  const mine = state.holder !== null && state.holder === state.you;
  return isOnline() && state.role !== 'watcher' && (state.holder === null || mine);
}

function refreshControls() {
  const online = isOnline();
  const mine = state.holder !== null && state.holder === state.you;
  const drive = mayDrive();
  for (const b of document.querySelectorAll('.move[data-move]')) b.disabled = !drive;
  for (const c of state.team) $(`team-${c.name}-send`).disabled = !online || (c.driversOnly && !drive);
  $('stats').disabled = !online;
  $('clear').disabled = !drive;
  $('lease-take').disabled = !online || state.role === 'watcher' || mine;
  $('lease-release').disabled = !online || !mine;
  // STOP stays enabled: anyone may stop Alex, and pressing it when offline at least says so in the log. A replay has
  // nothing to stop or move: every control is off.
  if (state.replay) {
    for (const el of document.querySelectorAll('.card.drive button, .card.drive input, #reset-path')) el.disabled = true;
  }
}

// ---- a recording played back ----------------------------------------------------------------

function showReplay(replay) {
  state.replay = replay;
  document.body.dataset.mode = 'replay';
  document.title = `Alex · replay of ${replay.file}`;
  $('replay-file').textContent = replay.file;
  $('replay-start').textContent = `${replay.start.replace('T', ' ').replace('Z', '')} UTC${replay.speed !== 1 ? `, played ×${replay.speed}` : ''}`;
  $('replay').hidden = false;
  $('status-age').textContent = 'counters are not recorded';
  showReplayClock(0, false);
  refreshControls();
}

function showReplayClock(at, ended) {
  if (!state.replay) return;
  const total = state.replay.duration.toFixed(1);
  $('replay-clock').textContent = ended ? `played all ${total} s` : `${at.toFixed(1)} s of ${total} s`;
  $('replay').dataset.ended = String(ended);
}

function bindControls() {
  for (const b of document.querySelectorAll('.move[data-move]')) {
    b.addEventListener('click', () => drive(b.dataset.move));
  }
  $('stop').addEventListener('click', stop);
  $('stats').addEventListener('click', () => command('stats', {}, 'get stats'));
  $('clear').addEventListener('click', () => command('clear', {}, 'clear counters'));
  $('lease-take').addEventListener('click', () => command('lease', { action: 'take' }, 'take the wheel'));
  $('lease-release').addEventListener('click', () => command('lease', { action: 'release' }, 'release the wheel'));
  $('reset-path').addEventListener('click', () => send({ type: 'reset-path' }));

  const outputs = { distance: (v) => `${v} cm`, angle: (v) => `${v}°`, speed: (v) => `${v} %` };
  for (const [id, fmt] of Object.entries(outputs)) {
    const input = $(id);
    const show = () => { $(`${id}-out`).textContent = Number(input.value) === 0 && id !== 'speed' ? '∞ (until stopped)' : fmt(input.value); };
    input.addEventListener('input', show);
    show();
  }

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (key === ' ' || key === 'Escape') {
      e.preventDefault();
      stop();
      return;
    }
    if (e.repeat) return;
    // Typing a team command's number is typing, not driving.
    if (e.target instanceof HTMLInputElement && e.target.type === 'number') return;
    const move = { ArrowUp: 'forward', w: 'forward', ArrowDown: 'reverse', s: 'reverse', ArrowLeft: 'left', a: 'left', ArrowRight: 'right', d: 'right' }[key];
    // Arrows on a focused slider keep adjusting the slider.
    if (e.target instanceof HTMLInputElement && key.startsWith('Arrow')) return;
    if (move) {
      e.preventDefault();
      if (!$(`move-${move}`).disabled) drive(move);
    } else if (key === 'g' && !$('stats').disabled) {
      command('stats', {}, 'get stats');
    } else if (key === 'c' && !$('clear').disabled) {
      command('clear', {}, 'clear counters');
    } else if (state.teamKeys.has(key)) {
      e.preventDefault();
      sendTeam(state.teamKeys.get(key));
    }
  });
}

// ---- the team's declared commands ----------------------------------------------------------

// One row per declared command: its key, its name (the button), its help, an input per param and the last reply.
function showTeam(commands) {
  state.team = commands;
  state.teamKeys = new Map(commands.filter((c) => c.key).map((c) => [c.key, c]));
  const list = $('team-commands');
  list.replaceChildren();
  for (const c of commands) {
    const li = document.createElement('li');
    li.id = `team-${c.name}`;
    li.dataset.command = c.name;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary team-send';
    button.id = `team-${c.name}-send`;
    button.title = `${c.help || c.name}${c.key ? ` (${c.key.toUpperCase()})` : ''}${c.driversOnly ? ' · only the driver may send it' : ' · watchers too'}`;
    if (c.key) {
      const kbd = document.createElement('kbd');
      kbd.textContent = c.key.toUpperCase();
      kbd.id = `team-${c.name}-key`;
      button.setAttribute('aria-keyshortcuts', c.key.toUpperCase());
      button.append(kbd);
    }
    button.append(c.name);
    button.addEventListener('click', () => sendTeam(c));
    const help = document.createElement('span');
    help.className = 'team-help';
    help.textContent = [c.help, c.moves ? 'moves Alex' : '', c.driversOnly ? 'driver only' : 'watchers too'].filter(Boolean).join(' · ');
    li.append(button, help);
    if (c.params.length) {
      const params = document.createElement('div');
      params.className = 'team-params';
      c.params.forEach((p, i) => {
        const label = document.createElement('label');
        const input = document.createElement('input');
        input.type = 'number';
        input.id = `team-${c.name}-p${i}`;
        input.min = String(p.min);
        if (p.max !== null) input.max = String(p.max);
        // A speed starts where the page's speed slider is (within the declared range); anything else at its minimum.
        const start = p.unit === '%' ? Number($('speed').value) : p.min;
        input.value = String(Math.max(p.min, p.max === null ? start : Math.min(start, p.max)));
        label.append(`${p.name}${p.unit ? ` (${p.unit})` : ''} `, input);
        params.append(label);
      });
      li.append(params);
    }
    const reading = document.createElement('div');
    reading.className = 'team-reading';
    reading.id = `team-${c.name}-reading`;
    reading.setAttribute('aria-live', 'polite');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.id = `team-${c.name}-swatch`;
    swatch.hidden = true;
    const text = document.createElement('span');
    text.id = `team-${c.name}-text`;
    text.textContent = '—';
    reading.append(swatch, text);
    li.append(reading);
    list.append(li);
  }
  $('team').hidden = commands.length === 0;
  refreshControls();
}

function sendTeam(c) {
  if (c.driversOnly && !mayDrive()) {
    const why = state.role === 'watcher'
      ? `${c.name} is for the driver only: this laptop's certificate may only watch and STOP`
      : !isOnline() ? `${c.name} not sent: not connected to the robot` : `${c.name} not sent: ${state.holder} holds the wheel`;
    log('fail', why);
    showTeamReply(c.name, false, why, null);
    return;
  }
  const params = [];
  for (let i = 0; i < c.params.length; i++) {
    const p = c.params[i];
    const v = Number($(`team-${c.name}-p${i}`).value);
    if (!Number.isInteger(v) || v < p.min || (p.max !== null && v > p.max)) {
      const range = p.max === null ? `at least ${p.min}` : `${p.min}–${p.max}`;
      showTeamReply(c.name, false, `${p.name} must be a whole number ${range}${p.unit ? ` ${p.unit}` : ''}`, null);
      return;
    }
    params.push(v);
  }
  const id = command('declared', { name: c.name, params }, [c.name, ...params].join(' '));
  if (id === null) return;
  state.pending.get(id).team = c.name;
  $(`team-${c.name}-reading`).dataset.state = 'waiting';
  $(`team-${c.name}-text`).textContent = 'waiting…';
  flash(`team-${c.name}-send`);
}

// "red 310 Hz · green 120 Hz · blue 95 Hz", or a message's text.
function describeReading(reading) {
  if (reading.values.length === 0) return reading.text;
  const values = reading.values.map((v) => `${v.name} ${v.value}${v.unit ? ` ${v.unit}` : ''}`).join(' · ');
  return reading.swatch ? `${values} · ${reading.swatch}` : values;
}

function showTeamReply(name, ok, text, reading) {
  const row = $(`team-${name}-reading`);
  if (!row) return;
  row.dataset.state = ok ? 'ok' : 'fail';
  const swatch = $(`team-${name}-swatch`);
  if (ok && reading?.swatch) {
    swatch.style.backgroundColor = reading.swatch; // CSSOM, allowed by the page's CSP (no inline style attribute)
    swatch.dataset.colour = reading.swatch;
    swatch.title = reading.swatch;
    swatch.hidden = false;
  } else if (!ok) {
    swatch.hidden = true;
  }
  $(`team-${name}-text`).textContent = text;
}

// ---- status and log ----------------------------------------------------------------------

function showCounters(c) {
  for (const name of COUNTERS) {
    const el = $(`counter-${name}`);
    const text = String(c[name]);
    if (el.textContent !== text) {
      el.textContent = text;
      if (el.classList.contains('num')) {
        el.classList.add('changed');
        setTimeout(() => el.classList.remove('changed'), 400);
      }
    }
  }
  state.lastStatusAt = Date.now();
  $('status-age').textContent = 'live';
}

function movePose(pose) {
  const last = state.path[state.path.length - 1];
  if (Math.abs(pose.x - last[0]) + Math.abs(pose.y - last[1]) >= 0.5) state.path.push([pose.x, pose.y]);
  else if (state.path.length > 1) state.path[state.path.length - 1] = [pose.x, pose.y];
  state.pose = pose;
  showPose();
  draw();
}

function showPose() {
  const p = state.pose;
  $('pose').textContent = `x ${whole(p.x)} cm · y ${whole(p.y)} cm · ${whole(p.heading)}°`;
}

// A whole number without the "-0" that toFixed(0) prints for a small negative value.
function whole(v) {
  const r = Math.round(v);
  return r === 0 ? '0' : String(r);
}

function showLease() {
  const { role, holder, you } = state;
  let kind;
  let text;
  if (holder && holder === you) { kind = 'driver'; text = 'you drive'; }
  else if (holder) { kind = 'watcher'; text = `${holder} drives`; }
  else { kind = 'none'; text = role === 'watcher' ? 'free · you may only watch and STOP' : 'free · take the wheel or just drive'; }
  if (role === 'watcher' && holder) text += ' · you watch';
  setBadge('badge-lease', 'lease-state', kind, text);
}

function updateLatency() {
  const parts = [];
  if (state.commandRtt !== null) parts.push(`${state.commandRtt.toFixed(0)} ms`);
  if (state.robotRtt !== null) parts.push(`link ${state.robotRtt.toFixed(0)} ms`);
  if (parts.length === 0 && state.gatewayRtt !== null) parts.push(`page ${state.gatewayRtt.toFixed(0)} ms`);
  const worst = Math.max(state.commandRtt ?? 0, state.robotRtt ?? 0);
  setBadge('badge-latency', 'latency', worst > 250 ? 'slow' : 'good', parts.join(' · ') || '—');
}

const MAX_LOG = 200;
function log(kind, text) {
  const li = document.createElement('li');
  const time = document.createElement('time');
  const now = new Date();
  time.textContent = now.toTimeString().slice(0, 8);
  const tag = document.createElement('span');
  tag.className = `tag ${kind}`;
  tag.textContent = { cmd: 'sent', ok: 'ok', fail: 'failed', arduino: 'arduino', link: 'link', safety: 'stopped', recorded: 'log' }[kind] ?? kind;
  const body = document.createElement('span');
  body.textContent = text; // textContent, never innerHTML: Arduino text is data, not markup
  li.append(time, tag, body);
  const list = $('log');
  list.prepend(li);
  while (list.children.length > MAX_LOG) list.lastElementChild.remove();
}

function setBadge(badgeId, valueId, kind, text) {
  $(badgeId).dataset.state = kind;
  $(valueId).textContent = text;
}

function showBanner(text, kind) {
  const b = $('banner');
  b.textContent = text;
  b.dataset.kind = kind;
  b.hidden = false;
}

function hideBanner() { $('banner').hidden = true; }

// ---- the lidar ----------------------------------------------------------------------------

// A revolution arrives as [tenths of a degree clockwise from ahead, mm]; it is placed in the odometry frame at the
// pose Alex has when it arrives, so earlier revolutions stay where the walls were seen (a rough map).
const LIDAR_KEEP = 12;
const LIDAR_RANGE_CM = 600;

function onScan(msg) {
  const { x, y, heading } = state.pose;
  const world = [];
  for (const [tenths, mm] of msg.points) {
    const cm = mm / 10;
    if (cm > LIDAR_RANGE_CM) continue;
    const a = ((heading - tenths / 10) * Math.PI) / 180;
    world.push([x + cm * Math.cos(a), y + cm * Math.sin(a)]);
  }
  state.scans.push(world);
  if (state.scans.length > LIDAR_KEEP) state.scans.shift();
  state.scanSeq = msg.seq;
  $('lidar-state').textContent = `lidar: ${msg.points.length} points (#${msg.seq})`;
  draw();
}

// ---- the map --------------------------------------------------------------------------------

// The server's map (docs/mapping.md): tiles of 32 × 32 cells, each cell the log-odds of "occupied" × 32 as an i8,
// sent as runs of (count, value) in base64. Each tile becomes a 32 × 32 image once, when it changes; drawing scales it.
const TILE = 32;

function decodeTile(runs) {
  const bytes = Uint8Array.from(atob(runs), (c) => c.charCodeAt(0));
  const cells = new Int8Array(TILE * TILE);
  let at = 0;
  for (let i = 0; i + 1 < bytes.length && at < cells.length; i += 2) {
    const n = bytes[i];
    const v = (bytes[i + 1] << 24) >> 24;
    cells.fill(v, at, Math.min(at + n, cells.length));
    at += n;
  }
  return cells;
}

function rgb(hex) {
  const h = hex.replace('#', '');
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) || 0);
}

function tileImage(cells) {
  const css = getComputedStyle(document.documentElement);
  const occupied = rgb(css.getPropertyValue('--map-occupied').trim() || '#c9d1d9');
  const free = rgb(css.getPropertyValue('--map-free').trim() || '#1f3a5a');
  const canvas = document.createElement('canvas');
  canvas.width = TILE;
  canvas.height = TILE;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(TILE, TILE);
  let known = 0;
  // Cell (i, j) of the tile, rows from the bottom, goes to image row j: the drawing transform puts map +y where it belongs.
  for (let k = 0; k < cells.length; k++) {
    const v = cells[k];
    if (v === 0) continue; // unknown: clear
    known++;
    const p = 1 - 1 / (1 + Math.exp(v / 32)); // probability of occupied
    const c = v > 0 ? occupied : free;
    img.data.set([c[0], c[1], c[2], Math.round(255 * (v > 0 ? Math.min(1, 0.35 + p) : Math.min(1, 0.25 + (1 - p)) * 0.8))], k * 4);
  }
  ctx.putImageData(img, 0, 0);
  return { image: canvas, known };
}

function onMap(msg) {
  const map = state.map;
  if (msg.reset) {
    map.tiles.clear();
    map.anchor = null;
  }
  map.cell = msg.cell;
  map.seq = msg.seq;
  map.pose = msg.pose;
  for (const [x, y, runs] of msg.tiles) {
    const { image, known } = tileImage(decodeTile(runs));
    map.tiles.set(`${x},${y}`, { x, y, image, known });
  }
  if (!map.anchor && map.pose) {
    // Place the map frame so that its pose of Alex lands on the odometry's: odometry = anchor ∘ map.
    const theta = ((state.pose.heading - map.pose.heading) * Math.PI) / 180;
    const [c, s] = [Math.cos(theta), Math.sin(theta)];
    map.anchor = { theta, x: state.pose.x - (c * map.pose.x - s * map.pose.y), y: state.pose.y - (s * map.pose.x + c * map.pose.y) };
  }
  let cells = 0;
  for (const t of map.tiles.values()) cells += t.known;
  $('map-state').textContent = `map: ${map.tiles.size} tiles, ${cells} cells (update ${msg.seq})`;
  draw();
}

// A map-frame point (cm) in the odometry frame.
function fromMap(x, y) {
  const a = state.map.anchor;
  const [c, s] = [Math.cos(a.theta), Math.sin(a.theta)];
  return [a.x + c * x - s * y, a.y + s * x + c * y];
}

// ---- the path plot ------------------------------------------------------------------------

function niceStep(span) {
  const raw = span / 8;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * pow) return m * pow;
  return 10 * pow;
}

function draw() {
  const canvas = $('path');
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (w === 0 || h === 0) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);

  // Drawn as the console draws it: forward at the start (x) is up, left (+y) is left. X() and Y() take
  // screen-frame cm (right = -y, up = x). Bounds: the whole path, the robot and the planned target, at least 1 m across.
  const pts = state.path.map(([x, y]) => [-y, x]);
  pts.push([-state.pose.y, state.pose.x]);
  if (state.planned?.to) pts.push([-state.planned.to[1], state.planned.to[0]]);
  const scan = state.scans.length ? state.scans[state.scans.length - 1] : [];
  for (const [x, y] of scan) pts.push([-y, x]);
  const map = state.map;
  const mapShown = map.anchor && map.tiles.size > 0;
  if (mapShown) {
    const side = TILE * map.cell;
    for (const t of map.tiles.values()) {
      if (t.known === 0) continue;
      for (const [dx, dy] of [[0, 0], [1, 1]]) {
        const [ox, oy] = fromMap((t.x + dx) * side, (t.y + dy) * side);
        pts.push([-oy, ox]);
      }
    }
  }
  let minX = Math.min(...pts.map((p) => p[0]));
  let maxX = Math.max(...pts.map((p) => p[0]));
  let minY = Math.min(...pts.map((p) => p[1]));
  let maxY = Math.max(...pts.map((p) => p[1]));
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const span = Math.max(100, (maxX - minX) * 1.25 + 40, (maxY - minY) * 1.25 + 40);
  const scale = Math.min(w, h) / span; // px per cm
  const X = (x) => w / 2 + (x - cx) * scale;
  const Y = (y) => h / 2 - (y - cy) * scale; // up, like a map
  minX = cx - w / 2 / scale; maxX = cx + w / 2 / scale;
  minY = cy - h / 2 / scale; maxY = cy + h / 2 / scale;

  // Grid with a labelled scale.
  const step = niceStep(Math.min(maxX - minX, maxY - minY));
  ctx.lineWidth = 1;
  for (let gx = Math.ceil(minX / step) * step; gx <= maxX; gx += step) {
    ctx.strokeStyle = Math.abs(gx) < 1e-9 ? color('--grid-major') : color('--grid');
    ctx.beginPath(); ctx.moveTo(Math.round(X(gx)) + 0.5, 0); ctx.lineTo(Math.round(X(gx)) + 0.5, h); ctx.stroke();
  }
  for (let gy = Math.ceil(minY / step) * step; gy <= maxY; gy += step) {
    ctx.strokeStyle = Math.abs(gy) < 1e-9 ? color('--grid-major') : color('--grid');
    ctx.beginPath(); ctx.moveTo(0, Math.round(Y(gy)) + 0.5); ctx.lineTo(w, Math.round(Y(gy)) + 0.5); ctx.stroke();
  }
  ctx.fillStyle = color('--muted');
  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'right';
  ctx.fillText(`grid ${step >= 100 ? `${step / 100} m` : `${step} cm`}`, w - 10, 18);

  // The server's map, under everything else: each tile's image placed by the map-to-screen transform.
  let mapCells = 0;
  if (mapShown) {
    const side = TILE * map.cell;
    const a = map.anchor;
    const [c, s] = [Math.cos(a.theta), Math.sin(a.theta)];
    // Screen x = X(-oy), y = Y(ox), with (ox, oy) = anchor ∘ (mx, my): an affine map of the map frame.
    const e0 = w / 2 - cx * scale;
    const f0 = h / 2 + cy * scale;
    ctx.save();
    ctx.setTransform(dpr * -scale * s, dpr * -scale * c, dpr * -scale * c, dpr * scale * s, dpr * (e0 - scale * a.y), dpr * (f0 - scale * a.x));
    ctx.imageSmoothingEnabled = false;
    for (const t of map.tiles.values()) {
      if (t.known === 0) continue;
      mapCells += t.known;
      ctx.drawImage(t.image, t.x * side, t.y * side, side, side);
    }
    ctx.restore();
  }

  // Start marker.
  ctx.fillStyle = color('--muted');
  ctx.beginPath(); ctx.arc(X(0), Y(0), 4, 0, Math.PI * 2); ctx.fill();
  ctx.textAlign = 'center';
  ctx.fillText('start', X(0), Y(0) + 24);

  // The planned (commanded) move, dashed.
  const planned = state.planned;
  if (planned?.to) {
    ctx.save();
    ctx.setLineDash([6, 6]);
    ctx.strokeStyle = color('--warn');
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(X(-planned.from.y), Y(planned.from.x)); ctx.lineTo(X(-planned.to[1]), Y(planned.to[0])); ctx.stroke();
    ctx.beginPath(); ctx.arc(X(-planned.to[1]), Y(planned.to[0]), 5, 0, Math.PI * 2); ctx.stroke();
    ctx.restore();
  } else if (planned?.turn) {
    const r = 34;
    const a0 = -((planned.from.heading + 90) * Math.PI) / 180;
    const a1 = a0 - (planned.turn * Math.PI) / 180;
    ctx.save();
    ctx.setLineDash([5, 5]);
    ctx.strokeStyle = color('--warn');
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(X(-planned.from.y), Y(planned.from.x), r, a0, a1, planned.turn > 0); ctx.stroke();
    ctx.restore();
  }

  // The lidar: earlier revolutions faint, this one bright.
  state.scans.forEach((points, i) => {
    const latest = i === state.scans.length - 1;
    ctx.fillStyle = color('--lidar') || '#e4572e';
    ctx.globalAlpha = latest ? 0.95 : 0.08 + (0.3 * i) / state.scans.length;
    const r = latest ? 2.2 : 1.5;
    for (const [x, y] of points) {
      ctx.beginPath(); ctx.arc(X(-y), Y(x), r, 0, Math.PI * 2); ctx.fill();
    }
  });
  ctx.globalAlpha = 1;

  // The driven path.
  if (state.path.length > 1) {
    ctx.strokeStyle = color('--accent-2');
    ctx.lineWidth = 3;
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    ctx.beginPath();
    state.path.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(X(-y), Y(x)) : ctx.lineTo(X(-y), Y(x))));
    ctx.lineTo(X(-state.pose.y), Y(state.pose.x));
    ctx.stroke();
  }

  // Where the map puts Alex (scan matched): a ring, beside the odometry's Alex below.
  if (mapShown && map.pose) {
    const [ox, oy] = fromMap(map.pose.x, map.pose.y);
    ctx.strokeStyle = color('--ok');
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(X(-oy), Y(ox), 7, 0, Math.PI * 2); ctx.stroke();
  }

  // Alex, seen from above: a body and an arrow for the heading.
  const size = Math.max(14, Math.min(26 * scale, 40));
  ctx.save();
  ctx.translate(X(-state.pose.y), Y(state.pose.x));
  ctx.rotate(-((state.pose.heading + 90) * Math.PI) / 180); // heading 0 points up
  ctx.fillStyle = color('--accent');
  ctx.strokeStyle = color('--text');
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.roundRect(-size / 2, -size * 0.32, size, size * 0.64, 4);
  ctx.fill();
  ctx.fillStyle = color('--text');
  ctx.beginPath();
  ctx.moveTo(size / 2 + 8, 0); ctx.lineTo(size / 2 - 2, -6); ctx.lineTo(size / 2 - 2, 6); ctx.closePath();
  ctx.fill();
  ctx.restore();

  canvas.dataset.points = String(state.path.length);
  canvas.dataset.scanPoints = String(scan.length);
  canvas.dataset.mapTiles = String(mapShown ? map.tiles.size : 0);
  canvas.dataset.mapCells = String(mapCells);
  canvas.dataset.mapSeq = String(map.seq);
  canvas.dataset.pose = `${state.pose.x.toFixed(1)},${state.pose.y.toFixed(1)},${state.pose.heading.toFixed(1)}`;
}

// ---- start ---------------------------------------------------------------------------------

bindControls();
refreshControls();
draw();
new ResizeObserver(() => draw()).observe($('path'));
window.matchMedia('(prefers-color-scheme: light)').addEventListener('change', draw);
setInterval(() => {
  const id = state.nextId++;
  if (send({ type: 'ping', id })) state.pending.set(id, { sent: performance.now(), text: 'ping' });
  if (state.lastStatusAt && Date.now() - state.lastStatusAt > 3000) $('status-age').textContent = `last update ${Math.round((Date.now() - state.lastStatusAt) / 1000)} s ago`;
}, PING_MS);
connect();
