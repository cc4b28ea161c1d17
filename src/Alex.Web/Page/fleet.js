// Alex fleet page. Talks JSON over one WebSocket to the gateway that served it (docs/fleet.md "The fleet page";
// the messages are listed in the gateway's Fleet/FleetPageMessages.cs). It shows what the gateway sends: the states
// and who may STOP are decided there. No framework, no build step, nothing from the internet.
'use strict';

const $ = (id) => document.getElementById(id);
const RECONNECT_MS = [250, 500, 1000, 2000, 4000];
const AGE_TICK_MS = 500;

const state = {
  socket: null,
  attempt: 0,
  nextId: 1,
  mayStop: false,
  why: '',
  rows: [], // the last board's rows
  boardAt: 0, // performance.now() when it came: ages move on from there
  pending: new Map(), // id -> what was asked
  brokerLost: false, // the last board said the gateway has lost the broker
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
    showBanner(null);
  });
  ws.addEventListener('message', (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch { return; }
    onMessage(msg);
  });
  ws.addEventListener('close', () => {
    if (state.socket !== ws) return;
    state.socket = null;
    for (const [id, what] of state.pending) {
      state.pending.delete(id);
      log(`${what}: the gateway went away before answering; check the board`, false);
    }

    const delay = RECONNECT_MS[Math.min(state.attempt, RECONNECT_MS.length - 1)];
    state.attempt += 1;
    setBadge('badge-gateway', 'gateway-state', 'reconnecting', `reconnecting in ${(delay / 1000).toFixed(1)} s`);
    showBanner('Lost the gateway (alex fleet --web). Reconnecting by itself…', 'bad');
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

function onMessage(msg) {
  switch (msg.type) {
    case 'hello':
      $('broker').textContent = `broker: ${msg.broker}`;
      $('version').textContent = `alex ${msg.version}`;
      state.mayStop = msg.mayStop === true;
      state.why = msg.why || '';
      setBadge('badge-you', 'you', state.mayStop ? (msg.checked ? 'good' : 'slow') : 'watcher',
        `${msg.you} · ${state.mayStop ? (msg.checked ? 'instructor' : 'unchecked') : 'watch only'}`);
      refreshControls();
      break;
    case 'board':
      onBroker(msg.connected === true, msg.problem);
      state.rows = Array.isArray(msg.rows) ? msg.rows : [];
      state.boardAt = performance.now();
      renderBoard();
      break;
    case 'stopped': {
      const what = state.pending.get(msg.id);
      state.pending.delete(msg.id);
      log(msg.text || what || 'STOP', msg.ok === true);
      refreshControls();
      break;
    }
    case 'error':
      log(`the gateway: ${msg.text}`, false);
      break;
    default:
      break;
  }
}

// The gateway's hold on the broker: while it is lost the rows are as last heard and a STOP is answered "not sent";
// the gateway reconnects by itself and the banner goes when the broker is back.
function onBroker(connected, problem) {
  const wasLost = state.brokerLost;
  state.brokerLost = !connected;
  setBadge('badge-broker', 'broker-state', connected ? 'connected' : 'offline', connected ? 'connected' : 'lost, reconnecting');
  if (!connected) {
    showBanner(`The gateway lost the fleet broker${problem ? ` (${problem})` : ''}. It reconnects by itself; until then the rows below are as last heard and a STOP is not sent.`, 'bad');
  } else if (wasLost) {
    showBanner(null);
    log('the fleet broker is back', true);
  }
}

// ---- the board ----------------------------------------------------------------------------

function renderBoard() {
  const body = $('rows');
  const existing = new Map();
  for (const tr of body.querySelectorAll('tr')) existing.set(tr.dataset.robot, tr);
  const wanted = new Set();
  let previous = null;
  for (const row of state.rows) {
    wanted.add(row.robot);
    let tr = existing.get(row.robot);
    if (!tr) tr = newRow(row.robot);
    fillRow(tr, row);
    // Keep the gateway's order (worst first) with as few moves as possible.
    const want = previous ? previous.nextSibling : body.firstChild;
    if (tr !== want) body.insertBefore(tr, want);
    previous = tr;
  }

  for (const [robot, tr] of existing) {
    if (!wanted.has(robot)) tr.remove();
  }

  const online = state.rows.filter((r) => r.state !== 'offline').length;
  $('summary').textContent = state.rows.length === 0 ? '' : `${state.rows.length} · ${online} online`;
  $('empty').hidden = state.rows.length > 0;
  updateAges();
  refreshControls();
}

function newRow(robot) {
  const tr = document.createElement('tr');
  tr.dataset.robot = robot;
  for (const name of ['robot', 'state', 'lease', 'sessions', 'age', 'odometry', 'note', 'action']) {
    const td = document.createElement('td');
    td.className = name;
    tr.appendChild(td);
  }

  tr.querySelector('.robot').textContent = robot;
  const label = document.createElement('span');
  label.className = 'chip';
  tr.querySelector('td.state').appendChild(label);
  const stop = document.createElement('button');
  stop.type = 'button';
  stop.className = 'stop-one';
  stop.textContent = 'STOP';
  stop.addEventListener('click', () => stopOne(robot));
  tr.querySelector('.action').appendChild(stop);
  return tr;
}

function fillRow(tr, row) {
  tr.dataset.state = row.state;
  tr.dataset.ageMs = String(row.ageMs);
  tr.querySelector('.chip').textContent = row.state;
  tr.querySelector('.lease').textContent = row.lease || '—';
  tr.querySelector('.sessions').textContent = row.drivers === null ? '—' : `${row.drivers} driving · ${row.watchers} watching · ${row.admins} admin`;
  tr.querySelector('.odometry').textContent = row.forwardCm === null ? '—' : `${row.forwardCm} cm fwd · ${row.reverseCm} cm rev`;
  tr.querySelector('.note').textContent = row.note || '';
}

function updateAges() {
  const since = performance.now() - state.boardAt;
  for (const tr of $('rows').querySelectorAll('tr')) {
    const age = Number(tr.dataset.ageMs) + since;
    tr.querySelector('.age').textContent = ago(age);
  }
}

function ago(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

// ---- STOP ---------------------------------------------------------------------------------

function refreshControls() {
  const open = state.socket !== null && state.socket.readyState === WebSocket.OPEN;
  const online = state.rows.filter((r) => r.state !== 'offline').length;
  $('stop-all').disabled = !open || !state.mayStop;
  const why = $('stop-why');
  if (!state.mayStop) {
    why.textContent = state.why ? `STOP is not yours: ${state.why}` : 'waiting for the gateway…';
    why.dataset.kind = state.why ? 'refused' : '';
  } else {
    why.textContent = `${online} robot${online === 1 ? '' : 's'} online. ${state.why}`;
    why.dataset.kind = '';
  }

  for (const tr of $('rows').querySelectorAll('tr')) {
    const button = tr.querySelector('button.stop-one');
    const offline = tr.dataset.state === 'offline';
    button.disabled = !open || !state.mayStop || offline;
    button.title = !state.mayStop ? `STOP is not yours: ${state.why}` : offline ? 'offline: it would not hear a STOP' : `STOP ${tr.dataset.robot} now`;
  }

  if (!state.mayStop || !open) hideConfirm();
}

function askStopAll() {
  if (!state.mayStop) return;
  const online = state.rows.filter((r) => r.state !== 'offline').length;
  $('confirm-text').textContent = `STOP every robot on the broker (${online} online)?`;
  $('confirm').hidden = false;
  $('confirm-yes').focus();
}

function hideConfirm() {
  $('confirm').hidden = true;
}

function stopAll() {
  hideConfirm();
  request({ type: 'stop', all: true }, 'STOP all');
}

function stopOne(robot) {
  request({ type: 'stop', robot }, `STOP ${robot}`);
}

function request(body, what) {
  const id = state.nextId++;
  if (!send({ ...body, id })) {
    log(`${what}: not sent, the gateway is not connected`, false);
    return;
  }

  state.pending.set(id, what);
  log(`${what}: sent to the gateway…`, true);
}

// ---- small things -------------------------------------------------------------------------

function log(text, ok) {
  const li = document.createElement('li');
  li.dataset.ok = String(ok);
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  const list = $('log');
  list.insertBefore(li, list.firstChild);
  while (list.children.length > 50) list.lastChild.remove();
}

function setBadge(badge, value, dataState, text) {
  $(badge).dataset.state = dataState;
  $(value).textContent = text;
}

function showBanner(text, kind) {
  const banner = $('banner');
  if (!text) {
    banner.hidden = true;
    return;
  }

  banner.textContent = text;
  banner.dataset.kind = kind || '';
  banner.hidden = false;
}

$('stop-all').addEventListener('click', askStopAll);
$('confirm-yes').addEventListener('click', stopAll);
$('confirm-no').addEventListener('click', hideConfirm);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') hideConfirm();
});
setInterval(updateAges, AGE_TICK_MS);
connect();
