// pinwheel dashboard: plain JS, no build step, everything from the board.
'use strict';
const $ = (sel, el = document) => el.querySelector(sel);
const FIELDS = { // the form fields each kind sends (the API's names)
  blink: ['period_ms'], pulse: ['duration_ms', 'active_level'],
  pattern: ['steps_ms', 'repeat'], sample: ['period_ms', 'window', 'pull'],
};
const form = $('#edit'), list = $('#cards'), tpl = $('#card-t');
const cards = new Map(); // id -> {el, b: last binding seen}
let token = localStorage.getItem('pinwheel.token');
let editing = null; // id of the binding the form edits, null = create
let board = null; // last GET /api/board

// A token in the URL fragment (#token=...) logs in; drop it from the URL.
const fromUrl = location.hash.match(/token=([^&]+)/);
if (fromUrl) {
  token = decodeURIComponent(fromUrl[1]);
  localStorage.setItem('pinwheel.token', token);
  history.replaceState(null, '', location.pathname + location.search);
}

function headers(json) {
  const h = {};
  if (token) h.Authorization = 'Bearer ' + token;
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

// One API call: the parsed JSON, or throws the API's {code, message, field}.
async function api(method, path, body) {
  const json = body !== undefined;
  let r;
  try {
    r = await fetch(path, { method, headers: headers(json),
      body: json ? (typeof body == 'string' ? body : JSON.stringify(body)) : undefined });
  } catch (e) {
    throw { message: 'the board does not answer: ' + e.message };
  }
  let data = null;
  if (r.status != 204) try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (r.status == 401) askToken(data && data.error && data.error.message);
  if (!r.ok) throw (data && data.error) || { message: 'HTTP ' + r.status };
  return data;
}

function askToken(why) {
  const f = $('#token');
  f.hidden = false;
  $('.err', f).textContent = token ? why || 'wrong API token' : 'this board needs its API token';
}

$('#token').onsubmit = e => {
  e.preventDefault();
  token = e.target.token.value.trim();
  localStorage.setItem('pinwheel.token', token);
  e.target.hidden = true;
  e.target.reset();
  clearErrors(form);
  refresh();
  loadPins();
  connect();
};

function say(text) {
  $('#msg').textContent = text;
}

// Show an API error next to the field it names (else under the form/box).
function showError(err, box) {
  const key = (err.field || '').replace(/[[.].*/, '').replace(/\W/g, '')
    .replace(/^level$/, 'active_level');
  const slot = (box && key && $(`[data-err="${key}"]`, box)) || (box && $('[data-err=""]', box));
  if (!slot) return say(err.message);
  slot.textContent = err.message;
  const input = box.elements && box.elements[key];
  if (input && input.setAttribute) input.setAttribute('aria-invalid', 'true');
}

function clearErrors(box) {
  for (const el of box.querySelectorAll('[data-err]')) el.textContent = '';
  for (const el of box.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  say('');
}

// Run an action; its error is shown, never swallowed.
async function run(fn, box) {
  try {
    await fn();
  } catch (err) {
    box ? showError(err, box) : say(err.message);
  }
}

// ---- cards -------------------------------------------------------------

function paramsText(b) {
  switch (b.kind) {
    case 'blink': return `toggles every ${b.period_ms} ms`;
    case 'pulse': return `${b.duration_ms} ms at level ${b.active_level}`;
    case 'pattern': return `steps ${b.steps_ms.join(' · ')} ms, ` +
      (b.repeat ? `${b.repeat}× (round ${b.rounds})` : 'forever');
    case 'sample': return `reads every ${b.period_ms} ms, window ${b.window}` +
      (b.pull ? `, pull ${b.pull}` : '');
  }
  return '';
}

function upsert(b) {
  let c = cards.get(b.id);
  if (!c) {
    const el = tpl.content.firstElementChild.cloneNode(true);
    el.id = 'b-' + b.id;
    el.dataset.id = b.id;
    list.append(el);
    c = { el };
    cards.set(b.id, c);
    $('#empty').hidden = true;
  }
  c.b = b;
  const el = c.el, k = name => $(`[data-k=${name}]`, el);
  const led = $('.led', el);
  led.classList.toggle('on', b.level == 1);
  led.setAttribute('aria-label', b.level == 1 ? 'pin high' : 'pin low');
  el.dataset.level = b.level;
  el.classList.toggle('stopped', !b.running);
  k('id').textContent = b.id;
  k('kind').textContent = b.kind;
  k('pin').textContent = typeof b.pin == 'number' ? 'GPIO ' + b.pin : b.pin;
  k('params').textContent = paramsText(b);
  k('state').textContent = b.running ? 'running' : 'stopped';
  k('fires').textContent = b.stats.fires;
  k('drops').textContent = b.stats.drops;
  k('late').textContent = (b.stats.late_max_us / 1000).toFixed(1);
  const s = k('samples');
  s.hidden = !b.samples;
  if (b.samples) {
    s.textContent = `high ${b.high_count}/${b.samples.length} · edges ${b.edges} · ` +
      b.samples.slice(-32).map(v => v ? '█' : '▁').join('');
  }
  k('error').hidden = !b.error;
  k('error').textContent = b.error || '';
  $('[data-a=toggle]', el).textContent = b.running ? 'Stop' : 'Start';
}

function drop(id) {
  const c = cards.get(id);
  if (!c) return;
  if (editing == id) closeEdit();
  c.el.remove();
  cards.delete(id);
  $('#empty').hidden = cards.size > 0;
}

function prune(ids) { // keep only the cards of these bindings
  for (const id of [...cards.keys()]) if (!ids.includes(id)) drop(id);
}

list.onclick = e => {
  const btn = e.target.closest('button[data-a]');
  if (!btn) return;
  const id = btn.closest('li').dataset.id, b = cards.get(id).b;
  const path = '/api/bindings/' + encodeURIComponent(id);
  if (btn.dataset.a == 'toggle') {
    run(async () => upsert(await api('POST', path + (b.running ? '/stop' : '/start'))));
  } else if (btn.dataset.a == 'edit') {
    editing == id ? closeEdit() : openEdit(b);
  } else if (confirm(`Delete binding "${id}"? Its pin and timer are freed.`)) {
    run(async () => {
      await api('DELETE', path);
      drop(id);
      say(`Deleted ${id}.`);
      loadPins();
    });
  }
};

// ---- the form: create, or edit a binding inside its card --------------------

function showKind() {
  const kind = form.elements.kind.value;
  for (const p of form.querySelectorAll('[data-kinds]')) {
    const on = p.dataset.kinds.split(' ').includes(kind);
    p.hidden = !on;
    for (const input of p.querySelectorAll('input, select')) input.disabled = !on;
  }
  fillPins();
}

function fillPins() {
  if (!board) return;
  const sel = form.elements.pin, old = sel.value;
  const need = form.elements.kind.value == 'sample' ? 'in' : 'out';
  const pins = board.pins.filter(p => p.caps.includes(need) &&
    (!p.used_by || p.used_by == editing));
  sel.replaceChildren(...pins.map(p =>
    new Option(typeof p.pin == 'number' ? 'GPIO ' + p.pin : p.pin, p.pin)));
  if (!pins.length) sel.append(new Option('no free pin', ''));
  if (pins.some(p => String(p.pin) == old)) sel.value = old;
}

async function loadPins() {
  try {
    board = await api('GET', '/api/board');
    fillPins();
  } catch (err) {
    showError(err, form);
  }
}

const number = v => /^-?\d+(\.\d*)?$/.test(v) ? Number(v) : v; // else the API explains

function readForm() {
  const f = form.elements, kind = f.kind.value, pin = f.pin.value;
  const body = { kind };
  if (pin !== '') body.pin = /^\d+$/.test(pin) ? Number(pin) : pin;
  for (const name of FIELDS[kind]) {
    const v = f[name].value.trim();
    if (name == 'pull') body.pull = v || null;
    else if (name == 'steps_ms') body.steps_ms = v.split(/[\s,]+/).filter(Boolean).map(number);
    else if (v !== '') body[name] = number(v);
  }
  if (!editing) {
    if (f.id.value.trim()) body.id = f.id.value.trim();
    body.start = f.start.checked;
  }
  return body;
}

form.onsubmit = e => {
  e.preventDefault();
  clearErrors(form);
  const id = editing;
  run(async () => {
    try {
      const b = id ? await api('PATCH', '/api/bindings/' + encodeURIComponent(id), readForm())
        : await api('POST', '/api/bindings', readForm());
      upsert(b);
      say(id ? `Saved ${b.id}.` : `Created ${b.id}.`);
      if (id) closeEdit();
      else form.elements.id.value = '';
    } finally {
      loadPins(); // someone else may have taken or freed pins meanwhile
    }
  }, form);
};

form.elements.kind.onchange = showKind;
form.oninput = e => { // editing a field clears its error
  const slot = e.target.name && $(`[data-err="${e.target.name}"]`, form);
  if (slot) slot.textContent = '';
  e.target.removeAttribute('aria-invalid');
};

function openEdit(b) {
  closeEdit();
  editing = b.id;
  clearErrors(form);
  const f = form.elements;
  f.kind.value = b.kind;
  for (const name of FIELDS[b.kind]) {
    const v = b[name];
    f[name].value = Array.isArray(v) ? v.join(', ') : v == null ? '' : v;
  }
  for (const p of form.querySelectorAll('[data-new]')) p.hidden = true;
  $('#f-go').textContent = 'Save';
  $('#f-cancel').hidden = false;
  form.setAttribute('aria-label', 'Edit ' + b.id);
  cards.get(b.id).el.append(form);
  $('#home').hidden = true;
  showKind();
  f.pin.value = String(b.pin);
  loadPins().then(() => { f.pin.value = String(b.pin); });
  f.kind.focus();
}

function closeEdit() {
  if (!editing) return;
  editing = null;
  form.reset();
  clearErrors(form);
  for (const p of form.querySelectorAll('[data-new]')) p.hidden = false;
  $('#f-go').textContent = 'Create';
  $('#f-cancel').hidden = true;
  form.removeAttribute('aria-label');
  $('#home').append(form);
  $('#home').hidden = false;
  showKind();
  loadPins();
}

$('#f-cancel').onclick = closeEdit;

// ---- status bar --------------------------------------------------------

function uptime(ms) {
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400);
  const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60]
    .map(n => String(n).padStart(2, '0')).join(':');
  return d ? `${d} d ${hms}` : hms;
}

function status(s) {
  $('#s-board').textContent = s.board;
  $('#s-uptime').textContent = uptime(s.uptime_ms);
  $('#s-heap').textContent = (s.mem_free / 1024).toFixed(1) + ' KB';
  $('#s-drops').textContent = s.drops_total;
  const banner = $('#safe'), problem = s.config_error;
  banner.hidden = !s.safe_mode && !problem;
  banner.textContent = (s.safe_mode ? 'Safe mode, no bindings loaded: ' : 'Config problem: ') +
    (problem ? problem.message : 'see the board log');
}

// ---- live updates: the event stream, else polling ---------------------

let live = false, pollTimer = 0, retryTimer = 0, retryMs = 1000, lastData = 0, stream = null;

function setLive(on) {
  live = on;
  $('#s-live').textContent = on ? 'live' : 'polling';
  clearInterval(pollTimer);
  pollTimer = on ? 0 : setInterval(refresh, 2000);
}

async function refresh() {
  await run(async () => {
    const [all, s] = await Promise.all([api('GET', '/api/bindings'), api('GET', '/api/status')]);
    all.bindings.forEach(upsert);
    prune(all.bindings.map(b => b.id));
    status(s);
  });
}

function onEvent(block) {
  let name = 'message', data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5);
  }
  if (!data) return; // a comment (keep-alive)
  const d = JSON.parse(data);
  if (name == 'binding') upsert(d);
  else if (name == 'removed') drop(d.id);
  else if (name == 'status') status(d);
  else if (name == 'ready') prune(d.ids);
}

// GET /api/events read with fetch (EventSource cannot send the token header
// and hides the 503 that says the board has no stream slot left).
async function connect() {
  clearTimeout(retryTimer);
  if (stream) stream.abort(); // one stream per page
  const ctl = new AbortController();
  stream = ctl;
  let wasLive = false;
  try {
    const r = await fetch('/api/events', { headers: headers(), signal: ctl.signal });
    if (r.status == 401) askToken();
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    setLive(wasLive = true);
    lastData = Date.now();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      lastData = Date.now();
      buf += value.replace(/\r/g, '');
      for (let i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) onEvent(buf.slice(0, i));
    }
  } catch (e) { /* refused or dropped: poll, then try again */ }
  if (stream != ctl) return; // replaced meanwhile
  setLive(false);
  retryMs = wasLive ? 1000 : Math.min(retryMs * 2, 10000); // 503 says 10 s
  retryTimer = setTimeout(connect, retryMs);
}

// A phone that wakes up reconnects at once instead of waiting for a timer.
document.onvisibilitychange = () => {
  if (!document.hidden && !live) connect();
};

// The board sends status every few seconds: silence means a dead link.
setInterval(() => {
  if (live && Date.now() - lastData > 15000) stream.abort();
}, 5000);

// ---- config backup / restore ------------------------------------------

$('#backup').onclick = () => run(async () => {
  clearErrors($('#cfg'));
  const cfg = await api('GET', '/api/config');
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([JSON.stringify(cfg, null, 2) + '\n'],
    { type: 'application/json' }));
  a.download = `pinwheel-${cfg.board}-config.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}, $('#cfg'));

$('#restore').onchange = e => {
  const file = e.target.files[0], box = $('#cfg');
  e.target.value = '';
  clearErrors(box);
  if (!file || !confirm(`Replace the whole config, all bindings included, with ${file.name}?`)) return;
  run(async () => {
    await api('PUT', '/api/config', await file.text());
    say(`Config restored from ${file.name}.`);
    refresh();
    loadPins();
  }, box);
};

showKind();
loadPins();
refresh();
connect();
