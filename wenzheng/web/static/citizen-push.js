/* wenzheng: browser notifications on the citizen page (Web Push). Without support the section stays hidden.
 * The words come from the template (data-* attributes on #push), so they follow the page's language. */
(function () {
  "use strict";
  var box = document.getElementById("push");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  var button = document.getElementById("push-button");
  var status = document.getElementById("push-status");
  var base = "/c/" + box.getAttribute("data-slug");
  var scope = base + "/";
  var words = function (name) { return box.getAttribute("data-" + name) || ""; };
  var subscribed = false;

  function show(state, message) {
    subscribed = state === "on";
    button.textContent = words(subscribed ? "button-off" : "button-on");
    button.disabled = state === "denied" || state === "working";
    status.textContent = message || words(state);
    box.setAttribute("data-state", state);
  }

  function bytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function sameKey(subscription, key) {
    var have = subscription.options && subscription.options.applicationServerKey;
    if (!have) return true;  // the browser does not tell: assume it is ours
    var a = new Uint8Array(have), b = bytes(key);
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (response) {
      if (response.ok) return response.json();
      return response.json().catch(function () { return {}; }).then(function (answer) {
        throw new Error((answer.error && answer.error.message) || ("HTTP " + response.status));
      });
    });
  }

  function publicKey() {
    return fetch(base + "/push/key", {headers: {"Accept": "application/json"}}).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (answer) { return answer.public_key; });
  }

  // The worker's scope (/c/{slug}/) does not include this page (/c/{slug}), so wait for the registration's
  // own worker to activate rather than for navigator.serviceWorker.ready.
  function activated(registration) {
    if (registration.active) return Promise.resolve(registration);
    var worker = registration.installing || registration.waiting;
    return new Promise(function (resolve, reject) {
      if (!worker) { reject(new Error("no service worker")); return; }
      worker.addEventListener("statechange", function () {
        if (worker.state === "activated") resolve(registration);
        if (worker.state === "redundant") reject(new Error("the service worker failed to install"));
      });
    });
  }

  function permission() {
    if (Notification.permission !== "default") return Promise.resolve(Notification.permission);
    return new Promise(function (resolve) {
      var asked = Notification.requestPermission(resolve);  // old browsers take a callback
      if (asked && asked.then) asked.then(resolve);
    });
  }

  function subscribe() {
    var registration;
    return permission().then(function (answer) {
      if (answer !== "granted") throw {denied: true};
      return navigator.serviceWorker.register(base + "/sw.js", {scope: scope});
    }).then(activated).then(function (reg) {
      registration = reg;
      return Promise.all([publicKey(), registration.pushManager.getSubscription()]);
    }).then(function (found) {
      var key = found[0], existing = found[1];
      // A subscription made with an earlier key cannot receive our pushes: replace it.
      var stale = existing && !sameKey(existing, key) ? existing.unsubscribe() : Promise.resolve();
      return stale.then(function () {
        return registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: bytes(key)});
      });
    }).then(function (subscription) {
      return localPosition().then(function (position) {
        var body = subscription.toJSON();
        var place = document.getElementById("push-place");
        if (position) body.position = position;
        if (place && place.value.trim()) body.place = place.value.trim();  // a county typed wins over the position
        // The page's language is the language of the bulletins this browser will be notified in.
        return post("/push/subscriptions?lang=" + document.documentElement.lang.slice(0, 2), body);
      });
    });
  }

  // 本地预警: with the box ticked, the browser's position goes along once so that alerts for this county reach
  // it; the server keeps the county only. A refusal or a timeout subscribes without it.
  function localPosition() {
    var wanted = document.getElementById("push-local");
    if (!wanted || !wanted.checked || !("geolocation" in navigator)) return Promise.resolve(null);
    return new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(function (found) {
        resolve({latitude: found.coords.latitude, longitude: found.coords.longitude});
      }, function () { resolve(null); }, {timeout: 10000, maximumAge: 600000});
    });
  }

  function unsubscribe() {
    return navigator.serviceWorker.getRegistration(scope).then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      if (!subscription) return null;
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return post("/push/subscriptions/delete", {endpoint: endpoint});
      });
    });
  }

  function failed(error) {
    if (error && error.denied || Notification.permission === "denied") { show("denied"); return; }
    show("error", words("error") + (error && error.message ? " (" + error.message + ")" : ""));
  }

  button.addEventListener("click", function () {
    var work = subscribed ? unsubscribe().then(function () { show("off"); })
                          : subscribe().then(function () { show("on"); });
    show("working");
    work.catch(failed);
  });

  box.hidden = false;
  if (Notification.permission === "denied") { show("denied"); return; }
  show("off", " ");
  navigator.serviceWorker.getRegistration(scope).then(function (registration) {
    return registration ? registration.pushManager.getSubscription() : null;
  }).then(function (subscription) {
    if (!subscription) { show("off"); return; }
    // A subscription made with an earlier key gets nothing from us any more: offer to turn it on again.
    return publicKey().then(function (key) { show(sameKey(subscription, key) ? "on" : "off"); });
  }).catch(function () { show("off"); });
})();
