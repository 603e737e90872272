// The playground page: settings -> POST /api/train; the server's Server-Sent Events (/api/events)
// bring every run's loss points, epoch numbers, templates and test result. The page is drawn at
// most once an animation frame when something new arrived (the server sends at most five messages
// a second, two while a run trains at full speed), and not at all while the tab is hidden; the two
// uPlot charts are made once and kept (a run adds its series, a removed one's go), the table and
// panel are changed in place, pictures only when theirs changed (a run training at full speed: at
// most every PICTURE_MS). Drawing a digit asks /api/runs/<id>/predict for the selected run.
// Every text comes from i18n.js (Chinese first, English by the switch); the server's errors are
// said from their code, never parsed.
"use strict";

const $ = (id) => document.getElementById(id);
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                 "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const FIELDS = ["lr", "momentum", "nesterov", "weight_decay", "batch_size", "epochs",
                "preprocess", "lr_decay", "seed", "slow"];
const ENDED = ["done", "stopped", "diverged", "failed"];

const state = {
  hello: null,
  runs: new Map(),   // id -> {summary, points: [[x, loss]], epochs: [rows], templates, samples, test}
  order: [],         // run ids, oldest first
  training: null,    // the id of the run that trains (server's word, or ours just after Train)
  selected: null,
  hidden: new Set(), // runs hidden from the charts, kept across new runs
  starting: false,   // a Train request in flight
  stopping: false,
  followed: null,    // the run this page started or stopped: the message follows it
  note: null,        // () => {text, error}: the message under the buttons, re-said on a language switch
  chartsDirty: true,
  seriesKey: "",
};

const colorOf = (id) => PALETTE[(id - 1) % PALETTE.length];
// DOM writes only when something changed: a write of the same text still costs the page a layout,
// and the charts' frames come several times a second while a run trains
function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
function setHidden(el, hidden) { if (el.hidden !== hidden) el.hidden = hidden; }
function setAttr(el, name, value) { if (el.getAttribute(name) !== value) el.setAttribute(name, value); }
function setClass(el, name) { if (el.className !== name) el.className = name; }
const BLANK = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"; // 1x1, clear

// ---- settings ------------------------------------------------------------------------------

function fill(values) {
  for (const key of FIELDS) {
    const el = $(key);
    if (!(key in values)) continue;
    if (el.type === "checkbox") el.checked = values[key] === true || values[key] === "true" || values[key] === "1";
    else if (el.tagName === "SELECT") {
      if ([...el.options].some((o) => o.value === String(values[key]))) el.value = values[key];
    } else el.value = values[key];
  }
}

function readForm() {
  const out = {};
  for (const key of FIELDS) {
    const el = $(key);
    if (el.type === "checkbox") out[key] = el.checked;
    else if (el.tagName === "SELECT") out[key] = el.value;
    else out[key] = el.value.trim() === "" ? null : Number(el.value); // NaN -> null in JSON
  }
  return out;
}

// Settings in the URL: a link reproduces the run's settings (and ?lang= its language).
function settingsFromUrl() {
  const params = new URLSearchParams(location.search);
  const values = {};
  for (const key of FIELDS) if (params.has(key)) values[key] = params.get(key);
  return values;
}

function settingsToUrl(values) {
  const url = new URL(location.href);
  for (const key of FIELDS) url.searchParams.set(key, String(values[key]));
  history.replaceState(null, "", url);
}

function say(note) { // note: () => text, or null; errors via sayError
  state.note = note ? () => ({ text: note(), error: false }) : null;
  renderMessage();
}

function sayError(text) {
  state.note = () => ({ text: text(), error: true });
  renderMessage();
}

// A refused request, in the page's words: from the answer's code (and setting), else its status.
function errorText(status, answer) {
  const a = answer || {};
  switch (a.code) {
    case "setting": {
      if (a.setting && STRINGS.en[`rule.${a.setting}`]) {
        const max = a.setting === "epochs" ? state.hello?.max_epochs ?? 100 : 55000;
        return t("err.setting", t(`set.${a.setting}`), t(`rule.${a.setting}`, max));
      }
      return t("err.other", a.error || status);
    }
    case "busy": case "no_run": case "remove_training": case "diverged": case "no_weights":
      return t(`err.${a.code}`, a.run);
    case "idle": return t("err.idle");
    case "pages": return t("err.pages", a.limit);
    case "no_data": return t("err.no_data", a.dir);
    default:
      if ([404, 413, 422, 503].includes(status)) return t(`err.${status}`);
      if (status === 400) return t("err.400", a.error || "");
      return t("err.other", a.error || status);
  }
}

async function request(method, url, body) {
  const res = await fetch(url, {
    method, headers: { "Content-Type": "application/json" },
    body: method === "POST" ? (body === undefined ? "{}" : JSON.stringify(body)) : undefined,
  });
  let answer = {};
  try { answer = await res.json(); } catch { /* an empty or non-JSON answer */ }
  return { ok: res.ok, status: res.status, answer };
}

$("settings").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (state.starting || state.training !== null) return; // a double click asks once
  state.starting = true;
  renderButtons();
  say(() => t("msg.starting"));
  const form = readForm();
  try {
    const { ok, status, answer } = await request("POST", "/api/train", form);
    if (ok) {
      state.training = state.selected = state.followed = answer.id;
      state.stopping = false;
      settingsToUrl(form);
      say(null);
      if (matchMedia("(max-width: 820px)").matches) $("charts").scrollIntoView({ block: "start" });
    } else if (!(answer.code === "busy" && answer.run === state.followed)) {
      sayError(() => errorText(status, answer));
    }
  } catch (err) {
    sayError(() => t("msg.noServer", err.message));
  } finally {
    state.starting = false;
    renderAll();
  }
});

$("stop").addEventListener("click", async () => {
  if (state.training === null) return;
  state.stopping = true;
  state.followed = state.training;
  renderButtons();
  try {
    const { ok, status, answer } = await request("POST", "/api/stop");
    if (!ok) { state.stopping = false; sayError(() => errorText(status, answer)); }
    else renderMessage();
  } catch (err) {
    state.stopping = false;
    sayError(() => t("msg.noServer", err.message));
  }
  renderButtons();
});

$("pause").addEventListener("click", async () => {
  const run = state.runs.get(state.training);
  if (!run || !run.summary) return;
  $("pause").disabled = true;
  try {
    const { ok, status, answer } = await request("POST", run.summary.paused ? "/api/resume" : "/api/pause");
    if (ok) { run.summary.paused = answer.paused; state.followed = run.id; say(null); }
    else sayError(() => errorText(status, answer));
  } catch (err) {
    sayError(() => t("msg.noServer", err.message));
  }
  renderAll();
});

$("step").addEventListener("click", async () => {
  const run = state.runs.get(state.training);
  if (!run || !run.summary) return;
  $("step").disabled = true;
  try {
    const { ok, status, answer } = await request("POST", "/api/step");
    if (ok) { run.summary.paused = false; state.followed = run.id; say(null); }
    else sayError(() => errorText(status, answer));
  } catch (err) {
    sayError(() => t("msg.noServer", err.message));
  }
  renderAll();
});

$("defaults").addEventListener("click", () => {
  if (state.hello) fill(state.hello.defaults);
  say(() => t("msg.defaults"));
});

$("preprocess").addEventListener("change", () => {
  if ($("preprocess").value === "best" && state.hello) {
    const b = state.hello.best;
    fill({ lr: b.lr, momentum: b.momentum, epochs: b.epochs, batch_size: b.batch_size,
           lr_decay: b.lr_decay });
    say(() => t("msg.best"));
  }
});

for (const button of document.querySelectorAll("button.help")) {
  button.addEventListener("click", () => {
    const text = $(button.getAttribute("aria-controls"));
    text.hidden = !text.hidden;
    button.setAttribute("aria-expanded", String(!text.hidden));
  });
}

// ---- the server's events -------------------------------------------------------------------

function runOf(id) {
  let run = state.runs.get(id);
  if (!run) {
    run = { id, summary: null, points: [], epochs: [], templates: null, samples: null, test: null,
            status: "", message: "" };
    state.runs.set(id, run);
  }
  return run;
}

const events = new EventSource("/api/events");

events.addEventListener("hello", (e) => {
  const first = state.hello === null;
  state.hello = JSON.parse(e.data);
  state.runs.clear(); // a reconnect sends everything again
  state.order = [];
  if (first) {
    fill(state.hello.defaults);
    fill(settingsFromUrl());
  }
  $("to-draw").hidden = !state.hello.draw_page;
  if (!first) say(() => t("msg.reconnected"));
  renderAll();
});

events.addEventListener("runs", (e) => {
  const msg = JSON.parse(e.data);
  state.order = msg.runs.map((r) => r.id);
  for (const id of [...state.runs.keys()]) if (!state.order.includes(id)) state.runs.delete(id);
  for (const id of [...state.hidden]) if (!state.order.includes(id)) state.hidden.delete(id);
  for (const summary of msg.runs) runOf(summary.id).summary = summary;
  if (msg.training !== null && msg.training !== state.training) state.selected = msg.training;
  if (msg.training === null) state.stopping = false;
  if (!state.starting) state.training = msg.training;
  if (!state.runs.has(state.selected)) state.selected = state.order.at(-1) ?? null;
  pending.list = pending.selected = pending.message = true;
  chartsChanged();
});

events.addEventListener("run", (e) => {
  const msg = JSON.parse(e.data);
  const run = runOf(msg.id);
  run.points.push(...msg.points);
  run.epochs.push(...msg.epochs);
  if ("status" in msg) {
    Object.assign(run, { status: msg.status, message: msg.message, templates: msg.templates,
                         samples: msg.samples, test: msg.test });
    if (msg.id === state.selected) {
      pending.selected = true;
      if (drawn) predictSoon(); // the drawn digit, read again by the new weights
    }
  }
  chartsChanged();
});

events.addEventListener("bye", (e) => {
  events.close(); // this page's place went to a newer page: no reconnecting (it would take another's)
  const msg = JSON.parse(e.data);
  sayError(() => (LANG === "zh" ? msg.zh : msg.en)); // the server says it in both languages
});

events.onerror = () => {
  if (events.readyState !== EventSource.OPEN) sayError(() => t("msg.lost"));
};

// ---- words for a run -------------------------------------------------------------------------

const namesSaid = new Map(); // run id -> {key, text}: a name is asked for several times a frame

function runName(s) {
  if (!s.settings) return s.name; // a model file opened by serve MODEL: its file name
  const key = `${LANG}${JSON.stringify(s.settings)}`;
  const said = namesSaid.get(s.id);
  if (said && said.key === key && said.hello === state.hello) return said.text;
  const text = nameOf(s.settings);
  namesSaid.set(s.id, { key, hello: state.hello, text });
  return text;
}

function nameOf(set) { // the settings that differ from the course's defaults (or from "best")
  const d = state.hello ? state.hello.defaults : {};
  let base = d;
  const parts = [];
  if (set.deskew) {
    base = { ...d, ...state.hello.best };
    parts.push(t("opt.best").split(/[：:]/)[0]);
  }
  for (const key of ["lr", "momentum", "weight_decay", "batch_size", "epochs", "preprocess", "lr_decay", "seed"]) {
    if (set[key] !== base[key] && !(key === "preprocess" && set.deskew)) {
      const name = t(`set.${key}`).replace(/[（(].*[）)]/, ""); // 轮次（epoch） -> 轮次
      parts.push(`${name} ${typeof set[key] === "number" ? fmtNum(set[key]) : set[key]}`);
    }
  }
  if (set.nesterov) parts.push("Nesterov");
  return parts.join(LANG === "zh" ? "，" : ", ") || t("btn.defaults");
}

const label = (s) => `#${s.id} ${runName(s)}`;

function statusText(s) {
  const test = s.test_acc != null ? t("status.test", fmtPct(s.test_acc)) : "";
  const epoch = Math.min(s.epochs_done + 1, s.epochs);
  switch (s.status) {
    case "training": return s.paused ? t("status.paused", epoch, s.epochs) : t("status.training", epoch, s.epochs);
    case "done": return t("status.done", s.epochs) + test;
    case "stopped": return t("status.stopped", s.stopped_at.epoch, s.stopped_at.step) + test;
    case "loaded": return t("status.loaded") + test;
    case "loading": return t("status.loading");
    case "diverged": return t("status.diverged", s.diverged ? s.diverged.epoch : "?");
    case "failed": return t("status.failed", s.message);
    default: return t("status.waiting");
  }
}

function divergenceText(s) { // where the divergence rule fired, and why the rule is what it is
  const d = s.diverged;
  if (!d) return "";
  const why = d.loss === null ? t("diverge.nan", d.epoch)
    : t("diverge.mean", d.epoch, fmtNum(d.loss), fmtNum(d.limit), state.hello.divergence_factor);
  return `${why} ${t("diverge.advice", fmtNum(d.lr / 10))}${d.weight_decay ? " " + t("diverge.wd", fmtNum(d.weight_decay / 100)) : ""}`;
}

// The lr-100 lesson: a loss far above what the course's settings reach, while accuracy looks fine.
function highLoss(s) {
  return state.hello && s.status !== "diverged" && s.train_loss != null && s.train_loss > state.hello.high_loss;
}

function highLossText(s) {
  const acc = s.test_acc ?? s.val_acc;
  return t("warn.highLoss", s.id, fmtNum(s.train_loss), acc == null ? "–" : fmtPct(acc),
           state.hello.course_loss.join("–"), fmtNum(state.hello.divergence_limit));
}

// ---- buttons and the message: they follow the run ------------------------------------------

function renderButtons() {
  const training = state.training !== null;
  const run = training ? state.runs.get(state.training) : null;
  const paused = Boolean(run && run.summary && run.summary.paused);
  $("train").disabled = training || state.starting || !state.hello;
  $("stop").disabled = !training || state.stopping;
  $("pause").disabled = !training || state.stopping || !(run && run.summary && run.summary.status === "training");
  setText($("pause"), t(paused ? "btn.resume" : "btn.pause"));
  $("pause").setAttribute("aria-pressed", String(paused));
  $("step").disabled = !paused || state.stopping; // one more epoch: from a pause
  $("step").title = t("btn.stepTitle");
}

function renderMessage() {
  const el = $("message");
  let text = "", error = false;
  if (state.note) {
    ({ text, error } = state.note());
  } else {
    const run = state.runs.get(state.training ?? state.followed);
    const s = run && run.summary;
    if (s && s.status === "loading") text = t("msg.loading", s.id);
    else if (s && s.status === "training") {
      const e = Math.min(s.epochs_done + 1, s.epochs);
      text = state.stopping ? t("msg.stopping", s.id)
        : s.paused ? t("msg.paused", s.id, e, s.epochs) : t("msg.training", s.id, e, s.epochs);
      const last = run.points.at(-1); // the live readout: the latest loss, the images seen so far
      if (last && !state.stopping) {
        text += " " + t("msg.live", fmtNum(last[1]), Math.round(last[0] * state.hello.n_train).toLocaleString("en"));
      }
    } else if (s && ENDED.includes(s.status)) {
      text = t("msg.ended", s.id, statusText(s));
      error = s.status === "diverged" || s.status === "failed";
    }
  }
  setText(el, text);
  el.classList.toggle("error", error);
}

// ---- the table of runs: show, select, final numbers, remove -------------------------------------

const runRows = new Map(); // id -> the row's elements: updated in place, not rebuilt

function runRow(id) {
  const row = document.createElement("tr");
  const show = document.createElement("input");
  show.type = "checkbox";
  show.className = "show";
  show.id = `show-${id}`;
  show.addEventListener("change", () => {
    if (show.checked) state.hidden.delete(id); else state.hidden.add(id);
    chartsChanged();
  });
  const radio = document.createElement("input");
  Object.assign(radio, { type: "radio", name: "run", id: `run-${id}`, value: id });
  radio.addEventListener("change", () => select(id));
  const lab = document.createElement("label");
  lab.htmlFor = radio.id;
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = colorOf(id);
  const name = document.createElement("span");
  name.className = "run-name";
  const status = document.createElement("span");
  lab.append(swatch, name, status);
  const runCell = document.createElement("td");
  runCell.className = "run-cell";
  runCell.append(radio, lab);
  const cells = [document.createElement("td"), runCell];
  cells[0].append(show);
  const nums = [0, 1, 2].map(() => {
    const td = document.createElement("td");
    td.className = "num";
    return td;
  });
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "remove";
  remove.id = `remove-${id}`;
  remove.textContent = "×";
  remove.addEventListener("click", () => removeRun(id));
  const last = document.createElement("td");
  last.append(remove);
  row.append(...cells, ...nums, last);
  return { row, show, radio, name, status, nums, remove, runCell, link: null };
}

async function removeRun(id) {
  try {
    const { ok, status, answer } = await request("DELETE", `/api/runs/${id}`);
    if (!ok) sayError(() => errorText(status, answer));
  } catch (err) {
    sayError(() => t("msg.noServer", err.message));
  }
}

function renderRuns() {
  const body = $("runs").tBodies[0];
  for (const [id, r] of runRows) {
    if (!state.runs.has(id)) { r.row.remove(); runRows.delete(id); }
  }
  let before = body.firstChild; // newest first
  for (const id of [...state.order].reverse()) {
    const s = state.runs.get(id).summary;
    if (!runRows.has(id)) runRows.set(id, runRow(id));
    const r = runRows.get(id);
    if (r.row !== before) body.insertBefore(r.row, before);
    before = r.row.nextSibling;
    setClass(r.row, "run" + (id === state.selected ? " selected" : ""));
    r.radio.checked = id === state.selected;
    r.show.checked = !state.hidden.has(id);
    setAttr(r.show, "aria-label", t("runs.showLabel", label(s)));
    setText(r.name, label(s));
    setClass(r.status, `run-status ${s.status}`);
    setText(r.status, statusText(s));
    ["runs.trainLoss", "runs.valAcc", "runs.testAcc"].forEach((key, i) => setAttr(r.nums[i], "data-label", t(key)));
    const high = highLoss(s);
    setText(r.nums[0], (high ? "⚠ " : "") + (s.train_loss == null ? "–" : fmtNum(s.train_loss)));
    r.nums[0].classList.toggle("high", high);
    setAttr(r.nums[0], "title", high ? highLossText(s) : "");
    setText(r.nums[1], s.val_acc == null ? "–" : fmtPct(s.val_acc));
    setText(r.nums[2], s.test_acc == null ? "–" : fmtPct(s.test_acc));
    r.remove.disabled = id === state.training;
    setAttr(r.remove, "aria-label", t("btn.removeLabel", label(s)));
    setAttr(r.remove, "title", t("btn.removeLabel", label(s)));
    if (s.downloadable && !r.link) {
      r.link = document.createElement("a");
      r.link.href = `/api/runs/${id}/model.npz`;
      r.link.download = `model-run${id}.npz`;
      r.link.id = `download-${id}`;
      r.link.className = "download";
      r.runCell.append(r.link);
    }
    if (r.link) {
      setText(r.link, t("runs.download"));
      setAttr(r.link, "title", t("runs.downloadTitle", id));
    }
  }
  setHidden($("runs-none"), state.order.length > 0);
  setHidden($("runs"), state.order.length === 0);
  if (state.hello) setText($("runs-note"), t("runs.note", state.hello.max_runs));
}

function select(id) {
  state.selected = id; // its curve is drawn thicker at the next frame
  renderRuns();
  renderSelected();
  chartsChanged();
  if (drawn) predictSoon();
}

// ---- the selected run: templates, validation digits, test result, mistakes ------------------------

const templateCanvases = [];
const sampleFigs = [];
for (let d = 0; d < 10; d++) {
  const fig = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 28;
  canvas.dataset.digit = d;
  zoomable(canvas, () => ({ src: canvas.toDataURL(), alt: t("draw.template", d) }));
  const cap = document.createElement("figcaption");
  cap.textContent = d;
  fig.append(canvas, cap);
  $("templates").append(fig);
  templateCanvases.push(canvas);

  const sfig = document.createElement("figure");
  const simg = document.createElement("img");
  simg.width = simg.height = 28;
  const scap = document.createElement("figcaption");
  sfig.append(simg, scap);
  $("samples").append(sfig);
  sampleFigs.push({ fig: sfig, img: simg, cap: scap });
}

function setSrc(img, src) { // the same src set again would decode the picture again
  if (img.getAttribute("src") !== src) img.src = src;
}

function renderSelected() {
  const run = state.runs.get(state.selected);
  const s = run && run.summary;
  setText($("selected-name"), s ? label(s) : "–");
  setText($("selected-status"), s ? [statusText(s), s.status === "diverged" ? divergenceText(s) : ""]
    .filter(Boolean).join(" — ") : t("sel.none"));
  $("selected-status").classList.toggle("error", Boolean(s && s.status === "diverged"));
  const warn = s && highLoss(s);
  setHidden($("run-warning"), !warn);
  setText($("run-warning"), warn ? highLossText(s) : "");
  drawTemplates(run && run.templates);
  for (const c of templateCanvases) setAttr(c, "aria-label", t("draw.template", c.dataset.digit));
  setHidden($("samples-note"), Boolean(run && run.samples));
  setHidden($("samples"), !(run && run.samples));
  sampleFigs.forEach((shown, d) => { // each digit redone only when its picture or guess changed
    const sample = run && run.samples && run.samples[d];
    const key = sample ? [sample.image, sample.pred, sample.label, sample.prob, LANG].join("|") : null;
    if (shown.key === key) return;
    shown.key = key;
    const { fig, img, cap } = shown;
    if (!sample) {
      setClass(fig, "");
      setSrc(img, BLANK);
      img.alt = "";
      cap.textContent = "";
      return;
    }
    setSrc(img, sample.image);
    img.alt = t("sel.sampleAlt", d, sample.pred);
    if (sample.pred === undefined) {
      setClass(fig, "");
      cap.textContent = `${d}: …`;
    } else {
      setClass(fig, sample.pred === sample.label ? "right" : "wrong");
      cap.replaceChildren(`${d}→${sample.pred}`, document.createElement("br"),
                          `${Math.round(100 * sample.prob)}%`);
    }
  });
  renderTest(run && run.test, s);
  if (lastAnswer && !lastAnswer.message) renderDrawStatus();
}

// A run training at full speed sends new pictures every epoch, many times a second: the panel
// follows it at most every PICTURE_MS (at once when the run ends or another run is selected),
// as often as one can look at them, so that drawing them takes little of the training's CPUs.
const PICTURE_MS = 500;
const panel = { at: -Infinity, id: null, timer: 0 };

function renderSelectedSoon() {
  const run = state.runs.get(state.selected);
  const training = Boolean(run && run.summary && run.summary.status === "training");
  const wait = panel.at + PICTURE_MS - performance.now();
  if (training && panel.id === state.selected && wait > 0) {
    if (!panel.timer) {
      panel.timer = setTimeout(() => { panel.timer = 0; pending.selected = true; askFrame(); }, wait);
    }
    return;
  }
  panel.at = performance.now();
  panel.id = state.selected;
  renderSelected();
}

function renderDrawStatus() {
  const ok = lastAnswer && lastAnswer.result && lastAnswer.result.probs;
  $("draw-status").textContent = drawHint() || (ok ? "" : t("draw.hint"));
}

let templatesDrawn; // undefined: not even the empty state drawn yet

// W's ten columns as 28x28 pictures: white at 0, red where ink raises the score, blue where it
// lowers it, one scale for all ten (the colours of web.template_image, drawn here from int8).
function drawTemplates(templates) {
  const key = templates ? templates.int8 : null; // a message may repeat the same weights
  if (key === templatesDrawn) return;
  templatesDrawn = key;
  const q = templates ? new Int8Array(Uint8Array.from(atob(templates.int8), (c) => c.charCodeAt(0)).buffer)
                      : null;
  templateCanvases.forEach((canvas, d) => {
    const c2d = canvas.getContext("2d");
    canvas.classList.toggle("empty", !q);
    if (!q) {
      c2d.clearRect(0, 0, 28, 28);
      return;
    }
    const picture = c2d.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = q[d * 784 + i] / 127;
      const fade = Math.trunc(255 * (1 - Math.abs(v)));
      picture.data.set([v > 0 ? 255 : fade, fade, v < 0 ? 255 : fade, 255], 4 * i);
    }
    c2d.putImageData(picture, 0, 0);
  });
}

function renderTest(test, s) {
  const table = $("confusion");
  renderMistakes(test && test.mistakes);
  if (!test) {
    setText($("test-acc"), s && s.status === "diverged" ? t("sel.testNone") : t("sel.testPending"));
    setHidden(table, true);
    table.shown = null;
    return;
  }
  if (table.shown === test && table.lang === LANG) return; // the same result, already drawn
  table.shown = test;
  table.lang = LANG;
  const strong = document.createElement("strong");
  strong.textContent = fmtPct(test.acc);
  $("test-acc").replaceChildren(`${t("sel.testAcc")} `, strong, t("sel.testLoss", fmtNum(test.loss)));
  const caption = table.querySelector("caption");
  table.replaceChildren(caption);
  const head = table.createTHead().insertRow();
  head.append(document.createElement("td"));
  for (let d = 0; d < 10; d++) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = d;
    head.append(th);
  }
  const body = table.createTBody();
  test.confusion.forEach((row, truth) => {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = truth;
    tr.append(th);
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((n, p) => {
      const td = tr.insertCell();
      td.textContent = n;
      const share = n / total;
      // dark text on light tints: the diagonal at most 45% green, errors at most 40% red (axe: 4.5:1)
      td.style.background = truth === p ? `rgba(44, 160, 44, ${(0.45 * share).toFixed(3)})`
                                        : `rgba(214, 39, 40, ${Math.min(0.4, 3.2 * share).toFixed(3)})`;
    });
  });
  table.hidden = false;
}

let mistakesShown;

function renderMistakes(mistakes) {
  const key = mistakes ? mistakes.map((m) => m.index).join(",") + LANG : null;
  if (key === mistakesShown) return;
  mistakesShown = key;
  $("mistakes-box").hidden = !(mistakes && mistakes.length);
  const box = $("mistakes");
  box.replaceChildren();
  for (const m of mistakes || []) {
    const item = document.createElement("div");
    item.className = "mistake";
    const title = document.createElement("p");
    title.textContent = t("sel.mistake", m.label, m.pred, fmtPct(m.prob));
    item.append(title);
    const row = document.createElement("div");
    row.className = "mistake-pics";
    row.append(figure(m.seen, t("sel.seenShort"), t("draw.seen"), "seen"),
               figure(m.evidence[0], t("sel.evChosen", m.pred), t("why.evAlt", m.pred)),
               figure(m.evidence[1], t("sel.evTrue", m.label), t("why.evAlt", m.label)));
    item.append(row);
    box.append(item);
  }
}

// ---- charts (uPlot) ------------------------------------------------------------------------

const charts = { loss: null, acc: null };
const EPOCH_TICKS = [1, 2, 5, 10, 20, 50, 100]; // ticks at whole epochs
const CHART_HEIGHT = 230;
const lossView = { top: 2.5, clipped: [] }; // the loss axis's top, and the runs above it

const chartWidths = new Map(); // element -> its width, as the ResizeObserver last saw it

// A chart's width without asking for a layout (clientWidth in the middle of a frame's changes
// would lay the page out once more): the ResizeObserver's last width, clientWidth only before it.
function chartWidth(el) { return Math.max(240, chartWidths.get(el) ?? el.clientWidth); }

function charted() { // the runs with curves (a model file opened by serve MODEL has none)
  return state.order.filter((id) => state.runs.get(id).points.length > 0);
}

// The loss axis's top: from the visible runs that behave (not diverged, loss not far above the
// course's), so one run that runs away is clipped at the top instead of flattening the rest.
function lossTop(ids) {
  const limit = state.hello ? state.hello.divergence_limit : 23;
  const visible = ids.filter((id) => !state.hidden.has(id));
  const maxOf = (id) => state.runs.get(id).points.reduce(
    (m, p) => (Number.isFinite(p[1]) ? Math.max(m, p[1]) : m), 0);
  const normal = visible.filter((id) => {
    const s = state.runs.get(id).summary;
    if (!s || s.status === "diverged") return false;
    return s.train_loss != null ? !highLoss(s) : maxOf(id) <= limit;
  });
  const top = Math.max(0, ...(normal.length ? normal : visible).map(maxOf));
  return Math.min(top || 2.5, limit);
}

function tipPlugin(kind) { // values on hover: each visible run's nearest point to the cursor
  let tip;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement("div");
        tip.className = "tip";
        tip.hidden = true;
        u.over.append(tip);
      },
      setCursor: (u) => {
        const left = u.cursor.left;
        if (left == null || left < 0) { tip.hidden = true; return; }
        const x = u.posToVal(left, "x");
        const lines = [];
        for (const id of charted()) {
          if (state.hidden.has(id)) continue;
          const run = state.runs.get(id);
          const pts = kind === "loss" ? run.points : run.epochs.map((e) => [e.epoch, e.val_acc]);
          const near = kind === "loss" ? 0.05 : 0.5; // epochs: a run that ended before x is not shown
          if (!pts.length || x < pts[0][0] - near || x > pts.at(-1)[0] + near) continue;
          let best = pts[0];
          for (const p of pts) if (Math.abs(p[0] - x) < Math.abs(best[0] - x)) best = p;
          let v = kind === "loss" ? fmtNum(best[1]) : fmtPct(best[1]);
          const row = kind === "loss" && run.epochs.find((e) => Math.abs(e.epoch - x) < 0.25);
          if (row) v += ` · ${t("charts.valLoss")} ${fmtNum(row.val_loss)}`;
          lines.push([colorOf(id), `#${id}: ${v}`, best[0]]);
        }
        if (!lines.length) { tip.hidden = true; return; }
        tip.replaceChildren();
        const head = document.createElement("div");
        head.textContent = t("charts.tipEpoch", Number(lines[0][2].toFixed(2)));
        tip.append(head);
        for (const [color, text] of lines) {
          const line = document.createElement("div");
          const dot = document.createElement("span");
          dot.className = "dot";
          dot.style.background = color;
          line.append(dot, text);
          tip.append(line);
        }
        tip.hidden = false;
        // right of the cursor where it fits, else left of it, at most over the y axis (a phone)
        const w = u.over.clientWidth, width = tip.offsetWidth;
        const place = left + 12 + width <= w ? left + 12 : Math.max(-u.over.offsetLeft, left - width - 12);
        tip.style.left = `${place}px`;
        tip.style.top = "4px";
      },
    },
  };
}

// A clipped run: a triangle at the top where its curve leaves the axis, and its number.
function drawClipMarks(u) {
  const ctx = u.ctx;
  const r = uPlot.pxRatio;
  ctx.save();
  ctx.font = `${Math.round(11 * r)}px system-ui, sans-serif`;
  for (const { id, index } of lossView.clipped) {
    const s = u.series.findIndex((ser) => ser.runId === id);
    if (s < 0) continue;
    const xs = u.data[0], ys = u.data[s];
    let i = 0;
    while (i < xs.length && !(ys[i] != null && (ys[i] > lossView.top || !Number.isFinite(ys[i])))) i++;
    if (i === xs.length) continue;
    const x = u.valToPos(xs[i], "x", true);
    const y = u.bbox.top;
    ctx.fillStyle = colorOf(id);
    ctx.beginPath();
    ctx.moveTo(x, y + 1 * r);
    ctx.lineTo(x - 6 * r, y + 11 * r);
    ctx.lineTo(x + 6 * r, y + 11 * r);
    ctx.closePath();
    ctx.fill();
    ctx.fillStyle = "#222"; // labels one under another where several leave at the same place
    ctx.fillText(`#${id}`, x + 8 * r, y + 11 * r + index * 13 * r);
  }
  ctx.restore();
}

// A run's series: its training curve (loss) or validation accuracy (acc), and on the loss chart
// its validation loss per epoch, dashed, after all the training curves.
// The selected run is drawn thicker; its points' rim is uPlot's default for such a line (set here
// so that a selection changes it in place).
const lineOf = (id) => ({ width: id === state.selected ? 2.5 : 1.25 });
const pointsOf = (id) => (id === state.selected ? { size: 6, width: 1.6 } : { size: 4, width: 1.1 });

function runSeries(kind, id) {
  return {
    label: label(state.runs.get(id).summary),
    runId: id,
    show: !state.hidden.has(id),
    stroke: colorOf(id),
    ...lineOf(id),
    spanGaps: true,
    points: { show: kind !== "loss", ...pointsOf(id) },
  };
}

function valSeries(id) {
  return {
    label: `${label(state.runs.get(id).summary)} (${t("charts.valLoss")})`,
    runId: id,
    val: true,
    show: !state.hidden.has(id),
    stroke: colorOf(id),
    width: 1,
    dash: [5, 4],
    spanGaps: true,
    points: { show: true, size: 5, fill: "#fff" },
  };
}

// The loss axis: [0, top] (linear) or down to 1 (log), with room above the top for the marks.
function lossRange(log) {
  return log ? [Math.max(1e-3, Math.min(1, lossView.top) * 0.8), lossView.top * 1.25]
             : [0, lossView.top * 1.05];
}

function makeChart(el, kind, ids) {
  const loss = kind === "loss";
  const log = loss && $("logscale").checked;
  const series = [{ label: t("charts.epoch") }, ...ids.map((id) => runSeries(kind, id)),
                  ...(loss ? ids.map(valSeries) : [])];
  const yScale = loss ? (log ? { distr: 3, log: 10, range: () => lossRange(true) } : { range: () => lossRange(false) }) : {};
  const chart = new uPlot({
    width: chartWidth(el), height: CHART_HEIGHT,
    scales: { x: { time: false }, y: { auto: !loss, ...yScale } },
    series,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: hiddenPoint } },
    plugins: [tipPlugin(kind)],
    hooks: loss ? { draw: [drawClipMarks] } : {},
    axes: [
      { label: t("charts.epoch"), size: 40, incrs: EPOCH_TICKS },
      { label: t(loss ? "charts.lossAxis" : "charts.accAxis"), size: 64, labelSize: 20,
        values: (u, vals) => vals.map((v) => (loss ? fmtNum(v) : `${(100 * v).toFixed(0)}%`)) },
    ],
  }, [[]].concat(series.slice(1).map(() => [])), el);
  chart.runIds = [...ids];
  chart.log = log;
  return chart;
}

// uPlot keeps a cursor point per series, and its delSeries removes that point (1.6.32 fails
// when there is none): a hidden one per series, so a removed run's series can go in place.
function hiddenPoint() {
  const point = document.createElement("div");
  point.hidden = true;
  return point;
}

// The chart made once, then kept: a run that starts adds its series, a removed run's series go,
// a selection or a hidden run changes the series in place; the next setData draws it all in one
// go. Made anew only for the log scale and the language of the axes.
function syncSeries(chart, kind, ids) {
  const loss = kind === "loss";
  for (let i = chart.series.length - 1; i > 0; i--) { // the removed runs' series
    if (!ids.includes(chart.series[i].runId)) chart.delSeries(i);
  }
  chart.runIds = chart.runIds.filter((id) => ids.includes(id));
  const have = chart.runIds; // a subsequence of ids, both in the order of state.order
  ids.forEach((id, j) => {
    if (have[j] === id) return;
    if (loss) {
      chart.addSeries(runSeries(kind, id), 1 + j);
      chart.addSeries(valSeries(id), 2 + have.length + j);
    } else chart.addSeries(runSeries(kind, id), 1 + j);
    have.splice(j, 0, id);
  });
  chart.series.forEach((ser, i) => {
    if (i === 0) return;
    const id = ser.runId;
    if (!ser.val) {
      Object.assign(ser, lineOf(id));
      Object.assign(ser.points, pointsOf(id));
    }
    const show = !state.hidden.has(id);
    if (ser.show !== show) chart.setSeries(i, { show });
  });
}

function joined(tables) {
  if (tables.length === 0) return [[]];
  return uPlot.join(tables.map((tb) => (tb[0].length ? tb : [[0], [null]])));
}

let frameAsked = false;
const pending = { list: false, selected: false, message: false }; // DOM to redo at the next frame

// Everything the server's messages change is redrawn once, at the next frame: one layout and
// paint per frame however many events arrived, and no frame loop while nothing changes.
function chartsChanged() {
  state.chartsDirty = true;
  askFrame();
}

// A hidden tab draws nothing: the messages are kept, and drawn once when the tab shows again.
function askFrame() {
  if (frameAsked || document.hidden) return;
  frameAsked = true;
  requestAnimationFrame(redraw);
}

document.addEventListener("visibilitychange", askFrame);

function renderAll() {
  renderRuns();
  renderSelected();
  renderButtons();
  renderMessage();
  chartsChanged();
}

function redraw() {
  frameAsked = false;
  if (pending.list) { renderRuns(); renderButtons(); }
  if (pending.selected) renderSelectedSoon();
  if (pending.message || state.training !== null) renderMessage(); // the live readout
  pending.list = pending.selected = pending.message = false;
  if (!state.chartsDirty) return;
  state.chartsDirty = false;
  const ids = charted();
  setHidden($("charts-hint"), ids.length > 0);
  const top = lossTop(ids);
  const clipped = ids.filter((id) => !state.hidden.has(id)
    && state.runs.get(id).points.some((p) => !(p[1] <= top * 1.05)));
  lossView.clipped = clipped.map((id, index) => ({ id, index }));
  const key = [$("logscale").checked, LANG].join("|");
  if (key !== state.seriesKey || !charts.loss) { // the first time, log scale, language
    state.seriesKey = key;
    lossView.top = top;
    for (const name of ["loss", "acc"]) if (charts[name]) charts[name].destroy();
    charts.loss = makeChart($("loss-chart"), "loss", ids);
    charts.acc = makeChart($("acc-chart"), "acc", ids);
  } else {
    syncSeries(charts.loss, "loss", ids);
    syncSeries(charts.acc, "acc", ids);
    if (top !== lossView.top) {
      lossView.top = top;
      const [min, max] = lossRange(charts.loss.log);
      charts.loss.setScale("y", { min, max });
    }
  }
  const runs = ids.map((id) => state.runs.get(id));
  charts.loss.setData(joined([
    ...runs.map((r) => [r.points.map((p) => p[0]), r.points.map((p) => (Number.isFinite(p[1]) ? p[1] : 1e30))]),
    ...runs.map((r) => [r.epochs.map((e) => e.epoch), r.epochs.map((e) => e.val_loss)]),
  ]));
  const accKey = [state.seriesKey, state.selected, ...runs.map((r) => `${r.id}:${r.epochs.length}`)].join(",");
  if (charts.acc.drawnKey !== accKey) { // the accuracy chart moves once an epoch, not each update
    charts.acc.drawnKey = accKey;
    charts.acc.setData(joined(runs.map((r) => [r.epochs.map((e) => e.epoch), r.epochs.map((e) => e.val_acc)])));
  }
  setHidden($("clipped"), clipped.length === 0);
  setText($("clipped"), clipped.length ? t("charts.clipped", clipped.map((id) => `#${id}`).join(", ")) : "");
  window.lossChartData = charts.loss.data; // for tests and the curious: what is drawn
  window.lossChartTop = lossView.top;
  window.lossChartShown = charts.loss.series.slice(1).filter((ser) => ser.show && !ser.val).map((ser) => ser.runId);
}

$("logscale").addEventListener("change", chartsChanged); // the charts' key: made anew

const resized = new ResizeObserver((entries) => {
  for (const entry of entries) chartWidths.set(entry.target, entry.target.clientWidth);
  for (const [name, id] of [["loss", "loss-chart"], ["acc", "acc-chart"]]) {
    if (charts[name]) charts[name].setSize({ width: chartWidth($(id)), height: CHART_HEIGHT });
  }
});
resized.observe($("loss-chart"));
resized.observe($("acc-chart"));

// ---- drawing: the selected run reads the digit -----------------------------------------------

const pad = $("pad");
const bars = [];
let drawn = false;
let lastAnswer = null; // {result} or {message: () => text}: re-said on a language switch

for (let d = 0; d < 10; d++) {
  const lab = document.createElement("span");
  lab.textContent = d;
  const bar = document.createElement("div");
  bar.className = "bar";
  const fillEl = document.createElement("div");
  fillEl.className = "fill";
  bar.append(fillEl);
  const p = document.createElement("span");
  p.className = "pct";
  $("bars").append(lab, bar, p);
  bars.push({ bar, fill: fillEl, pct: p });
}

function drawHint() { // what the selected run can do with a drawing now
  const run = state.runs.get(state.selected);
  const s = run && run.summary;
  if (!s) return t("why.noRun");
  if (s.status === "diverged") return t("why.diverged");
  if (s.status === "loading" || s.status === "waiting") return t("why.loading");
  if (s.status === "training" && s.epochs_done === 0) return t("why.initial");
  return "";
}

function showAnswer(result, message) {
  lastAnswer = { result, message };
  const ok = result && result.probs;
  $("digit").textContent = ok ? String(result.digit) : "–";
  bars.forEach((row, d) => {
    const p = ok ? result.probs[d] : 0;
    row.fill.style.width = `${(100 * p).toFixed(1)}%`;
    row.pct.textContent = `${(100 * p).toFixed(1)}%`;
    row.bar.classList.toggle("win", ok && d === result.digit);
  });
  const box = $("evidence");
  box.replaceChildren();
  if (ok) {
    box.append(figure(result.seen, t("draw.seen"), t("draw.seen"), "seen"));
    result.evidence.forEach((ev, i) => {
      const what = t(i === 0 ? "why.predicted" : "why.runnerUp");
      box.append(figure(ev.picture, t("why.evidence", ev.digit, what, ev.score.toFixed(2)),
                        t("why.evAlt", ev.digit), i === 0 ? "win" : ""));
    });
  }
  $("draw-status").textContent = (message && message()) || drawHint() || (ok ? "" : t("draw.hint"));
}

function figure(src, caption, alt, cls = "") {
  const fig = document.createElement("figure");
  fig.className = cls;
  const img = document.createElement("img");
  img.src = src;
  img.alt = alt;
  img.width = img.height = 28;
  zoomable(img, () => ({ src: img.src, alt: caption }));
  const cap = document.createElement("figcaption");
  cap.textContent = caption;
  fig.append(img, cap);
  return fig;
}

let dirty = false, inFlight = false, timer = null, generation = 0;

function predictSoon() {
  dirty = true;
  if (!timer && !inFlight) timer = setTimeout(send, 100);
}

async function send() {
  timer = null;
  if (!dirty || inFlight) return;
  dirty = false;
  const run = state.runs.get(state.selected);
  const s = run && run.summary;
  if (!s || ["diverged", "loading", "waiting", "failed"].includes(s.status)) {
    showAnswer(null); // drawHint says why, and the digit is read once the run has weights
    return;
  }
  inFlight = true;
  const asked = generation; // an answer that arrives after "Clear" is dropped
  try {
    const blob = await new Promise((resolve) => pad.toBlob(resolve, "image/png"));
    const res = await fetch(`/api/runs/${state.selected}/predict`, {
      method: "POST", headers: { "Content-Type": "image/png" }, body: blob,
    });
    const result = await res.json();
    if (asked === generation) showAnswer(res.ok ? result : null, res.ok ? null : () => errorText(res.status, result));
  } catch (err) {
    $("draw-status").textContent = t("draw.noAnswer", err.message);
  } finally {
    inFlight = false;
    if (dirty) predictSoon();
  }
}

const clearCanvas = drawingPad(pad, () => { drawn = true; predictSoon(); }); // pad.js

function clearPad() {
  generation++;
  dirty = false;
  drawn = false;
  clearCanvas();
  showAnswer(null);
}

$("clear").addEventListener("click", clearPad);

function translateStatic() {
  for (const button of document.querySelectorAll("button.help")) {
    button.setAttribute("aria-label", t("pg.help", t(`set.${button.dataset.help}`)));
  }
  $("nodata").hidden = !state.hello || state.hello.data.ok;
  if (state.hello && !state.hello.data.ok) $("nodata").textContent = t("err.no_data", state.hello.data.dir);
}

document.addEventListener("langchange", () => {
  translateStatic();
  mistakesShown = undefined;
  renderAll();
  if (lastAnswer) showAnswer(lastAnswer.result, lastAnswer.message);
});

setupLangSwitch($("lang")); // i18n.js
translateStatic();
clearPad();
renderAll();
events.addEventListener("hello", translateStatic);
