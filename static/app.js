// pinwheel dashboard: plain JS, no build step, everything from the board.
// The forms come from GET /api/kinds: a new kind needs nothing here.
// deploy.py drops whole-line comments and indentation, not comments at the
// end of a line: comments here stand on lines of their own.
'use strict';
const $ = (sel, el = document) => el.querySelector(sel);
const form = $('#edit'), list = $('#cards'), tpl = $('#card-t'), home = $('#home');
// id -> {el, b: last binding seen}
const cards = new Map();
let token = localStorage.getItem('pinwheel.token');
// the id of the binding the form edits, null = create
let editing = null;
// the last GET /api/board; kind -> its GET /api/kinds entry
let board = null, kinds = {};
// the pin the user picked stays picked (after an error)
let keepPin = false;
// field name -> what was typed, kept across kind changes
const typed = {};
// Per-kind hints, optional: a start button's verb, the wave of an output.
const VERB = { pulse: 'Pulse' };
const WAVE = { blink: b => Array(4).fill(b.period_ms) };
// ...and the live line of a card: what the kind counts or shows now
const ago = ms => ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s';
const LIVE = {
  edge: b => `presses ${num(b.presses)} · bounces ${num(b.bounces)}` +
    (b.last_edge_ms == null ? '' : ` · last edge ${ago(b.last_edge_ms)} ago`),
  counter: b => `count ${num(b.count)} · ${b.rate_per_s}/s · total ${num(b.total)} · bounces ${num(b.bounces)}`,
  pwm: b => `duty ${num(b.duty)} %` + (b.fading ? ` → ${num(b.target_duty)} %` : ''),
  breathe: b => `duty ${num(b.duty)} %`,
};

// A token in the URL fragment (#token=...) logs in; drop it from the URL.
const fromUrl = location.hash.match(/token=([^&]+)/);
if (fromUrl) {
  setToken(decodeURIComponent(fromUrl[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

function setToken(t) {
  token = t;
  t ? localStorage.setItem('pinwheel.token', t) : localStorage.removeItem('pinwheel.token');
}

const headers = json => Object.assign(token ? { Authorization: 'Bearer ' + token } : {},
  json && { 'Content-Type': 'application/json' });
// an element with its text; text of an element, set only when it changes
const mk = (tag, t = '') => Object.assign(document.createElement(tag), { textContent: t });
const put = (sel, t) => {
  const e = $(sel);
  if (e.textContent != t) e.textContent = t;
  return e;
};

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
  setToken(e.target.token.value.trim());
  e.target.hidden = true;
  e.target.reset();
  clearErrors(form);
  start();
  connect();
};

// A toast, fixed in view: the user sees it wherever the page is scrolled.
let toastTimer = 0;
function say(text) {
  const m = $('#msg');
  m.textContent = text;
  clearTimeout(toastTimer);
  if (text) toastTimer = setTimeout(() => { m.textContent = ''; }, 5000);
}

// ---- words for people --------------------------------------------------

// at most one decimal: a duty reads 64.6, not 64.59999999999999
const num = n => Number(n).toLocaleString('en', { maximumFractionDigits: 1 });
// "period_ms" -> "Period", "freq_hz" -> "Frequency": the unit is said once, after the value
const WORD = { freq: 'frequency' };
const label = f => {
  const n = f.name.replace(/_(ms|hz)$/, '');
  return ((WORD[n] || n)[0].toUpperCase() + (WORD[n] || n).slice(1)).replace(/_/g, ' ');
};
const unit = f => f.unit ? ' ' + f.unit : '';

// What a field takes, from its schema: "a whole number from 1 to 86,400,000 ms"
function takes(f, s = f.schema) {
  if (s.enum) return 'one of: ' + s.enum.map(v => v == null ? 'none' : v).join(', ');
  if (s.type == 'array') return `${s.minItems} to ${s.maxItems} numbers separated by commas, each ${takes(f, s.items)}`;
  return `a whole number from ${num(s.minimum)} to ${num(s.maximum)}${unit(f)}`;
}

// The API's error on a kind's field ("steps_ms[1] must be an integer from 1
// to 86400000") said in the form's words; other errors keep the API's.
function explain(err) {
  const f = (kinds[form.elements.kind.value] || { fields: [] }).fields
    .find(f => f.name == key(err.field));
  if (!f) return err.message;
  const i = /\[(\d+)\]/.exec(err.field);
  return i ? `${label(f)}: value ${+i[1] + 1} must be ${takes(f, f.schema.items)}.`
    : `${label(f)} must be ${takes(f)}.`;
}

const key = field => (field || '').replace(/[[.].*/, '');

// Show an API error next to the field it names: its own slot (the binding
// form), else the box's one slot, moved under that field (settings), else
// under the box with the field it names ("bindings[5].pin: ...").
function showError(err, box) {
  const name = key(err.field), f = err.field || '';
  // a 401: the token box says it (a late answer must not stay in a form)
  if (err.code == 'unauthorized') return;
  let slot = box && name && $(`[data-err="${name}"]`, box);
  const input = box && box.elements && (box.elements[f] || box.elements[name]);
  if (!slot && box) {
    slot = $('[data-err=""]', box);
    if (slot && input && box != form) input.closest('p').after(slot);
  }
  if (!slot) return say(err.message);
  // under the box: the message with its field in full ("bindings[1]: ..." of
  // field "bindings[1].pin" reads "bindings[1].pin: ...")
  const m = err.message, head = m.split(': ')[0];
  slot.textContent = box == form ? explain(err) : f && !input && !m.startsWith(f)
    ? f + ': ' + (f.startsWith(head) ? m.slice(head.length + 2) : m) : m;
  if (input && input.setAttribute) input.setAttribute('aria-invalid', 'true');
}

function clearErrors(box) {
  for (const el of box.querySelectorAll('[data-err]')) el.textContent = '';
  for (const el of box.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
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

const isRules = f => f.schema.items && f.schema.items.type == 'object';
const rulesRaw = v => v.map(r => `${r.when} ${r.do} ${r.binding}`).join('; ');
const show = v => Array.isArray(v) ? v.map(num).join(', ') : v == null ? 'none' : typeof v == 'string' ? v : num(v);
// a value as typed in the form
const raw = v => Array.isArray(v) ? (v.length && typeof v[0] == 'object' ? rulesRaw(v) : v.join(', '))
  : v == null ? '' : String(v);

// A binding's rules in words: "when pin 14 is pressed → toggle relay"
const WHEN = { press: 'is pressed', release: 'is released', rising: 'goes high', falling: 'goes low' };
const ruleText = (b, r) => `when pin ${b.pin} ${WHEN[r.when] || r.when.replace('count>=', 'has counted ')} → ${r.do} ${r.binding}`;

// "period 300 ms · window 16 readings": the kind's fields with their units
function paramsText(b) {
  const k = kinds[b.kind];
  return k ? k.fields.filter(f => !isRules(f))
    .map(f => `${label(f).toLowerCase()} ${show(b[f.name])}${unit(f)}`).join(' · ') : '';
}

// A step line through levels (1 up, 0 down), each ``widths[i]`` wide.
function wave(levels, widths) {
  let x = 0, d = '';
  levels.forEach((v, i) => {
    const y = v ? 2 : 18;
    d += (i ? `H${x}V${y}` : `M0 ${y}`);
    x += widths ? widths[i] : 1;
  });
  return `<svg viewBox="0 0 ${x} 20" preserveAspectRatio="none" aria-hidden="true">` +
    `<path d="${d}H${x}"/></svg>`;
}

function waveOf(b) {
  if (b.samples) return b.samples.length ? wave(b.samples) : '';
  const k = kinds[b.kind], arr = k && k.fields.find(f => f.schema.type == 'array' && !isRules(f));
  const steps = WAVE[b.kind] ? WAVE[b.kind](b) : arr && b[arr.name];
  return steps ? wave(steps.map((_, i) => 1 - i % 2), steps) : '';
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
  const el = c.el, k = name => $(`[data-k=${name}]`, el), st = b.stats || {};
  // a switch is on or off: no timer, nothing to count
  const sw = b.kind == 'switch';
  // on and off in the binding's own sense: an active-low output is on at 0
  const on = b.level == (b.active_level == null ? 1 : b.active_level);
  const led = $('.led', el);
  led.classList.toggle('on', on);
  led.setAttribute('aria-label', `${on ? 'on' : 'off'} (pin ${b.level ? 'high' : 'low'})`);
  el.dataset.level = b.level;
  el.dataset.on = on ? 1 : 0;
  el.classList.toggle('stopped', !b.running);
  k('id').textContent = b.id;
  k('kind').textContent = b.kind;
  k('pin').textContent = typeof b.pin == 'number' ? 'GPIO ' + b.pin : b.pin;
  k('params').textContent = paramsText(b);
  const state = k('state');
  state.textContent = b.error ? 'failed' : sw ? (b.running ? 'on' : 'off') : b.running ? 'running' : 'stopped';
  state.dataset.state = state.textContent;
  // what the timer did: fires, periods that never fired, work dropped,
  // how many fires came late (issue 19) and the worst
  k('stat').textContent = sw ? '' : ` · fires ${st.fires} · missed ${st.missed} · drops ${st.drops} · late ` +
    (st.late == null ? '' : st.late + ', ') + `max ${(st.late_max_us / 1000).toFixed(1)} ms`;
  const w = k('wave'), svg = waveOf(b);
  if (w.dataset.svg != svg) w.innerHTML = w.dataset.svg = svg;
  w.hidden = !svg;
  const s = k('samples');
  s.hidden = !b.samples && !LIVE[b.kind];
  if (b.samples) s.textContent = `high ${b.high_count}/${b.samples.length} · edges ${b.edges}`;
  else if (LIVE[b.kind]) s.textContent = LIVE[b.kind](b);
  const rules = k('rules');
  rules.hidden = !(b.on && b.on.length);
  rules.textContent = (b.on || []).map(r => ruleText(b, r)).join('\n');
  const duty = k('duty');
  duty.parentElement.hidden = b.kind != 'pwm';
  if (!sliding.has(b.id)) duty.value = b.target_duty;
  k('error').hidden = !b.error;
  k('error').textContent = b.error || '';
  $('[data-a=toggle]', el).textContent = sw ? (b.running ? 'Turn off' : 'Turn on')
    : b.running ? 'Stop' : VERB[b.kind] || 'Start';
  const nx = events.filter(e => e.binding == b.id && e.next_fire != null)
    .sort((x, y) => x.next_fire - y.next_fire)[0];
  k('next').hidden = !nx;
  if (nx) k('next').textContent = `next: ${nx.do} ${when(nx.next_fire)}`;
}

function drop(id) {
  const c = cards.get(id);
  if (!c) return;
  if (editing == id) closeEdit();
  c.el.remove();
  cards.delete(id);
  $('#empty').hidden = cards.size > 0;
}

// keep only the cards of these bindings
function prune(ids) {
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
      await api('DELETE', path).catch(err => {
        // events use it: delete them too, if the user says so
        if (err.code != 'binding_scheduled' || !confirm(err.message + '?')) throw err;
        return api('DELETE', path + '?cascade=1');
      });
      loadSched();
      drop(id);
      say(`Deleted ${id}.`);
      loadPins();
    });
  }
};

// The duty slider: while it moves, PATCH ?live=1 (the binding fades there,
// nothing is written to flash); one request at a time, the latest value
// wins. On release one PATCH without live=1: that one is saved.
// id -> [duty, save] waiting to be sent (null: none)
const sliding = new Map();
function slideTo(e, save) {
  if (e.target.dataset.k != 'duty') return;
  const id = e.target.closest('li').dataset.id, busy = sliding.has(id);
  sliding.set(id, [Number(e.target.value), save]);
  if (!busy) slide(id);
}
list.oninput = e => slideTo(e, false);
list.onchange = e => slideTo(e, true);

async function slide(id) {
  for (let d; (d = sliding.get(id));) {
    sliding.set(id, null);
    await run(async () => upsert(await api('PATCH', '/api/bindings/' + encodeURIComponent(id) +
      (d[1] ? '' : '?live=1'), { duty: d[0] })));
  }
  sliding.delete(id);
}

// ---- the form: create, or edit a binding inside its card --------------------

// One input for a field, from its schema: a select for a choice or a 0/1,
// a number, or a list of numbers.
function input(f) {
  const s = f.schema, id = 'f-' + f.name;
  let el;
  if (s.enum || s.maximum - s.minimum == 1) {
    el = document.createElement('select');
    const values = s.enum || [s.minimum, s.maximum];
    el.append(...values.map(v => new Option(v == null ? 'none' : v, v == null ? '' : v)));
  } else {
    el = document.createElement('input');
    if (s.type == 'array') {
      el.autocomplete = 'off';
      el.placeholder = isRules(f) ? 'e.g. press toggle relay; release stop relay' : 'e.g. 200, 200, 600';
    } else {
      Object.assign(el, { type: 'number', min: s.minimum, max: s.maximum });
      if (s.type == 'number') el.step = 0.1;
      el.inputMode = s.type == 'number' ? 'decimal' : 'numeric';
    }
  }
  el.id = id;
  el.name = f.name;
  const p = document.createElement('p');
  p.className = 'field';
  p.innerHTML = `<label for="${id}"></label><small class="hint"></small>` +
    `<small class="err" data-err="${f.name}" aria-live="polite"></small>`;
  p.firstChild.textContent = label(f) + (f.unit ? ` (${f.unit})` : '');
  p.firstChild.after(el);
  $('.hint', p).textContent = f.help;
  el.value = f.name in typed ? typed[f.name] : raw(f.default);
  return p;
}

function showKind() {
  const k = kinds[form.elements.kind.value];
  if (!k) return;
  for (const el of $('#f-fields').querySelectorAll('input, select')) typed[el.name] = el.value;
  $('#f-fields').replaceChildren(...k.fields.map(input));
  $('#f-doc').textContent = k.doc;
  fillPins();
}

// A pin that is safe to drive at boot: not a strapping pin (the board says
// which; where it does not, GPIO 0, a boot pin on every ESP32).
const strap = p => p.strapping || (board.strapping || [0]).includes(p.pin);

function fillPins() {
  const k = kinds[form.elements.kind.value];
  if (!board || !k) return;
  const sel = form.elements.pin, old = sel.value;
  const pins = board.pins.filter(p => p.caps.includes(k.output ? 'out' : 'in') &&
    (!p.used_by || p.used_by == editing || keepPin && String(p.pin) == old));
  sel.replaceChildren(...pins.map(p =>
    new Option((typeof p.pin == 'number' ? 'GPIO ' + p.pin : p.pin) +
      (p.used_by && p.used_by != editing ? ` (used by ${p.used_by})` : ''), p.pin)));
  if (!pins.length) sel.append(new Option('no free pin', ''));
  // the user's pick stays; else the board's LED, else the first safe pin
  const pick = pins.find(p => String(p.pin) == old) || pins.find(p => p.pin == board.led) ||
    pins.find(p => !strap(p));
  if (pick) sel.value = pick.pin;
}

async function loadPins() {
  try {
    board = await api('GET', '/api/board');
    fillPins();
  } catch (err) {
    showError(err, form);
  }
}

async function loadKinds() {
  const all = (await api('GET', '/api/kinds')).kinds, sel = form.elements.kind;
  kinds = {};
  for (const k of all) kinds[k.kind] = k;
  const old = sel.value;
  sel.replaceChildren(...all.map(k => new Option(k.kind)));
  if (kinds[old]) sel.value = old;
  showKind();
  // the cards' summaries need the kinds
  for (const c of cards.values()) upsert(c.b);
}

// a number, else the text as typed (the API explains)
const number = v => /^-?\d+(\.\d*)?$/.test(v) ? Number(v) : v;

function readForm() {
  const f = form.elements, kind = f.kind.value, pin = f.pin.value;
  const body = { kind };
  if (pin !== '') body.pin = /^\d+$/.test(pin) ? Number(pin) : pin;
  for (const field of kinds[kind].fields) {
    const v = f[field.name].value.trim(), s = field.schema;
    if (isRules(field)) body[field.name] = v.split(/[;\n]+/).map(r => r.trim().split(/\s+/))
      .filter(r => r[0]).map(([when, what, binding]) => ({ when, do: what, binding }));
    else if (s.type == 'array') body[field.name] = v.split(/[\s,]+/).filter(Boolean).map(number);
    else if (s.enum) body[field.name] = v === '' ? null : number(v);
    else if (v !== '') body[field.name] = number(v);
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
  keepPin = false;
  run(async () => {
    try {
      const b = id ? await api('PATCH', '/api/bindings/' + encodeURIComponent(id), readForm())
        : await api('POST', '/api/bindings', readForm());
      upsert(b);
      say(id ? `Saved ${b.id}.` : `Created ${b.id}.`);
      if (id) closeEdit();
      else {
        form.elements.id.value = '';
        openNew(false);
      }
      cards.get(b.id).el.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      // the message may name the pin: keep it in view
      keepPin = true;
      throw err;
    } finally {
      // someone else may have taken or freed pins meanwhile
      loadPins();
    }
  }, form);
};

form.elements.kind.onchange = showKind;
// editing a field clears its error
form.oninput = e => {
  const slot = e.target.name && $(`[data-err="${e.target.name}"]`, form);
  if (slot) slot.textContent = '';
  e.target.removeAttribute('aria-invalid');
};

// The "+" at the top opens (or closes) the new binding form there.
function openNew(open) {
  if (editing) closeEdit();
  home.hidden = !open;
  $('#add').setAttribute('aria-expanded', open);
  $('#add').textContent = open ? '×' : '+';
  if (open) form.elements.kind.focus();
}

$('#add').onclick = () => openNew(home.hidden);

function openEdit(b) {
  closeEdit();
  editing = b.id;
  clearErrors(form);
  const f = form.elements;
  f.kind.value = b.kind;
  for (const p of form.querySelectorAll('[data-new]')) p.hidden = true;
  $('#f-go').textContent = 'Save';
  form.setAttribute('aria-label', 'Edit ' + b.id);
  cards.get(b.id).el.append(form);
  showKind();
  for (const field of kinds[b.kind].fields) f[field.name].value = raw(b[field.name]);
  f.pin.value = String(b.pin);
  loadPins().then(() => { f.pin.value = String(b.pin); });
  f.kind.focus();
}

function closeEdit() {
  if (!editing) return openNew(false);
  editing = null;
  form.reset();
  clearErrors(form);
  // the binding's values are not typed ones
  $('#f-fields').replaceChildren();
  for (const name in typed) delete typed[name];
  for (const p of form.querySelectorAll('[data-new]')) p.hidden = false;
  $('#f-go').textContent = 'Create';
  form.removeAttribute('aria-label');
  home.append(form);
  showKind();
  loadPins();
}

$('#f-cancel').onclick = closeEdit;

// ---- status bar, and what the board says went wrong ------------------------

function uptime(ms) {
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400);
  const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60]
    .map(n => String(n).padStart(2, '0')).join(':');
  return d ? `${d} d ${hms}` : hms;
}

function status(s) {
  const m = s.mqtt || { state: 'off' }, lost = s.missed_total + s.drops_total, im = s.image,
    rb = im && im.rolled_back, h = s.host;
  put('#s-board', s.board);
  put('#s-uptime', uptime(s.uptime_ms));
  // free heap after a collection (issue 20), else the raw figure
  put('#s-heap', ((s.heap ? s.heap.free : s.mem_free) / 1024).toFixed(1) + ' KB');
  put('#s-drops', lost);
  put('#lost', lost ? `Lost ${lost}: ${s.missed_total} timer periods never fired, ${s.drops_total} ` +
    'deferred actions dropped (each card counts its own).' : '');
  put('#s-mqtt', m.state);
  put('#m-state', m.state == 'off' ? 'Off: no broker set.' :
    `${m.state}: ${m.broker} as ${m.client_id}, topics under ${m.base}/` + (m.error ? `; ${m.error}` : ''));
  if (s.clock) clockState(s.clock);
  // the image running (version, date, on trial or rolled back) and the host
  put('#about', [im && `${im.version} ${im.date.replace('T', ' ').slice(0, 16)}${im.trial ? ' on trial' : ''}`,
    rb && `${rb.version} rolled back: ${rb.why}`, h && `${h.name} ${h.ip}`].filter(Boolean).join('\n'))
    .className = rb ? 'err' : '';
  // the parts of config.json the board rejected; the rest runs
  const errs = s.config_errors || (s.config_error ? [{ where: 'config.json', message: s.config_error.message }] : []);
  $('#safe').hidden = !s.safe_mode && !errs.length;
  $('#fix').hidden = !s.config_errors || !errs.length;
  // nothing loaded: a file that is not JSON (or, before config_errors, any error)
  put('#safe-t', (s.config_errors ? errs.some(e => e.where == 'config.json') : s.safe_mode)
    ? 'Safe mode, no bindings loaded' + (errs.length ? ':' : ': see the log.')
    : `config.json: ${errs.length} ${errs.length > 1 ? 'parts were' : 'part was'} rejected, the rest runs:`);
  put('#safe-l', errs.map(e => `${e.where}: ${e.message}`).join('\n'));
}

// The rejected file, to fix and apply again (PUT /api/config) or discard.
const rej = $('#rej');
$('#fix').onclick = () => rej.hidden ? run(async () => {
  clearErrors(rej);
  // one key a line, to edit on a phone (a file that is not JSON: as it is)
  const r = await api('GET', '/api/config/rejected');
  rej.elements.text.value = r.config ? JSON.stringify(r.config, null, 1) : r.text;
  rej.hidden = false;
}) : rej.hidden = true;
rej.onsubmit = e => {
  e.preventDefault();
  clearErrors(rej);
  run(async () => {
    await api('PUT', '/api/config', rej.elements.text.value);
    rej.hidden = true;
    say('Config applied.');
    reload();
  }, rej);
};
$('#r-del').onclick = () => confirm('Discard the rejected file and what did not load?') &&
  run(async () => {
    await api('DELETE', '/api/config/rejected');
    rej.hidden = true;
    say('Rejected file discarded.');
    refresh();
  }, rej);

// ---- the event log, newest first: GET /api/log, then the stream's "log" events

const logs = $('#log-l'), seen = new Set();
function logAdd(e) {
  const id = e.up_ms + e.text;
  if (seen.has(id)) return;
  seen.add(id);
  const li = mk('li');
  li.append(mk('time', e.t == null ? '+' + (e.up_ms < 60000 ? ago(e.up_ms) : uptime(e.up_ms)) : when(e.t, 19)),
    ' ' + e.text);
  logs.prepend(li);
  if (logs.children.length > 100) logs.lastChild.remove();
}

async function loadLog() {
  try {
    const l = await api('GET', '/api/log');
    logs.replaceChildren();
    seen.clear();
    l.events.forEach(logAdd);
    $('#log').hidden = false;
  } catch (e) { /* a board without a log: no view */ }
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
  if (!live) loadLog();
}

function onEvent(block) {
  let name = 'message', data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5);
  }
  // no data: a comment (keep-alive)
  if (!data) return;
  const d = JSON.parse(data);
  if (name == 'binding') upsert(d);
  else if (name == 'removed') drop(d.id);
  else if (name == 'status') status(d);
  else if (name == 'ready') prune(d.ids);
  else if (name == 'log') logAdd(d);
}

// GET /api/events read with fetch (EventSource cannot send the token header
// and hides the 503 that says the board has no stream slot left).
async function connect() {
  clearTimeout(retryTimer);
  // one stream per page
  if (stream) stream.abort();
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
    // what happened before the stream opened (or while it was down)
    loadLog();
    lastData = Date.now();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      lastData = Date.now();
      buf += value.replace(/\r/g, '');
      for (let i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) onEvent(buf.slice(0, i));
    }
  } catch (e) { /* refused or dropped: poll, then try again */ }
  // replaced meanwhile
  if (stream != ctl) return;
  setLive(false);
  // a 503 says 10 s
  retryMs = wasLive ? 1000 : Math.min(retryMs * 2, 10000);
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
    reload();
  }, box);
};

// ---- settings: each form PATCHes its fields into the config ----------------
// ("wifi.ssid" -> {"wifi": {"ssid": ...}}); a secret shown as ******** is
// sent back as that, which keeps it.

const sets = document.querySelectorAll('.set'), zone = $('#z-name');
let zones = [];

// a field typed into before the config came (a slow board) keeps what was typed
for (const f of sets) f.addEventListener('input', e => { e.target.dataset.typed = 1; });

async function loadSettings() {
  const c = await api('GET', '/api/config');
  for (const f of sets) for (const el of f.elements) if (el.name && !el.dataset.typed) {
    const [a, b] = el.name.split('.'), v = b ? (c[a] || {})[b] : c[a];
    if (el.type == 'checkbox') el.checked = v ?? el.defaultChecked;
    else el.value = v ?? '';
  }
  // a named zone is shown by its name, with its rule
  const z = zones.find(z => z.name == c.time.tz);
  zone.value = z ? z.name : '';
  if (z) $('#z-tz').value = z.posix;
}

async function loadZones() {
  try {
    zones = (await api('GET', '/api/time/zones')).zones;
  } catch (e) { /* a board without named zones: the rule alone */ }
  zone.replaceChildren(new Option('Other: the rule below', ''), ...zones.map(z => new Option(z.name)));
  zone.parentElement.hidden = !zones.length;
}
zone.onchange = () => {
  const z = zones.find(z => z.name == zone.value);
  if (z) $('#z-tz').value = z.posix;
};
$('#z-tz').oninput = () => { zone.value = ''; };

function saveSettings(f, body) {
  clearErrors(f);
  run(async () => {
    await api('PATCH', '/api/config', body);
    if ('api_token' in body && body.api_token != '********') setToken(body.api_token);
    say(`${$('h3', f).textContent} saved.`);
    for (const el of f.elements) delete el.dataset.typed;
    await loadSettings();
    refresh();
  }, f);
}

for (const f of sets) f.onsubmit = e => {
  e.preventDefault();
  const body = {};
  for (const el of f.elements) if (el.name) {
    const [a, b] = el.name.split('.'), v = el.type == 'checkbox' ? el.checked : el.value.trim();
    if (v === '' && el.type == 'number') continue;
    const val = el.type == 'number' ? +v : v;
    if (b) (body[a] = body[a] || {})[b] = val;
    else body[a] = val;
  }
  if (f.id == 'tz' && zone.value) body.time.tz = zone.value;
  // an empty token: none (the board is open to changes again)
  if (body.api_token === '') body.api_token = null;
  saveSettings(f, body);
};
$('#m-off').onclick = () => saveSettings($('#mqtt'), { mqtt: null });

// "Use this phone's location": browsers give it only to https pages (and localhost).
$('#l-here').onclick = () => {
  const f = $('#loc'), geo = navigator.geolocation;
  const no = e => showError({ message: `no location from this phone (${e.message}): type it` }, f);
  clearErrors(f);
  geo ? geo.getCurrentPosition(({ coords: c }) => {
    f.elements['location.lat'].value = c.latitude.toFixed(4);
    f.elements['location.lon'].value = c.longitude.toFixed(4);
    f.requestSubmit();
  }, no) : no({ message: 'not offered here' });
};

// ---- schedule: the weeks of bindings with events, the board's clock ----------

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], evf = $('#ev');
// the event the form edits, null = new
let events = [], tzOff = 0, evId = null;
// board time, read with getUTC*: "mon 07:30" (n = 19: with seconds)
const local = t => new Date((t + tzOff) * 1000);
const when = (t, n = 16) => `${DAYS[(local(t).getUTCDay() + 6) % 7]} ${local(t).toISOString().slice(11, n)}`;
// minute of the day an event sits at on the strip (sun events: their next time)
const minute = e => e.at[2] == ':' ? e.at.slice(0, 2) * 60 + +e.at.slice(3)
  : e.next_fire != null ? local(e.next_fire).getUTCHours() * 60 + local(e.next_fire).getUTCMinutes()
  : e.at == 'sunrise' ? 360 : 1080;

function clockState(c) {
  $('#s-clock').textContent = c.synced ? 'set (' + c.source + ')' : 'not set';
  $('#clock').hidden = c.synced;
}

async function loadSched() {
  await run(async () => {
    const [l, t] = await Promise.all([api('GET', '/api/schedules'), api('GET', '/api/time')]);
    events = l.schedules;
    const m = /([+-])(\d\d):(\d\d)$/.exec(t.local);
    const off = m ? (m[1] + 1) * (m[2] * 3600 + m[3] * 60) : 0;
    // a new zone: the log's times again, in it
    if (off != tzOff) {
      tzOff = off;
      loadLog();
    }
    clockState(t);
    drawWeeks();
    for (const c of cards.values()) upsert(c.b);
  });
}

// A week per binding that has events: a row a day, 00:00 to 24:00 across.
function drawWeeks() {
  const ids = [...new Set(events.map(e => e.binding))];
  $('#no-ev').hidden = ids.length > 0;
  $('#weeks').replaceChildren(...ids.map(id => {
    const li = mk('li'), mine = events.filter(e => e.binding == id);
    let marks = '';
    for (const e of mine) DAYS.forEach((d, i) => {
      if (e.days.includes(d)) marks += `<rect x="${minute(e)}" y="${i * 10 + 1}" width="15" height="8" class="${e.do}${e.enabled ? '' : ' off'}"/>`;
    });
    li.className = 'card week';
    li.innerHTML = `<h3></h3><div class="wk"><p>${DAYS.map(d => `<span>${d}</span>`).join('')}</p>` +
      `<div><svg viewBox="0 0 1440 70" preserveAspectRatio="none" aria-hidden="true">` +
      `<path d="M360 0V70M720 0V70M1080 0V70"/>${marks}</svg>` +
      `<p class="hrs">${[0, 6, 12, 18, 24].map(h => `<span>${h}:00</span>`).join('')}</p></div></div>`;
    $('h3', li).textContent = id;
    for (const e of mine) {
      const b = mk('button', `${e.do} ${e.at}${e.offset_min ? (e.offset_min > 0 ? '+' : '') + e.offset_min + ' min' : ''}` +
        ` ${e.days.length == 7 ? 'daily' : e.days.join(' ')}${e.error ? ' ⚠' : ''}`);
      b.type = 'button';
      b.dataset.ev = e.id;
      // what is wrong with it, in words on the page (no tooltip on a phone)
      li.append(b, Object.assign(mk('p', e.error || ''), { className: 'err' }));
    }
    return li;
  }));
}

function openEv(e) {
  evId = e ? e.id : null;
  clearErrors(evf);
  const f = evf.elements, ids = [...cards.keys()];
  f.binding.replaceChildren(...ids.map(id => new Option(id)));
  e = e || { binding: ids[0], do: 'start', at: '', offset_min: 0, days: DAYS, enabled: true };
  for (const n of ['binding', 'do', 'at', 'offset_min']) f[n].value = e[n];
  f.enabled.checked = e.enabled;
  for (const d of DAYS) f[d].checked = e.days.includes(d);
  $('#e-del').hidden = !evId;
  evf.hidden = false;
  f.at.focus();
}

$('#e-days').append(...DAYS.map(d => {
  const l = mk('label');
  l.className = 'check';
  l.innerHTML = `<input type="checkbox" name="${d}"> ${d}`;
  return l;
}));
$('#add-ev').onclick = () => evf.hidden ? openEv() : (evf.hidden = true);
$('#e-cancel').onclick = () => { evf.hidden = true; };
$('#weeks').onclick = e => {
  const b = e.target.closest('[data-ev]');
  if (b) openEv(events.find(x => x.id == b.dataset.ev));
};
evf.onsubmit = e => {
  e.preventDefault();
  clearErrors(evf);
  const f = evf.elements, body = { binding: f.binding.value, do: f.do.value, at: f.at.value.trim(),
    days: DAYS.filter(d => f[d].checked), enabled: f.enabled.checked };
  if (!body.at.includes(':')) body.offset_min = number(f.offset_min.value || '0');
  run(async () => {
    await api(evId ? 'PUT' : 'POST', '/api/schedules' + (evId ? '/' + encodeURIComponent(evId) : ''), body);
    evf.hidden = true;
    say('Schedule saved.');
    await loadSched();
  }, evf);
};
$('#e-del').onclick = () => run(async () => {
  await api('DELETE', '/api/schedules/' + encodeURIComponent(evId));
  evf.hidden = true;
  await loadSched();
}, evf);
$('#setclock').onclick = () => run(async () => {
  await api('PUT', '/api/time', { epoch: Math.floor(Date.now() / 1000), source: 'browser' });
  say('Clock set from this phone.');
  await loadSched();
});

// After a whole new config: everything it may have changed.
function reload() {
  refresh();
  loadPins();
  loadSched();
  run(loadSettings);
}

// The kinds first: cards and forms are built from them; the cards before
// the settings, which are further down.
async function start() {
  await run(loadKinds, form);
  loadPins();
  await refresh();
  await loadSched();
  await loadZones();
  run(loadSettings);
}
// next times move on
setInterval(loadSched, 30000);

start();
connect();
