// The playground page: settings -> POST /api/train; the server's Server-Sent Events (/api/events)
// bring every run's loss points, epoch numbers, templates and test result; the charts (uPlot) are
// redrawn at most once an animation frame when something new arrived (the server sends at most
// ten messages a second). Drawing a digit asks /api/runs/<id>/predict for the selected run.
"use strict";

const $ = (id) => document.getElementById(id);
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                 "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const FIELDS = ["lr", "momentum", "nesterov", "weight_decay", "batch_size", "epochs",
                "preprocess", "lr_decay", "seed", "slow"];

const state = {
  hello: null,
  runs: new Map(),   // id -> {summary, points: [[x, loss]], epochs: [rows], templates, samples, test}
  order: [],         // run ids, oldest first
  training: null,
  selected: null,
  chartsDirty: true,
  seriesKey: "",
};

const colorOf = (id) => PALETTE[(id - 1) % PALETTE.length];
const pct = (x) => `${(100 * x).toFixed(2)}%`;
const BLANK = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"; // 1x1, clear

// ---- settings ------------------------------------------------------------------------------

function fill(values) {
  for (const key of FIELDS) {
    const el = $(key);
    if (!(key in values)) continue;
    if (el.type === "checkbox") el.checked = values[key];
    else el.value = values[key];
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

function say(text, isError = false) {
  const el = $("message");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function post(url, body) {
  const res = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
  });
  let answer = {};
  try { answer = await res.json(); } catch { /* an empty or non-JSON answer */ }
  return { ok: res.ok, status: res.status, answer };
}

$("settings").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const { ok, answer } = await post("/api/train", readForm());
    if (ok) {
      state.selected = answer.id;
      say(`Run #${answer.id} (${answer.name}) started.`);
    } else {
      say(answer.error || "the server refused", true);
    }
  } catch (err) {
    say(`no answer from the server (${err.message})`, true);
  }
});

$("stop").addEventListener("click", async () => {
  try {
    const { ok, answer } = await post("/api/stop");
    say(ok ? `Stopping run #${answer.id}…` : (answer.error || "could not stop"), !ok);
  } catch (err) {
    say(`no answer from the server (${err.message})`, true);
  }
});

$("defaults").addEventListener("click", () => {
  if (state.hello) fill(state.hello.defaults);
  say("Course defaults filled in.");
});

$("preprocess").addEventListener("change", () => {
  if ($("preprocess").value === "best" && state.hello) {
    const b = state.hello.best;
    fill({ lr: b.lr, momentum: b.momentum, epochs: b.epochs, batch_size: b.batch_size,
           lr_decay: b.lr_decay });
    say("The best preset's settings are filled in; change any of them.");
  }
});

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
  if (first) fill(state.hello.defaults);
  const banner = $("nodata");
  banner.hidden = state.hello.data.ok;
  banner.textContent = state.hello.data.ok ? "" : `No MNIST here yet. ${state.hello.data.message}`;
  $("runs-note").textContent = `The last ${state.hello.max_runs} runs are kept for comparison; ` +
    "older ones are dropped. Select one to see its weights, test result and drawing panel.";
  say(first ? "" : "Reconnected to the server.");
});

events.addEventListener("runs", (e) => {
  const msg = JSON.parse(e.data);
  state.order = msg.runs.map((r) => r.id);
  for (const id of [...state.runs.keys()]) if (!state.order.includes(id)) state.runs.delete(id);
  for (const summary of msg.runs) runOf(summary.id).summary = summary;
  if (state.training !== msg.training && msg.training !== null) state.selected = msg.training;
  state.training = msg.training;
  if (!state.runs.has(state.selected)) state.selected = state.order.at(-1) ?? null;
  pending.list = pending.selected = true;
  chartsChanged();
});

events.addEventListener("run", (e) => {
  const msg = JSON.parse(e.data);
  const run = runOf(msg.id);
  run.points.push(...msg.points);
  run.epochs.push(...msg.epochs);
  let whole = false;
  if ("status" in msg) {
    Object.assign(run, { status: msg.status, message: msg.message, templates: msg.templates,
                         samples: msg.samples, test: msg.test });
    whole = true;
  }
  if (msg.id === state.selected && whole) {
    pending.selected = true;
    if (drawn) predictSoon(); // the drawn digit, read again by the new weights
  }
  chartsChanged();
});

events.addEventListener("bye", (e) => {
  events.close(); // this page's place went to a newer page: no reconnecting (it would take another's)
  const msg = JSON.parse(e.data);
  say(document.documentElement.lang.startsWith("zh") ? msg.zh : msg.en, true);
});

events.onerror = () => {
  if (events.readyState !== EventSource.OPEN) say("Lost the server; reconnecting…", true);
};

// ---- the list of runs ----------------------------------------------------------------------

function statusText(s) {
  const test = s.test_acc != null ? ` · test ${pct(s.test_acc)}` : "";
  switch (s.status) {
    case "training": return `training: epoch ${Math.min(s.epochs_done + 1, s.epochs)} of ${s.epochs}`;
    case "done": return `done, ${s.epochs} epochs${test}`;
    case "stopped": return `${s.message}${test}`;
    case "loaded": return `model file${test}`;
    case "loading": return "loading MNIST…";
    default: return s.message ? `${s.status}: ${s.message}` : s.status;
  }
}

const runRows = new Map(); // id -> {row, radio, status, link}: updated in place, not rebuilt

function runRow(id) {
  const row = document.createElement("div");
  const radio = document.createElement("input");
  Object.assign(radio, { type: "radio", name: "run", id: `run-${id}`, value: id });
  radio.addEventListener("change", () => select(id));
  const label = document.createElement("label");
  label.htmlFor = radio.id;
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = colorOf(id);
  const name = document.createElement("span");
  name.className = "run-name";
  name.textContent = `#${id} ${state.runs.get(id).summary.name}`;
  const status = document.createElement("span");
  label.append(swatch, name, status);
  row.append(radio, label);
  return { row, radio, status, link: null };
}

function renderRuns() {
  const box = $("runs");
  for (const [id, r] of runRows) {
    if (!state.runs.has(id)) { r.row.remove(); runRows.delete(id); }
  }
  let before = box.firstChild; // newest first
  for (const id of [...state.order].reverse()) {
    const s = state.runs.get(id).summary;
    if (!runRows.has(id)) runRows.set(id, runRow(id));
    const r = runRows.get(id);
    if (r.row !== before) box.insertBefore(r.row, before);
    before = r.row.nextSibling;
    r.row.className = "run" + (id === state.selected ? " selected" : "");
    r.radio.checked = id === state.selected;
    r.status.className = `run-status ${s.status}`;
    r.status.textContent = statusText(s);
    if (s.downloadable && !r.link) {
      r.link = document.createElement("a");
      r.link.href = `/api/runs/${id}/model.npz`;
      r.link.download = `model-run${id}.npz`;
      r.link.textContent = "model.npz";
      r.link.title = `download run #${id} as model.npz (softmax-mnist predict and evaluate read it)`;
      r.link.id = `download-${id}`;
      r.row.append(r.link);
    }
  }
}

function select(id) {
  state.selected = id;
  renderRuns();
  renderSelected();
  chartsChanged();
  if (drawn) predictSoon();
}

// ---- the selected run: templates, validation digits, test result ------------------------------

const templateCanvases = [];
const sampleFigs = [];
for (let d = 0; d < 10; d++) {
  const fig = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 28;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `weight template of digit ${d}`);
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
  $("selected-name").textContent = s ? `#${s.id} ${s.name}` : "–";
  $("selected-status").textContent = s ? statusText(s) : "No run yet: press Train.";
  drawTemplates(run && run.templates);
  $("samples-note").hidden = Boolean(run && run.samples);
  $("samples").hidden = !(run && run.samples);
  sampleFigs.forEach(({ fig, img, cap }, d) => {
    const sample = run && run.samples && run.samples[d];
    fig.className = "";
    if (!sample) {
      setSrc(img, BLANK);
      img.alt = "";
      cap.textContent = "";
      return;
    }
    setSrc(img, sample.image);
    if (sample.pred === undefined) {
      img.alt = `a ${d}, not predicted yet`;
      cap.textContent = `${d}: …`;
    } else {
      const right = sample.pred === sample.label;
      fig.className = right ? "right" : "wrong";
      img.alt = `a ${d}, predicted ${sample.pred}`;
      cap.replaceChildren(`${d}→${sample.pred}`, document.createElement("br"),
                          `${Math.round(100 * sample.prob)}%`);
    }
  });
  renderTest(run && run.test);
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
      const t = q[d * 784 + i] / 127;
      const fade = Math.trunc(255 * (1 - Math.abs(t)));
      picture.data.set([t > 0 ? 255 : fade, fade, t < 0 ? 255 : fade, 255], 4 * i);
    }
    c2d.putImageData(picture, 0, 0);
  });
}

function renderTest(test) {
  const table = $("confusion");
  if (!test) {
    $("test-acc").textContent = "Test accuracy and the confusion matrix: when the run ends.";
    table.hidden = true;
    return;
  }
  $("test-acc").innerHTML = "";
  const strong = document.createElement("strong");
  strong.textContent = pct(test.acc);
  $("test-acc").append("Test accuracy ", strong, ` (loss ${test.loss.toFixed(4)}, 10,000 images)`);
  const caption = table.querySelector("caption");
  table.replaceChildren(caption);
  const head = table.createTHead().insertRow();
  const corner = document.createElement("td");
  corner.textContent = "";
  head.append(corner);
  for (let d = 0; d < 10; d++) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = d;
    head.append(th);
  }
  const body = table.createTBody();
  test.confusion.forEach((row, t) => {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = t;
    tr.append(th);
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((n, p) => {
      const td = tr.insertCell();
      td.textContent = n;
      const share = n / total;
      const alpha = t === p ? share : Math.min(1, 8 * share); // errors are rare: make them show
      td.style.background = t === p ? `rgba(44, 160, 44, ${alpha.toFixed(3)})`
                                    : `rgba(214, 39, 40, ${alpha.toFixed(3)})`;
      if (alpha > 0.55) td.style.color = "#fff";
    });
  });
  table.hidden = false;
}

// ---- charts (uPlot) ------------------------------------------------------------------------

const charts = { loss: null, acc: null };
const EPOCH_TICKS = [1, 2, 5, 10, 20, 50, 100]; // ticks at whole epochs

function chartWidth(el) { return Math.max(240, el.clientWidth); }

function charted() { // the runs with curves (a model file opened by serve MODEL has none)
  return state.order.filter((id) => state.runs.get(id).points.length > 0);
}

function makeChart(el, yLabel, withPoints, xIncrs) {
  const ids = charted();
  const series = [{ label: "epoch" }, ...ids.map((id) => ({
    label: `#${id} ${state.runs.get(id).summary.name}`,
    stroke: colorOf(id),
    width: id === state.selected ? 2.5 : 1.25,
    spanGaps: true,
    points: { show: withPoints, size: id === state.selected ? 6 : 4 },
  }))];
  return new uPlot({
    width: chartWidth(el), height: 230,
    scales: { x: { time: false } },
    series,
    legend: { show: ids.length > 0, live: false },
    cursor: { drag: { x: false, y: false } },
    axes: [{ label: "epoch", size: 40, ...(xIncrs ? { incrs: xIncrs } : {}) }, { label: yLabel, size: 56 }],
  }, [[]].concat(ids.map(() => [])), el);
}

function joined(tables) {
  if (tables.length === 0) return [[]];
  return uPlot.join(tables.map((t) => (t[0].length ? t : [[0], [null]])));
}

let frameAsked = false;
const pending = { list: false, selected: false }; // DOM to redo at the next frame

// Everything the server's messages change is redrawn once, at the next frame: one layout and
// paint per frame however many events arrived, and no frame loop while nothing changes.
function chartsChanged() {
  state.chartsDirty = true;
  if (!frameAsked) {
    frameAsked = true;
    requestAnimationFrame(redraw);
  }
}

function redraw() {
  frameAsked = false;
  if (pending.list) renderRuns();
  if (pending.selected) renderSelected();
  pending.list = pending.selected = false;
  if (state.chartsDirty) {
    state.chartsDirty = false;
    const ids = charted();
    $("charts-hint").hidden = ids.length > 0;
    const key = ids.join(",") + "|" + state.selected;
    if (key !== state.seriesKey) { // runs added, dropped or selected: new series
      state.seriesKey = key;
      for (const name of ["loss", "acc"]) if (charts[name]) charts[name].destroy();
      charts.loss = makeChart($("loss-chart"), "training loss", false, EPOCH_TICKS);
      charts.acc = makeChart($("acc-chart"), "validation accuracy", true, EPOCH_TICKS);
    }
    const runs = ids.map((id) => state.runs.get(id));
    charts.loss.setData(joined(runs.map((r) => [r.points.map((p) => p[0]), r.points.map((p) => p[1])])));
    charts.acc.setData(joined(runs.map((r) => [r.epochs.map((e) => e.epoch), r.epochs.map((e) => e.val_acc)])));
    window.lossChartData = charts.loss.data; // for tests and the curious: what is drawn
  }
}
chartsChanged();

new ResizeObserver(() => {
  for (const [name, id] of [["loss", "loss-chart"], ["acc", "acc-chart"]]) {
    if (charts[name]) charts[name].setSize({ width: chartWidth($(id)), height: 230 });
  }
}).observe($("loss-chart"));

// ---- drawing: the selected run reads the digit -----------------------------------------------

const pad = $("pad");
const bars = [];
let drawn = false;

for (let d = 0; d < 10; d++) {
  const label = document.createElement("span");
  label.textContent = d;
  const bar = document.createElement("div");
  bar.className = "bar";
  const fillEl = document.createElement("div");
  fillEl.className = "fill";
  bar.append(fillEl);
  const p = document.createElement("span");
  p.className = "pct";
  $("bars").append(label, bar, p);
  bars.push({ bar, fill: fillEl, pct: p });
}

function showAnswer(result, message) {
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
    const seen = figure(result.seen, "what the model sees (28×28)", "the digit as the model sees it");
    box.append(seen);
    result.evidence.forEach((ev, i) => {
      const what = i === 0 ? "predicted" : "runner-up";
      box.append(figure(ev.picture, `evidence for ${ev.digit} (${what}), score ${ev.score.toFixed(2)}`,
                        `evidence for ${ev.digit}: pixel value times weight`, i === 0 ? "win" : ""));
    });
  }
  $("draw-status").textContent = message || (ok ? "" : "Draw one digit, 0 to 9, large.");
}

function figure(src, caption, alt, cls = "") {
  const fig = document.createElement("figure");
  fig.className = cls;
  const img = document.createElement("img");
  img.src = src;
  img.alt = alt;
  img.width = img.height = 28;
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
  if (state.selected === null) {
    showAnswer(null, "No run to ask yet: press Train first.");
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
    if (asked === generation) showAnswer(res.ok ? result : null, result.error);
  } catch (err) {
    $("draw-status").textContent = `no answer from the server (${err.message})`;
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
clearPad();
renderSelected();
