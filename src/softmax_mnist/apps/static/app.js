// Draw on the canvas; while drawing, POST its PNG to /api/predict (one request in flight,
// at most one per 100 ms) and show the bars, the digit, the 28x28 image and the winning template.
// Words from i18n.js (Chinese first, English by the switch).
"use strict";

const pad = document.getElementById("pad");
const digitOut = document.getElementById("digit");
const status = document.getElementById("status");
const seen = document.getElementById("seen");
const rows = [];
const templates = [];

for (let d = 0; d < 10; d++) {
  const label = document.createElement("span");
  label.textContent = d;
  const bar = document.createElement("div");
  bar.className = "bar";
  const fill = document.createElement("div");
  fill.className = "fill";
  bar.append(fill);
  const pct = document.createElement("span");
  pct.className = "pct";
  document.getElementById("bars").append(label, bar, pct);
  rows.push({ bar, fill, pct });

  const fig = document.createElement("figure");
  const img = document.createElement("img");
  img.src = `/templates/${d}.png`;
  img.width = img.height = 28;
  zoomable(img, () => ({ src: img.src, alt: t("draw.template", d) })); // i18n.js
  const cap = document.createElement("figcaption");
  cap.textContent = d;
  fig.append(img, cap);
  document.getElementById("templates").append(fig);
  templates.push({ fig, img });
}

let last = { result: null, message: null }; // re-said on a language switch

function show(result, message) {
  last = { result, message };
  const ok = result && result.probs;
  const winner = ok ? result.digit : -1;
  digitOut.textContent = ok ? String(winner) : "–";
  rows.forEach((row, d) => {
    const p = ok ? result.probs[d] : 0;
    row.fill.style.width = `${(100 * p).toFixed(1)}%`;
    row.pct.textContent = `${(100 * p).toFixed(1)}%`;
    row.bar.classList.toggle("win", d === winner);
  });
  templates.forEach(({ fig }, d) => fig.classList.toggle("win", d === winner));
  // no broken or black box: the picture is shown only when there is one, a note in its place
  if (ok) seen.src = result.image;
  else seen.removeAttribute("src");
  seen.hidden = !ok;
  seen.alt = ok ? t("draw.seen") : "";
  document.getElementById("seen-empty").hidden = ok;
  status.textContent = (message && message()) || (ok ? "" : t("draw.hint"));
}

function errorText(code, answer) {
  if ([404, 413, 422, 503].includes(code)) return t(`err.${code}`);
  if (code === 400) return t("err.400", answer.error || "");
  return t("err.other", answer.error || code);
}

// ---- asking the server, throttled --------------------------------------------------------
let dirty = false, inFlight = false, timer = null, generation = 0;

function predictSoon() {
  dirty = true;
  if (!timer && !inFlight) timer = setTimeout(send, 100);
}

async function send() {
  timer = null;
  if (!dirty || inFlight) return;
  dirty = false;
  inFlight = true;
  const asked = generation; // an answer that arrives after "Clear" is dropped
  try {
    const blob = await new Promise((resolve) => pad.toBlob(resolve, "image/png"));
    const res = await fetch("/api/predict", {
      method: "POST", headers: { "Content-Type": "image/png" }, body: blob,
    });
    const result = await res.json();
    if (asked === generation) show(res.ok ? result : null, res.ok ? null : () => errorText(res.status, result));
  } catch (err) {
    status.textContent = t("draw.noAnswer", err.message);
  } finally {
    inFlight = false;
    if (dirty) predictSoon();
  }
}

// ---- drawing with mouse, pen or finger (pointer events) ------------------------------------
const clearCanvas = drawingPad(pad, predictSoon); // pad.js

function clearPad() {
  generation++;
  dirty = false;
  clearCanvas();
  show(null);
}

document.getElementById("clear").addEventListener("click", clearPad);
document.addEventListener("langchange", () => {
  show(last.result, last.message);
  templates.forEach(({ img }, d) => { img.alt = t("draw.template", d); });
});
setupLangSwitch(document.getElementById("lang")); // i18n.js
templates.forEach(({ img }, d) => { img.alt = t("draw.template", d); });
clearPad();
