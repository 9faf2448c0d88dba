// The live queue: new and changed cases arrive over Server-Sent Events, without a reload.
// A new P0 goes to the top with a visible banner and a short tone.
(function () {
  const box = document.getElementById("queue");
  if (!box || !window.EventSource) return;
  const body = box.querySelector("tbody");
  const alertBox = document.getElementById("alert");
  const source = new EventSource(box.dataset.events);

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function row(c) {
    const tr = document.createElement("tr");
    tr.dataset.case = c.id;
    tr.className = "fresh" + (c.urgency === "P0" ? " p0" + (c.acknowledged ? "" : " unacked") : "");
    const urgency = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "urgency " + (c.urgency || "").toLowerCase();
    badge.textContent = c.urgency || "";
    urgency.appendChild(badge);
    urgency.append(" ", Object.assign(document.createElement("span"), {className: "muted", textContent: c.intent_label}));
    const ref = document.createElement("td");
    const link = document.createElement("a");
    link.href = c.url;
    link.textContent = c.ref;
    ref.appendChild(link);
    const tick = document.createElement("td");
    tick.appendChild(Object.assign(document.createElement("input"),
      {type: "checkbox", name: "case_ids", value: String(c.id)}));
    tick.firstChild.setAttribute("form", "bulk");
    tr.append(tick, urgency, ref, cell(c.summary, "excerpt"), cell(String(c.message_count)), cell(c.state_label), cell("—"),
              cell(new Date(c.updated_at).toLocaleString()));
    return tr;
  }

  function beep() {
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (e) { /* no audio: the banner still shows */ }
  }

  source.addEventListener("case", function (event) {
    const c = JSON.parse(event.data);
    const existing = body.querySelector('tr[data-case="' + c.id + '"]');
    const fresh = row(c);
    if (existing) {
      existing.replaceWith(fresh);
      return;
    }
    box.hidden = false;
    const empty = document.getElementById("empty");
    if (empty) empty.hidden = true;
    if (c.urgency === "P0") {
      body.prepend(fresh);
      alertBox.textContent = box.dataset.newP0 + c.ref + " " + c.summary;
      alertBox.hidden = false;
      beep();
    } else {
      const firstCalmer = Array.from(body.rows).find((r) => !r.classList.contains("p0"));
      body.insertBefore(fresh, firstCalmer || null);
    }
  });
})();

// Keyboard: j / k move through the queue, Enter or o opens the case, a opens it to take it.
(function () {
  const body = document.querySelector("#queue tbody");
  if (!body) return;
  let current = -1;
  function select(index) {
    const rows = Array.from(body.rows);
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("selected", i === current));
    rows[current].scrollIntoView({block: "nearest"});
  }
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=case_ids]").forEach(function (box) { box.checked = all.checked; });
    });
  }

  document.addEventListener("keydown", function (event) {
    if (["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName) || event.ctrlKey || event.metaKey) return;
    const rows = Array.from(body.rows);
    if (event.key === "j") select(current + 1);
    else if (event.key === "k") select(current - 1);
    else if (event.key === "x" && rows[current]) {  // tick the row for a bulk action
      const box = rows[current].querySelector("input[name=case_ids]");
      if (box) box.checked = !box.checked;
    }
    else if ((event.key === "Enter" || event.key === "o" || event.key === "a") && rows[current]) {
      const link = rows[current].querySelector("a");
      if (link) window.location = link.href + (event.key === "a" ? "#take" : "");
    }
  });
})();
