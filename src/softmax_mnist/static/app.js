// Draw on the canvas; while drawing, POST its PNG to /api/predict (one request in flight,
// at most one per 100 ms) and show the bars, the digit, the 28x28 image and the winning template.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
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
  img.alt = `weight template of digit ${d}`;
  const cap = document.createElement("figcaption");
  cap.textContent = d;
  fig.append(img, cap);
  document.getElementById("templates").append(fig);
  templates.push(fig);
}

function show(result, message) {
  const ok = result && result.probs;
  const winner = ok ? result.digit : -1;
  digitOut.textContent = ok ? String(winner) : "–";
  rows.forEach((row, d) => {
    const p = ok ? result.probs[d] : 0;
    row.fill.style.width = `${(100 * p).toFixed(1)}%`;
    row.pct.textContent = `${(100 * p).toFixed(1)}%`;
    row.bar.classList.toggle("win", d === winner);
  });
  templates.forEach((fig, d) => fig.classList.toggle("win", d === winner));
  if (ok) seen.src = result.image;
  else seen.removeAttribute("src");
  status.textContent = message || (ok ? "" : "Draw one digit, 0 to 9, large.");
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
    if (asked === generation) show(res.ok ? result : null, result.error);
  } catch (err) {
    status.textContent = `no answer from the server (${err.message})`;
  } finally {
    inFlight = false;
    if (dirty) predictSoon();
  }
}

// ---- drawing with mouse, pen or finger (pointer events) ------------------------------------
function clearPad() {
  generation++;
  dirty = false;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  show(null);
}

ctx.lineWidth = 18;
ctx.lineCap = "round";
ctx.lineJoin = "round";
ctx.strokeStyle = "#000";
let last = null;

function point(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
}

function strokeTo(p) {
  ctx.beginPath();
  ctx.moveTo(...last);
  ctx.lineTo(...p);
  ctx.stroke();
  last = p;
  predictSoon();
}

pad.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  last = point(e);
  strokeTo(last);
});
pad.addEventListener("pointermove", (e) => {
  if (last) strokeTo(point(e));
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => { last = null; });
}
document.getElementById("clear").addEventListener("click", clearPad);
clearPad();
