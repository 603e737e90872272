// The drawing pad of both pages: a white canvas drawn on in thick black strokes with a mouse,
// pen or finger (pointer events). drawingPad(canvas, onStroke) sets it up and returns clear();
// onStroke() is called after every stroke segment (the pages ask the model then).
function drawingPad(pad, onStroke) {
  const ctx = pad.getContext("2d");
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
    onStroke();
  }

  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    last = point(e);
    strokeTo(last);
  });
  pad.addEventListener("pointermove", (e) => { if (last) strokeTo(point(e)); });
  for (const type of ["pointerup", "pointercancel"]) pad.addEventListener(type, () => { last = null; });

  return function clear() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
  };
}
