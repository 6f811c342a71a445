// The signer app's only script, served by Signet itself (CSP script-src 'self'). Everything
// works without it; with it, the fields are highlighted on the page images and the signature
// can be drawn (mouse, finger or pen) or uploaded as an image.
(function () {
  "use strict";

  // Highlight a field's box on the page image while its input has the focus.
  function highlight(id, on) {
    document.querySelectorAll('rect.box[data-field="' + id + '"]').forEach(function (rect) {
      rect.classList.toggle("active", on);
    });
  }
  document.querySelectorAll("[data-field]").forEach(function (input) {
    if (input.tagName === "rect") return;
    var id = input.getAttribute("data-field");
    input.addEventListener("focus", function () { highlight(id, true); });
    input.addEventListener("blur", function () { highlight(id, false); });
  });

  var form = document.getElementById("sign-form");
  var draw = document.getElementById("draw");
  var pad = document.getElementById("pad");
  if (!form || !draw || !pad) return;
  draw.hidden = false;
  var mark = document.getElementById("mark");
  var token = form.querySelector('input[name="form"]').value;
  var ctx = pad.getContext("2d");
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#10213a";
  var drawing = false;
  var drawn = false;

  function point(event) {
    var box = pad.getBoundingClientRect();
    return {
      x: (event.clientX - box.left) * (pad.width / box.width),
      y: (event.clientY - box.top) * (pad.height / box.height)
    };
  }
  pad.addEventListener("pointerdown", function (event) {
    drawing = true;
    try { pad.setPointerCapture(event.pointerId); } catch (e) { /* a pen lifted already */ }
    var p = point(event);
    ctx.beginPath();
    ctx.moveTo(p.x, p.y);
    event.preventDefault();
  });
  pad.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    var p = point(event);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    drawn = true;
    mark.value = "";
    event.preventDefault();
  });
  function stop() { drawing = false; }
  pad.addEventListener("pointerup", stop);
  pad.addEventListener("pointercancel", stop);
  document.getElementById("clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, pad.width, pad.height);
    drawn = false;
    mark.value = "";
  });

  // Stores an image with the server and answers the mark to send with the form.
  function store(blob, type, kind) {
    return fetch(form.getAttribute("data-marks") + "?kind=" + kind, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": type, "X-Signet-Form": token },
      body: blob
    }).then(function (response) {
      if (!response.ok) throw new Error("the image was refused");
      return response.json();
    }).then(function (answer) { return answer.mark; });
  }

  document.getElementById("upload").addEventListener("change", function (event) {
    var file = event.target.files[0];
    if (!file) return;
    store(file, file.type, "uploaded").then(function (value) {
      mark.value = value;
      drawn = false;
    }).catch(function () { mark.value = ""; });
  });

  var sending = false;
  form.addEventListener("submit", function (event) {
    if (sending || !drawn || mark.value) return;
    event.preventDefault();
    if (!form.reportValidity()) return;
    sending = true;
    pad.toBlob(function (blob) {
      store(blob, "image/png", "drawn").then(function (value) {
        mark.value = value;
      }).catch(function () { mark.value = ""; }).then(function () { form.submit(); });
    }, "image/png");
  });
})();
