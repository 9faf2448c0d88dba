/* wenzheng: the service worker of an account's citizen page (served as /c/{account}/sw.js).
 * It shows each pushed bulletin as a notification; a bulletin's tag makes a repeated push replace the
 * notification instead of showing it twice. Payload: {title, body, url, tag, kind, severity?}. */
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", function (event) {
  var data = {};
  if (event.data) {
    try {
      data = event.data.json();
    } catch (e) {
      data = {body: event.data.text()};
    }
  }
  var options = {
    body: data.body || "",
    tag: data.tag || "wenzheng",
    renotify: false,
    requireInteraction: data.kind === "alert",
    data: {url: data.url || self.registration.scope}
  };
  event.waitUntil(self.registration.showNotification(data.title || "问政 wenzheng", options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var wanted = (event.notification.data && event.notification.data.url) || self.registration.scope;
  var url = new URL(wanted, self.registration.scope).href;
  event.waitUntil(
    self.clients.matchAll({type: "window", includeUncontrolled: true}).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (windows[i].url === url && "focus" in windows[i]) return windows[i].focus();
      }
      return self.clients.openWindow ? self.clients.openWindow(url) : undefined;
    })
  );
});

// The browser replaced the subscription (keys rotated, or it expired): tell the server about the new one.
self.addEventListener("pushsubscriptionchange", function (event) {
  var base = self.registration.scope.replace(/\/$/, "");
  var old = event.oldSubscription;
  var post = function (path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(body),
      credentials: "same-origin"
    });
  };
  var renewed = event.newSubscription ? Promise.resolve(event.newSubscription) :
    fetch(base + "/push/key", {headers: {"Accept": "application/json"}}).then(function (r) {
      return r.json();
    }).then(function (k) {
      return self.registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: bytes(k.public_key)});
    });
  event.waitUntil(
    renewed.then(function (sub) {
      return post("/push/subscriptions", sub.toJSON());
    }).then(function () {
      if (old) return post("/push/subscriptions/delete", {endpoint: old.endpoint});
    })
  );
});

function bytes(base64url) {
  var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  var raw = atob(padded);
  var out = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
