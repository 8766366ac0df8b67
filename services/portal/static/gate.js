/* The gate page's camera: frames of the rear camera are read with the vendored jsQR; the
   first code read fills the badge-code field and sends the form (the server decides and
   records the scan). Without a camera (or JavaScript) the field is typed in. */
(function () {
  "use strict";
  var form = document.getElementById("gate-form");
  if (!form || !window.jsQR || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  var box = document.getElementById("camera"), video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status"), actions = document.getElementById("camera-actions");
  var start = document.getElementById("camera-start"), field = form.querySelector('[name="payload"]');
  var canvas = document.createElement("canvas"), context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null, done = false;
  actions.hidden = false;

  function say(key) { status.hidden = false; status.textContent = status.dataset[key] || ""; }

  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
  }

  function look() {
    if (done || !stream) { return; }
    if (video.readyState >= 2 && video.videoWidth) {
      var scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var frame = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
      if (code && code.data) {
        done = true;
        field.value = code.data;
        say("msgRead");
        stop();
        form.requestSubmit ? form.requestSubmit() : form.submit();
        return;
      }
    }
    window.setTimeout(function () { window.requestAnimationFrame(look); }, 120);
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        box.hidden = false;
        actions.hidden = true;
        say("msgLooking");
        return video.play();
      })
      .then(look)
      .catch(function () { stop(); box.hidden = true; say("msgDenied"); field.focus(); });
  });
  window.addEventListener("pagehide", stop);
})();
