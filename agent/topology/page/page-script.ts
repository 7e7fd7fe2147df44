// The topology page's script, inlined into the page: follows /api/events, draws hosts, endpoints,
// services and networks with plain DOM (text only through textContent: names come from the cluster),
// updates each link's rate in place, and traces between two clicked endpoints through /api/trace.
// Plain browser JavaScript in a string (no backticks, no dollar-brace) so the page needs no build.
export const PAGE_SCRIPT = String.raw`
"use strict";
(function () {
  var state = { snapshot: null, structure: "", from: null, to: null, tracing: false, rateCells: new Map() };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (attrs[k] === undefined || attrs[k] === null) return;
      if (k === "text") node.textContent = String(attrs[k]);
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, String(attrs[k]));
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function rate(bytesPerSec) {
    if (typeof bytesPerSec !== "number") return "-";
    if (bytesPerSec < 1000) return bytesPerSec + " B/s";
    if (bytesPerSec < 1e6) return (bytesPerSec / 1e3).toFixed(1) + " kB/s";
    return (bytesPerSec / 1e6).toFixed(2) + " MB/s";
  }
  function rateText(link) {
    if (!link) return "no counters";
    return "rx " + rate(link.rxBytesPerSec) + "  tx " + rate(link.txBytesPerSec);
  }
  function safeKey(key) { return key.split("\u0000").join("|"); }

  function structureOf(s) {
    return JSON.stringify({
      hosts: s.hosts.map(function (h) { return [h.name, h.underlayIp, h.state, h.endpoints, h.trafficUnreachable]; }),
      networks: s.networks, endpoints: s.endpoints, services: s.services,
      links: s.links.map(function (l) { return l.key; }), omitted: s.omitted || null, counters: !s.traffic.error,
    });
  }

  function render(s) {
    state.snapshot = s;
    $("meta").textContent = "served by " + s.node + " \u00B7 " + s.hosts.length + " hosts \u00B7 " + s.endpoints.length + " endpoints \u00B7 updated " + new Date(s.atMs).toLocaleTimeString();
    var notes = [];
    if (s.traffic.error) notes.push(s.traffic.error);
    if (s.traffic.unreachable.length) notes.push("no counters from " + s.traffic.unreachable.join(", "));
    if (s.omitted) notes.push("too large to show whole: showing the first " + s.endpoints.length + " endpoints and " + s.links.length + " links");
    $("traffic-note").textContent = notes.join(" \u00B7 ");
    var structure = structureOf(s);
    if (structure !== state.structure) {
      state.structure = structure;
      drawHosts(s);
      drawOverview(s);
      drawServices(s);
      drawNetworks(s);
      markPicked();
    }
    updateRates(s);
  }

  function updateRates(s) {
    var byKey = new Map(s.links.map(function (l) { return [l.key, l]; }));
    state.rateCells.forEach(function (cells, key) {
      var text = rateText(byKey.get(key));
      cells.forEach(function (cell) { if (cell.textContent !== text) cell.textContent = text; });
    });
  }

  function rateCell(key, className) {
    var cell = el("span", { className: className || "rate", "data-link-key": safeKey(key) });
    if (!state.rateCells.has(key)) state.rateCells.set(key, []);
    state.rateCells.get(key).push(cell);
    return cell;
  }

  var SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  var RANK = { dead: 3, suspect: 2, unknown: 1, alive: 0, self: 0 };

  // The underlay at a glance: every host a dot in its state's colour, a line for each pair of hosts
  // (VXLAN runs between all of them), labelled with the traffic the first sends the second.
  function drawOverview(s) {
    var svg = $("overview");
    svg.textContent = "";
    var hosts = s.hosts, n = hosts.length;
    if (n < 2 || n > 16) { svg.setAttribute("hidden", ""); return; }
    svg.removeAttribute("hidden");
    var width = 800, height = n === 2 ? 130 : 320;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    var at = hosts.map(function (h, i) {
      if (n === 2) return { x: (width * (i + 0.5)) / n, y: height / 2 - 10 };
      var angle = (2 * Math.PI * i) / n - Math.PI / 2;
      return { x: width / 2 + (height / 2 - 60) * Math.cos(angle), y: height / 2 + 5 + (height / 2 - 60) * Math.sin(angle) };
    });
    for (var i = 0; i < n; i++) for (var j = i + 1; j < n; j++) {
      var a = hosts[i], b = hosts[j];
      var worst = RANK[a.state] >= RANK[b.state] ? a.state : b.state;
      var wire = svgEl("line", { x1: at[i].x, y1: at[i].y, x2: at[j].x, y2: at[j].y, "class": "wire", "data-state": worst, "data-from": a.name, "data-to": b.name });
      wire.appendChild(svgEl("title", {}, "VXLAN between " + a.name + " and " + b.name + " (traffic as " + a.name + " counts it)"));
      svg.appendChild(wire);
      var link = s.links.find(function (l) { return l.kind === "peer" && l.host === a.name && l.peer === b.name; });
      if (link && n <= 4) {
        var label = svgEl("text", { x: (at[i].x + at[j].x) / 2, y: (at[i].y + at[j].y) / 2 - 6, "class": "wire-rate", "text-anchor": "middle", "data-link-key": safeKey(link.key) }, rateText(link));
        if (!state.rateCells.has(link.key)) state.rateCells.set(link.key, []);
        state.rateCells.get(link.key).push(label);
        svg.appendChild(label);
      }
    }
    hosts.forEach(function (h, k) {
      var g = svgEl("g", { "data-host-dot": h.name });
      g.appendChild(svgEl("title", {}, h.name + " " + h.underlayIp + " (" + h.state + ")"));
      g.appendChild(svgEl("circle", { cx: at[k].x, cy: at[k].y, r: 14, "class": "dot", "data-state": h.state }));
      // The name outside the ring (above a dot in its upper half), clear of the lines.
      var above = n > 2 && at[k].y < height / 2;
      g.appendChild(svgEl("text", { x: at[k].x, y: at[k].y + (above ? -22 : 32), "text-anchor": "middle", "class": "dot-name" }, h.name + "  " + h.underlayIp));
      svg.appendChild(g);
    });
  }

  function linkLabel(l) {
    if (l.kind === "peer") return "to " + l.peer + " (" + l.name + ")";
    if (l.kind === "vxlan") return l.name + (l.network ? " \u00B7 " + l.network : "");
    return l.name;
  }

  function drawHosts(s) {
    state.rateCells = new Map();
    var box = $("hosts");
    box.textContent = "";
    s.hosts.forEach(function (h) {
      var article = el("article", { className: "host", "data-host": h.name, "data-state": h.state, "data-underlay-ip": h.underlayIp, "aria-label": "host " + h.name }, [
        el("header", null, [
          el("h3", { text: h.name }),
          el("span", { className: "badge", "data-state": h.state, text: h.state === "self" ? "this agent" : h.state, title: h.lastSeenMs ? "last heard " + new Date(h.lastSeenMs).toLocaleTimeString() : null }),
          el("span", { className: "ip", title: "underlay address (VTEP)", text: h.underlayIp || "?" }),
        ]),
      ]);
      var hostLinks = s.links.filter(function (l) { return l.host === h.name && l.kind !== "endpoint"; });
      if (hostLinks.length) {
        var list = el("ul", { className: "links", "aria-label": "links of " + h.name });
        hostLinks.forEach(function (l) {
          list.appendChild(el("li", { "data-link-kind": l.kind }, [el("span", { text: linkLabel(l) }), rateCell(l.key)]));
        });
        article.appendChild(list);
      } else if (h.trafficUnreachable) {
        article.appendChild(el("p", { className: "muted", text: "counters unreachable" }));
      }
      var mine = s.endpoints.filter(function (e) { return e.host === h.name; });
      var networks = Array.from(new Set(mine.map(function (e) { return e.network; })));
      networks.forEach(function (n) {
        var group = el("div", { className: "endpoints", "data-network": n });
        mine.filter(function (e) { return e.network === n; }).forEach(function (e) {
          var link = s.links.find(function (l) { return l.kind === "endpoint" && l.endpointId === e.id && l.host === h.name; });
          group.appendChild(el("button", {
            type: "button", className: "endpoint", "data-endpoint-id": e.id, "data-endpoint-name": e.name, "data-ip": e.ip,
            "data-host": e.host, "data-network": e.network, "aria-pressed": "false", title: "endpoint " + e.id + " \u00B7 MAC " + e.mac,
          }, [el("span", { className: "name", text: e.name || e.id.slice(0, 12) }), el("span", { className: "ip", text: e.ip }), link ? rateCell(link.key) : el("span", { className: "rate", text: s.traffic.error ? "" : "no counters" })]));
        });
        article.appendChild(el("h4", { text: n }));
        article.appendChild(group);
      });
      if (!mine.length) article.appendChild(el("p", { className: "muted", text: "no endpoints" }));
      box.appendChild(article);
    });
  }

  function drawServices(s) {
    var box = $("services");
    box.textContent = "";
    if (!s.services.length) { box.appendChild(el("p", { className: "muted", text: "no services" })); return; }
    s.services.forEach(function (svc) {
      var ports = svc.ports.map(function (p) { return p.published + "\u2192" + p.target + "/" + p.protocol + (p.publishMode === "local" ? " (local)" : ""); }).join(", ");
      var backends = el("ul", { "aria-label": "backends of " + svc.name });
      svc.backends.forEach(function (b) {
        backends.appendChild(el("li", { "data-backend-endpoint-id": b.endpointId, "data-host": b.host, text: (b.name || b.endpointId.slice(0, 12)) + " " + b.ip + " on " + b.host }));
      });
      if (!svc.backends.length) backends.appendChild(el("li", { className: "muted", text: "no backends" }));
      box.appendChild(el("article", { className: "service", "data-service": svc.name, "data-network": svc.network }, [
        el("h3", { text: svc.name }),
        el("p", { className: "muted", text: svc.network + " \u00B7 " + svc.mode + (svc.vip ? " " + svc.vip : "") + (ports ? " \u00B7 published " + ports : "") }),
        backends,
      ]));
    });
  }

  function drawNetworks(s) {
    var table = $("networks");
    table.textContent = "";
    table.appendChild(el("thead", null, [el("tr", null, ["network", "VNI", "subnet", "internal", "hosts with endpoints"].map(function (t) { return el("th", { scope: "col", text: t }); }))]));
    var body = el("tbody");
    s.networks.forEach(function (n) {
      body.appendChild(el("tr", { "data-network": n.name }, [n.name, n.vni, n.subnet, n.internal ? "yes" : "no", n.hosts.join(", ") || "-"].map(function (t) { return el("td", { text: t }); })));
    });
    table.appendChild(body);
  }

  function markPicked() {
    document.querySelectorAll(".endpoint").forEach(function (b) {
      var id = b.getAttribute("data-endpoint-id");
      var picked = state.from && state.from.id === id ? "from" : state.to && state.to.id === id ? "to" : null;
      if (picked) b.setAttribute("data-picked", picked); else b.removeAttribute("data-picked");
      b.setAttribute("aria-pressed", picked ? "true" : "false");
    });
  }

  function pick(button) {
    if (state.tracing) return;
    var endpoint = { id: button.getAttribute("data-endpoint-id"), name: button.getAttribute("data-endpoint-name"), ip: button.getAttribute("data-ip"), host: button.getAttribute("data-host") };
    if (!state.from || state.to) { state.from = endpoint; state.to = null; }
    else if (state.from.id === endpoint.id) { state.from = null; }
    else { state.to = endpoint; }
    markPicked();
    if (state.from && state.to) runTrace(state.from, state.to);
    else showTraceMessage(state.from ? "from " + label(state.from) + ": now click the destination" : "Click two endpoints: the first is the source, the second the destination.", "selecting");
  }
  function label(e) { return (e.name || e.id.slice(0, 12)) + " (" + e.ip + " on " + e.host + ")"; }

  function showTraceMessage(text, traceState) {
    var box = $("trace");
    box.textContent = "";
    box.setAttribute("data-trace-state", traceState);
    box.appendChild(el("p", { text: text }));
  }

  function runTrace(from, to) {
    state.tracing = true;
    showTraceMessage("tracing " + label(from) + " \u2192 " + label(to) + " \u2026", "running");
    fetch("/api/trace?from=" + encodeURIComponent(from.id) + "&to=" + encodeURIComponent(to.id), { headers: { accept: "application/json" } })
      .then(function (res) { return res.json().then(function (body) { return { ok: res.ok, status: res.status, body: body }; }); })
      .then(function (r) { if (r.ok) showTrace(r.body); else showTraceError((r.body && r.body.error) || ("HTTP " + r.status)); })
      .catch(function (err) { showTraceError(String(err && err.message || err)); })
      .then(function () { state.tracing = false; });
  }

  function showTraceError(message) {
    var box = $("trace");
    box.textContent = "";
    box.setAttribute("data-trace-state", "error");
    box.appendChild(el("p", { role: "alert", "data-trace-error": "", text: message }));
  }

  function counters(c) {
    if (!c) return "";
    var parts = [];
    if (typeof c.packets === "number") parts.push(c.packets + " pkts");
    if (typeof c.bytes === "number") parts.push(c.bytes + " B");
    if (typeof c.packetsDelta === "number") parts.push("+" + c.packetsDelta + " pkts during probe");
    return parts.join(", ");
  }

  function showTrace(report) {
    var box = $("trace");
    box.textContent = "";
    box.setAttribute("data-trace-state", "done");
    box.setAttribute("data-trace-ok", String(report.ok));
    box.appendChild(el("p", { className: "summary", "data-ok": String(report.ok), role: report.ok ? "status" : "alert", text: report.summary }));
    box.appendChild(el("p", { className: "muted", text: report.from.name + " (" + report.from.ip + ") \u2192 " + report.to.name + " (" + report.to.ip + "), " + report.proto + (report.port ? " port " + report.port : "") }));
    var table = el("table", { "aria-label": "hops" });
    table.appendChild(el("thead", null, [el("tr", null, ["#", "host", "layer", "object", "expected", "actual", "counters", "problem"].map(function (t) { return el("th", { scope: "col", text: t }); }))]));
    var body = el("tbody");
    report.hops.forEach(function (hop, i) {
      var broken = report.brokenAt === i;
      var problem = hop.problem ? hop.problem + (hop.cause ? " (likely cause: " + hop.cause + ")" : "") : hop.ok ? "" : "not as expected";
      body.appendChild(el("tr", { className: "hop", "data-hop-index": i, "data-layer": hop.layer, "data-ok": String(hop.ok), "data-broken": broken ? "true" : null }, [
        el("td", { text: String(i + 1) }), el("td", { text: hop.host }), el("td", { text: hop.layer }), el("td", { className: "mono", text: hop.object }),
        el("td", { className: "mono", text: hop.expected }), el("td", { className: "mono", text: hop.actual }), el("td", { text: counters(hop.counters) }), el("td", { text: problem }),
      ]));
    });
    table.appendChild(body);
    box.appendChild(table);
    if (report.probe) box.appendChild(el("p", { text: "probe: " + report.probe.detail }));
  }

  document.addEventListener("click", function (ev) {
    var target = ev.target instanceof Element ? ev.target.closest(".endpoint") : null;
    if (target) pick(target);
  });

  function connect() {
    var status = $("status");
    var source = new EventSource("/api/events");
    source.addEventListener("open", function () { status.setAttribute("data-stream-state", "live"); status.textContent = "live"; });
    source.addEventListener("error", function () { status.setAttribute("data-stream-state", "reconnecting"); status.textContent = "reconnecting\u2026"; });
    source.addEventListener("snapshot", function (ev) {
      try { render(JSON.parse(ev.data)); } catch (err) { $("traffic-note").textContent = "could not draw a snapshot: " + err; }
    });
  }
  fetch("/api/topology").then(function (r) { return r.json(); }).then(function (s) { if (!state.snapshot) render(s); }).catch(function () {});
  connect();
})();
`;
