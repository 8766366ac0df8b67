/* Progressive enhancement only: every page works without this file.
   Instant field checks, the SMS code countdown, upload previews, the 3:4 photo crop,
   the unit-info autosave and live status (progress, order payment). */
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var body = document.body;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function post(url, data, headers) {
    var h = { "X-CSRFToken": csrf, "X-Requested-With": "fetch" };
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(url, { method: "POST", body: data, headers: h, credentials: "same-origin" });
  }

  /* ---- instant validation ------------------------------------------------------------ */
  var USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  var ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var checks = {
    uscc: function (v) {
      var kind = $('[name="identifier_type"]');
      if (kind && kind.value !== "uscc") { return true; }  // a registration or ID document number
      v = v.toUpperCase();
      if (v.length !== 18) { return true; }  // the length message comes from the pattern
      var total = 0;
      for (var i = 0; i < 17; i++) {
        var n = USCC.indexOf(v[i]);
        if (n < 0) { return false; }
        total += n * USCC_W[i];
      }
      return USCC[(31 - total % 31) % 31] === v[17];
    },
    resident_id: function (v) {
      v = v.toUpperCase();
      if (!/^[0-9]{17}[0-9X]$/.test(v)) { return true; }
      var total = 0;
      for (var i = 0; i < 17; i++) { total += parseInt(v[i], 10) * ID_W[i]; }
      return "10X98765432"[total % 11] === v[17];
    }
  };

  function errorBox(input) {
    var id = (input.id || "") + "-error";
    return document.getElementById(id);
  }

  function message(input) {
    var v = (input.value || "").trim();
    if (input.type === "checkbox" || input.type === "radio" || input.type === "file") { return ""; }
    if (input.required && !v) { return input.dataset.msgRequired || body.dataset.msgRequired || ""; }
    if (!v) { return ""; }
    if (input.minLength > 0 && v.length < input.minLength && input.dataset.msgMinlength) { return input.dataset.msgMinlength; }
    if (input.pattern && !new RegExp("^(?:" + input.pattern + ")$").test(v)) { return input.dataset.msgPattern || body.dataset.msgInvalid; }
    if (input.type === "email" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) { return input.dataset.msgType || body.dataset.msgInvalid; }
    if (input.dataset.check && checks[input.dataset.check] && !checks[input.dataset.check](v)) { return input.dataset.msgCheck; }
    if (input.dataset.sameAs) {
      var other = document.getElementById(input.dataset.sameAs);
      if (other && other.value !== input.value) { return input.dataset.msgSame; }
    }
    return "";
  }

  function show(input, text) {
    var box = errorBox(input);
    if (!box) { return; }
    box.textContent = text;
    box.hidden = !text;
    var ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== box.id; });
    if (text) { ids.push(box.id); input.setAttribute("aria-invalid", "true"); }
    else { input.removeAttribute("aria-invalid"); }
    if (ids.length) { input.setAttribute("aria-describedby", ids.join(" ")); } else { input.removeAttribute("aria-describedby"); }
    var field = input.closest(".field");
    if (field) { field.classList.toggle("has-error", !!text); }
  }

  function validate(input) { var text = message(input); show(input, text); return !text; }

  $all("form[data-validate]").forEach(function (form) {
    var fields = $all("input, select, textarea", form).filter(function (el) { return el.id && errorBox(el); });
    fields.forEach(function (el) {
      el.addEventListener("blur", function () { if (el.value) { validate(el); } });
      el.addEventListener("input", function () { if (el.getAttribute("aria-invalid")) { validate(el); } });
    });
    form.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.formNoValidate) { return; }
      var bad = fields.filter(function (el) { return !el.disabled && !validate(el); });
      if (bad.length) { event.preventDefault(); bad[0].focus(); }
    });
  });

  /* ---- SMS codes: send without a reload, count down ------------------------------------ */
  function countdown(button, seconds) {
    var label = button.dataset.label, sent = button.dataset.sentLabel || "{s}";
    function tick() {
      if (seconds <= 0) { button.disabled = false; button.textContent = label; return; }
      button.disabled = true;
      button.textContent = sent.replace("{s}", String(seconds));
      seconds -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  }

  $all("button.send-code").forEach(function (button) {
    var wait = parseInt(button.dataset.wait || "0", 10);
    if (wait > 0) { countdown(button, wait); }
    button.addEventListener("click", function (event) {
      var form = button.form, phone = form && form.querySelector('[name="phone"]');
      if (!phone || !window.fetch) { return; }  // the form posts itself instead
      event.preventDefault();
      if (!validate(phone)) { phone.focus(); return; }
      var data = new FormData();
      data.append("phone", phone.value.trim());
      data.append("purpose", button.dataset.purpose);
      button.disabled = true;
      post("/sms-code", data).then(function (r) { return r.json(); }).then(function (answer) {
        show(phone, answer.ok ? "" : answer.message);
        var note = document.getElementById("f-sms_code-hint");
        if (answer.ok && note) { note.textContent = answer.message; }
        if (answer.wait > 0) { countdown(button, answer.wait); } else { button.disabled = false; }
        if (answer.ok) { var code = form.querySelector('[name="sms_code"]'); if (code) { code.focus(); } }
      }).catch(function () { button.disabled = false; });
    });
  });

  /* ---- upload previews ------------------------------------------------------------------- */
  $all("input[type=file][data-preview]").forEach(function (input) {
    var img = document.getElementById(input.dataset.preview);
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!img || !file || !/^image\//.test(file.type)) { if (img) { img.hidden = true; } return; }
      img.src = URL.createObjectURL(file);
      img.hidden = false;
    });
  });

  /* ---- the photo: crop to 3:4 in the browser, save as JPG ------------------------------- */
  $all("form[data-photo-form]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var box = form.querySelector("[data-cropper]"), canvas = form.querySelector("[data-crop-canvas]");
    var zoom = form.querySelector("[data-crop-zoom]"), info = form.querySelector("[data-crop-info]");
    if (!input || !canvas || !canvas.getContext || !window.FileReader) { return; }
    var ctx = canvas.getContext("2d"), image = null, scale = 1, x = 0, y = 0, cropped = false;

    function baseScale() { return Math.max(canvas.width / image.width, canvas.height / image.height); }
    function clamp() {
      var w = image.width * scale, h = image.height * scale;
      x = Math.min(0, Math.max(canvas.width - w, x));
      y = Math.min(0, Math.max(canvas.height - h, y));
    }
    function draw() {
      if (!image) { return; }
      clamp();
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(image, x, y, image.width * scale, image.height * scale);
      var srcW = Math.round(canvas.width / scale);
      if (info) { info.textContent = srcW + " × " + Math.round(canvas.height / scale) + " px"; }
    }
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      cropped = false;
      if (!file || !/^image\//.test(file.type)) { box.hidden = true; image = null; return; }
      var img = new Image();
      img.onload = function () {
        image = img; scale = baseScale(); zoom.value = "100";
        x = (canvas.width - img.width * scale) / 2; y = (canvas.height - img.height * scale) / 2;
        box.hidden = false; draw();
      };
      img.src = URL.createObjectURL(file);
    });
    zoom.addEventListener("input", function () {
      if (!image) { return; }
      var cx = (canvas.width / 2 - x) / scale, cy = (canvas.height / 2 - y) / scale;
      scale = baseScale() * parseInt(zoom.value, 10) / 100;
      x = canvas.width / 2 - cx * scale; y = canvas.height / 2 - cy * scale;
      draw();
    });
    var dragging = null;
    canvas.addEventListener("pointerdown", function (e) { dragging = { x: e.clientX, y: e.clientY }; canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener("pointermove", function (e) {
      if (!dragging || !image) { return; }
      var ratio = canvas.width / canvas.getBoundingClientRect().width;
      x += (e.clientX - dragging.x) * ratio; y += (e.clientY - dragging.y) * ratio;
      dragging = { x: e.clientX, y: e.clientY }; draw();
    });
    canvas.addEventListener("pointerup", function () { dragging = null; });
    canvas.addEventListener("keydown", function (e) {
      var step = { ArrowLeft: [10, 0], ArrowRight: [-10, 0], ArrowUp: [0, 10], ArrowDown: [0, -10] }[e.key];
      if (step && image) { x += step[0]; y += step[1]; draw(); e.preventDefault(); }
    });

    form.addEventListener("submit", function (event) {
      if (!image || cropped || !window.DataTransfer) { return; }
      event.preventDefault();
      // Output at the source's own resolution, at most 900 wide (or the fair's exact size);
      // never blown up to pass the fair's minimum (the API refuses a photo that small, so the
      // page says so first). The numbers are the fair profile's photo rule, on the form.
      var minW = parseInt(form.dataset.minWidth || "480", 10), exactW = parseInt(form.dataset.exactWidth || "0", 10);
      var aspect = (form.dataset.aspect || "3:4").split(":"), maxBytes = parseInt(form.dataset.maxBytes || "1000000", 10);
      var srcW = Math.round(canvas.width / scale);
      if (srcW < minW) { show(input, form.dataset.msgSmall || ""); input.focus(); return; }
      show(input, "");
      var outW = exactW || Math.min(900, srcW);
      var outH = Math.round(outW * parseInt(aspect[1], 10) / parseInt(aspect[0], 10));
      var out = document.createElement("canvas");
      out.width = outW; out.height = outH;
      var octx = out.getContext("2d"), k = outW / canvas.width;
      octx.fillStyle = "#fff"; octx.fillRect(0, 0, outW, outH);
      octx.drawImage(image, x * k, y * k, image.width * scale * k, image.height * scale * k);
      function encode(quality) {
        out.toBlob(function (blob) {
          if (blob.size >= maxBytes && quality > 0.5) { encode(quality - 0.1); return; }
          var transfer = new DataTransfer();
          transfer.items.add(new File([blob], "photo.jpg", { type: "image/jpeg" }));
          input.files = transfer.files;
          cropped = true;
          form.submit();
        }, "image/jpeg", quality);
      }
      encode(0.9);
    });
  });

  /* ---- sign-up: the invitation code only for the visitor kinds that use one ---------------- */
  $all("[data-show-for-kind]").forEach(function (box) {
    var form = box.closest("form"), input = box.querySelector("input");
    var shown = box.dataset.showForKind.split(" "), needed = (box.dataset.requiredForKind || "").split(" ");
    function update() {
      var chosen = form.querySelector('input[name="visitor_kind"]:checked');
      var kind = chosen ? chosen.value : "";
      box.hidden = shown.indexOf(kind) < 0;
      var required = needed.indexOf(kind) >= 0, marker = box.querySelector(".req");
      if (input) { input.required = required && !box.hidden; }
      if (marker) { marker.hidden = !required; }
    }
    form.addEventListener("change", function (e) { if (e.target.name === "visitor_kind") { update(); } });
    update();
  });

  /* ---- a text with a length limit: a live "n/max" counter ----------------------------------- */
  $all("textarea[data-counter]").forEach(function (area) {
    var counter = document.getElementById(area.dataset.counter);
    if (!counter) { return; }
    function update() { counter.textContent = area.value.length + "/" + (area.getAttribute("maxlength") || ""); }
    area.addEventListener("input", update);
    update();
  });

  /* ---- unit information: save the draft every 5 seconds ----------------------------------- */
  $all("form[data-autosave]").forEach(function (form) {
    var dirty = false, busy = false, note = form.querySelector("[data-autosave-note]");
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    setInterval(function () {
      if (!dirty || busy) { return; }
      dirty = false; busy = true;
      post(form.dataset.autosave, new FormData(form), { "X-Autosave": "1" })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          busy = false;
          if (!note) { return; }
          var now = new Date();
          note.textContent = answer.saved ? (body.dataset.msgSaved || "✓") + " " + now.toTimeString().slice(0, 8)
            : (answer.general && answer.general[0]) || Object.keys(answer.errors || {}).map(function (k) { return answer.errors[k]; })[0] || "";
        }).catch(function () { busy = false; });
    }, 5000);
  });

  /* ---- live status ----------------------------------------------------------------------------- */
  function poll(url, every, handle) {
    var timer = null;
    function run() {
      if (document.hidden) { timer = setTimeout(run, every); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && handle(data) === false) { return; } timer = setTimeout(run, every); })
        .catch(function () { timer = setTimeout(run, every * 2); });
    }
    timer = setTimeout(run, every);
    return function () { clearTimeout(timer); };
  }

  var stepper = $("[data-live-progress]");
  if (stepper) {
    var note = $("[data-live-note]");
    if (note) { note.hidden = false; }
    var shown = parseInt(stepper.dataset.current || "0", 10);
    poll(stepper.dataset.liveProgress, 5000, function (data) {
      if (shown && data.current !== shown) { window.location.reload(); return false; }  // new things to do
      data.steps.forEach(function (s) {
        var li = stepper.querySelector('[data-step="' + s.step + '"]');
        if (!li) { return; }
        var state = s.done ? "done" : (s.step === data.current ? "current" : "todo");
        li.className = "step step-" + state;
        if (state === "current") { li.setAttribute("aria-current", "step"); } else { li.removeAttribute("aria-current"); }
        li.querySelector(".step-dot").textContent = s.done ? "✓" : String(s.step);
        var detail = li.querySelector("[data-detail]");
        if (detail && s.total !== undefined && s.total !== null) { detail.textContent = " " + s.count + "/" + s.total; }
      });
      var status = $('[data-live="unit-status"] .badge');
      if (status) { status.textContent = data.status_text; }
    });
  }

  $all("[data-order-status]").forEach(function (el) {
    if (el.dataset.status !== "unpaid") { return; }
    poll(el.dataset.orderStatus, 2500, function (data) {
      var badge = el.querySelector(".badge");
      if (badge) { badge.textContent = data.text; badge.className = "badge badge-" + (data.status === "paid" ? "good" : data.status === "unpaid" ? "wait" : "neutral"); }
      el.dataset.status = data.status;
      if (data.status !== "unpaid") {
        if (el.dataset.paidRedirect) { window.location.href = el.dataset.paidRedirect; }
        else { window.location.reload(); }
        return false;
      }
    });
  });

  /* ---- small things ------------------------------------------------------------------------------ */
  $all("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) { if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); } });
  });
  $all("button[data-confirm]").forEach(function (button) {  // one button of a form that does more
    button.addEventListener("click", function (event) { if (!window.confirm(button.dataset.confirm)) { event.preventDefault(); } });
  });

  $all("form[data-sum]").forEach(function (form) {
    var total = form.querySelector("[data-sum-total]");
    function update() {
      var fen = $all("input[data-fee]", form).filter(function (c) { return c.checked; })
        .reduce(function (sum, c) { return sum + parseInt(c.dataset.fee, 10); }, 0);
      if (total) { total.textContent = "¥" + Math.floor(fen / 100).toLocaleString("en") + "." + String(fen % 100).padStart(2, "0"); }
    }
    form.addEventListener("change", update);
  });

  $all("[data-show-when]").forEach(function (block) {
    var parts = block.dataset.showWhen.split("="), form = block.closest("form");
    function update() {
      var chosen = form.querySelector('[name="' + parts[0] + '"]:checked');
      block.hidden = !chosen || chosen.value !== parts[1];
    }
    form.addEventListener("change", update);
    update();
  });

  /* ---- the back office ---------------------------------------------------------------------------- */
  /* a common reason fills the comment (still editable); without JS the server uses the reason */
  $all("select[data-fills]").forEach(function (select) {
    var target = document.getElementById(select.dataset.fills), last = "";
    if (!target) { return; }
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex], text = option ? option.dataset.text || "" : "";
      if (!target.value.trim() || target.value === last) { target.value = text; last = text; }
    });
  });

  /* "select all" for a table of checkboxes */
  $all("input[data-select-all]").forEach(function (box) {
    var form = box.closest("form");
    box.hidden = false;
    box.addEventListener("change", function () {
      $all('input[type=checkbox][name="' + box.dataset.selectAll + '"]', form).forEach(function (c) {
        if (!c.disabled) { c.checked = box.checked; }
      });
      form.dispatchEvent(new Event("change"));
    });
  });
})();
