// The bulletin pages. Composing: the alert fields follow the kind, the severity follows the colour, and the
// audience count and the channel previews follow what is typed. One bulletin: while it is sending, the
// numbers follow the fan-out. Both pages work without this file (the server renders all of it once).
(function () {
  "use strict";

  function debounce(work, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(work, ms);
    };
  }

  function asJSON(response) {
    return response.json().then(function (body) { return {ok: response.ok, body: body}; });
  }

  function setText(id, text) {
    const element = document.getElementById(id);
    if (element) element.textContent = text;
  }

  // A button may ask before it submits (console.js asks for whole forms).
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    const question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  function compose(form) {
    const alertFields = document.getElementById("alert-fields");
    const alertOnly = form.querySelectorAll(".alert-only");
    const colour = document.getElementById("f-warning_colour");
    const severity = document.getElementById("f-cap_severity");
    const countBox = document.getElementById("audience-count");
    const csrf = form.elements.csrf_token.value;

    function showKind() {
      const isAlert = form.elements.kind.value === "alert";
      // A disabled fieldset is neither shown nor sent, so hidden alert fields never block the form.
      alertFields.hidden = !isAlert;
      alertFields.disabled = !isAlert;
      alertOnly.forEach(function (button) {
        button.hidden = !isAlert;
        button.disabled = !isAlert;
      });
    }

    function showSeverity() {
      const implied = colour.options[colour.selectedIndex].dataset.severity;
      severity.disabled = Boolean(implied);  // the colour decides the severity: an empty field says so
      if (implied) severity.value = "";
      setText("severity-shown", implied ? "→ " + implied : "");
    }

    function channelLabel(name) {
      const box = form.querySelector('input[name="channels"][value="' + name + '"]');
      return box ? box.parentElement.textContent.trim() : name;
    }

    function showCount(counts) {
      countBox.classList.remove("field-error");
      countBox.textContent = form.dataset.countLabel + " ";
      countBox.appendChild(Object.assign(document.createElement("strong"), {textContent: String(counts.total)}));
      Object.keys(counts).filter(function (key) { return key !== "total" && counts[key]; }).forEach(function (key) {
        countBox.append(" · " + channelLabel(key) + " " + counts[key]);
      });
    }

    const refreshCount = debounce(function () {
      const query = new URLSearchParams();
      form.querySelectorAll('input[name="tags"]:checked').forEach(function (box) { query.append("tags", box.value); });
      form.querySelectorAll('input[name="channels"]:checked').forEach(function (box) { query.append("channels", box.value); });
      query.set("regions", form.elements.regions.value);
      query.set("near", form.elements.near.value);
      fetch(form.dataset.audience + "?" + query, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(asJSON)
        .then(function (answer) {
          if (answer.ok) return showCount(answer.body);
          countBox.classList.add("field-error");
          countBox.textContent = answer.body.error ? answer.body.error.message : "";
        })
        .catch(function () { /* offline: the count is shown again after the next change */ });
    }, 300);

    // The other languages' versions (the English one: en_title, en_body, en_instruction) have an SMS preview too.
    const versionFields = ["en_title", "en_body", "en_instruction"];
    const refreshPreview = debounce(function () {
      const body = new URLSearchParams();
      ["title", "body", "cap_instruction"].concat(versionFields).forEach(function (name) {
        if (form.elements[name]) body.set(name, form.elements[name].value);
      });
      body.set("kind", form.elements.kind.value);
      fetch(form.dataset.preview, {
        method: "POST",
        body: body,
        headers: {Accept: "application/json", "X-CSRF-Token": csrf},
        credentials: "same-origin",
      })
        .then(asJSON)
        .then(function (answer) {
          if (!answer.ok) return;
          const preview = answer.body;
          setText("preview-wechat", preview.wechat);
          setText("preview-sms", preview.sms.text);
          setText("preview-sms-segments", String(preview.sms.segments));
          setText("preview-sms-encoding", preview.sms.encoding);
          document.getElementById("preview-sms-cut").hidden = !preview.sms.cut;
          setText("preview-web-title", preview.web.title);
          setText("preview-web-body", preview.web.body);
          document.querySelectorAll("[data-language]").forEach(function (block) {
            const version = (preview.versions || {})[block.dataset.language];
            block.hidden = !version;
            if (!version) return;
            block.querySelector("[data-part=text]").textContent = version.text;
            block.querySelector("[data-part=segments]").textContent = String(version.segments);
            block.querySelector("[data-part=encoding]").textContent = version.encoding;
            block.querySelector("[data-part=cut]").hidden = !version.cut;
          });
        })
        .catch(function () { /* the preview catches up after the next change */ });
    }, 400);

    const audienceFields = ["tags", "regions", "near", "channels"];
    const previewFields = ["kind", "title", "body", "cap_instruction"].concat(versionFields);
    function changed(event) {
      const name = event.target.name;
      if (name === "kind") showKind();
      if (name === "warning_colour") showSeverity();
      if (audienceFields.indexOf(name) >= 0) refreshCount();
      if (previewFields.indexOf(name) >= 0) refreshPreview();
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    showKind();
    showSeverity();
    refreshCount();
    // A form that came back refused: start at the first field to correct.
    const firstInvalid = form.querySelector('[aria-invalid="true"]');
    if (firstInvalid) firstInvalid.focus();
  }

  function follow(box) {
    const table = document.getElementById("delivery-table");
    const states = JSON.parse(table.dataset.states);
    const channels = JSON.parse(table.dataset.channels);

    function row(channel) {
      let tr = table.querySelector('tr[data-channel="' + channel + '"]');
      if (tr) return tr;
      const empty = table.querySelector("tr.empty-row");
      if (empty) empty.remove();
      tr = document.createElement("tr");
      tr.dataset.channel = channel;
      tr.appendChild(Object.assign(document.createElement("th"), {scope: "row", textContent: channels[channel] || channel}));
      states.concat(["total"]).forEach(function (state) {
        const td = document.createElement("td");
        td.dataset.state = state;
        tr.appendChild(td);
      });
      table.tBodies[0].appendChild(tr);
      return tr;
    }

    function show(progress) {
      const bar = document.getElementById("progress-bar");
      bar.max = progress.total || 1;
      bar.value = progress.closed;
      setText("progress-percent", String(progress.percent));
      setText("progress-sent", String(progress.sent));
      setText("progress-failed", String(progress.failed));
      setText("progress-total", String(progress.total));
      Object.keys(progress.counts).forEach(function (channel) {
        const counts = progress.counts[channel];
        const tr = row(channel);
        let total = 0;
        states.forEach(function (state) {
          total += counts[state] || 0;
          tr.querySelector('td[data-state="' + state + '"]').textContent = String(counts[state] || 0);
        });
        tr.querySelector('td[data-state="total"]').textContent = String(total);
      });
    }

    function poll() {
      fetch(box.dataset.progress, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(asJSON)
        .then(function (answer) {
          if (!answer.ok) return;  // logged out or gone: stop, the page still shows the last numbers
          show(answer.body);
          // Finished: load the page once more for the final chart and failure reasons.
          if (answer.body.finished) return window.location.reload();
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 1000);
  }

  const form = document.getElementById("compose");
  if (form) compose(form);
  const sending = document.getElementById("sending");
  if (sending && sending.dataset.state === "sending") follow(sending);
})();
