// The customer's signature on the technician's phone: drawn on a canvas, sent as a PNG.
(function () {
  const canvas = document.getElementById("signature");
  const field = document.getElementById("signature-data");
  if (!canvas || !field) return;
  const ctx = canvas.getContext("2d");
  ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.strokeStyle = "#14324f";
  let drawing = false, drawn = false;
  function at(e) {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  }
  canvas.addEventListener("pointerdown", (e) => { drawing = true; ctx.beginPath(); ctx.moveTo(...at(e)); canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener("pointermove", (e) => { if (!drawing) return; ctx.lineTo(...at(e)); ctx.stroke(); drawn = true; });
  canvas.addEventListener("pointerup", () => { drawing = false; if (drawn) field.value = canvas.toDataURL("image/png"); });
  document.getElementById("signature-clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height); field.value = ""; drawn = false;
  });
})();
