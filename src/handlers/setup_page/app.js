// The setup page (docs/setup-page.md). Vanilla JS, no dependencies; fetch only to its own origin.
// Everything the server or a tenant controls is set with textContent, never as HTML.
"use strict";

(function () {
  const BASE = document.body.dataset.base; // the page's own path, e.g. /v1/setup
  const API = BASE + "/api/";
  const POLL_MS = 3000;
  const $ = (id) => document.getElementById(id);
  let overview = null;
  let idpSteps = null;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  async function call(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") init.headers["X-Setup-Request"] = "1"; // CSRF: a custom header
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, init);
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = new Error((data && data.detail) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function refuse(message) {
    $("setup").hidden = true;
    $("status").textContent = "";
    $("refused-reason").textContent = message;
    $("refused").hidden = false;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "—";
  }

  // -- branding: the SaaS's name, logo and colour (stack parameters), as text and attributes only
  async function brand() {
    const b = await call("GET", "branding");
    $("brand-name").textContent = b.name;
    document.title = "Connect your identity provider · " + b.name;
    if (b.logo_url) {
      const logo = $("brand-logo");
      logo.src = b.logo_url;
      logo.alt = b.name;
      logo.hidden = false;
    }
    if (/^#[0-9a-fA-F]{6}$/.test(b.accent)) document.documentElement.style.setProperty("--accent", b.accent);
  }

  // -- the IdP steps: docs/idp/*.md as blocks, with the tenant's values filled in
  function fill(text) {
    let out = String(text);
    for (const p of idpSteps.placeholders.tenant_url) out = out.split(p).join(overview.tenant_url);
    for (const p of idpSteps.placeholders.tenant) out = out.split(p).join(overview.tenant_id);
    return out;
  }

  function runs(parent, spans) {
    for (const [kind, text] of spans) {
      parent.appendChild(kind === "t" ? document.createTextNode(fill(text)) : el(kind === "b" ? "strong" : "code", fill(text)));
    }
    return parent;
  }

  function plain(spans) {
    return spans.map((s) => s[1]).join("");
  }

  function block(b) {
    if (b.h) return runs(el("h" + Math.min(6, b.h + 1)), b.text);
    if (b.p) return runs(el("p"), b.p);
    if (b.code !== undefined) return el("pre", fill(b.code));
    if (b.ol || b.ul) {
      const list = el(b.ol ? "ol" : "ul");
      for (const item of b.ol || b.ul) list.appendChild(runs(el("li"), item));
      return list;
    }
    const table = el("table");
    const head = table.createTHead().insertRow();
    for (const cell of b.table.head) runs(head.appendChild(el("th")), cell).scope = "col";
    const body = table.createTBody();
    for (const row of b.table.rows) {
      const tr = body.insertRow();
      // The tenant's own preset's row stands out.
      if (row.length && plain(row[0]).split(/[`, ]+/).includes(overview.preset)) tr.className = "ours";
      for (const cell of row) runs(tr.insertCell(), cell);
    }
    return table;
  }

  function showSteps() {
    const chosen = idpSteps.idps.find((i) => i.id === $("idp").value) || idpSteps.idps[0];
    const steps = $("steps");
    steps.replaceChildren(...chosen.blocks.map(block));
  }

  function requirements() {
    const box = $("requirements");
    const items = [];
    items.push("Preset: " + overview.preset + (overview.groups_enabled ? " (groups on)" : " (groups off: turn group provisioning off)"));
    if (overview.required_attributes.length) items.push("Required attributes: " + overview.required_attributes.join(", "));
    if (overview.kept_attributes) items.push("Attributes kept: userName, active, externalId, " + overview.kept_attributes.join(", "));
    if (overview.username_equals_email) items.push("userName must equal the user's work email");
    if (overview.roles) items.push("roles: one of " + (overview.roles.allowed || []).join(", "));
    const list = el("ul");
    for (const text of items) list.appendChild(el("li", text));
    box.replaceChildren(el("h3", "What your tenant needs mapped"), list);
  }

  // -- roles from groups (issue 18), read-only: group names are the tenant's, set as text only
  function roleMappings() {
    const box = $("roles");
    const parts = [el("h3", "Roles from your groups")];
    const mappings = overview.role_mappings || [];
    if (mappings.length) {
      parts.push(el("p", "Members of these groups get these roles (a user in several gets each; the lowest priority number is the primary role). Push these groups from your identity provider.", "hint"));
      const table = el("table");
      table.id = "role-mappings";
      table.createCaption().textContent = "Group → role mappings";
      const head = table.createTHead().insertRow();
      for (const title of ["Group", "Matched by", "Role", "Priority"]) head.appendChild(el("th", title)).scope = "col";
      const body = table.createTBody();
      for (const m of mappings) {
        const tr = body.insertRow();
        for (const value of [m.group, m.match, m.role, m.priority]) tr.insertCell().textContent = String(value);
      }
      parts.push(table);
    } else if (!overview.default_role) {
      parts.push(el("p", "None: your groups assign no roles in the application."));
    }
    if (overview.default_role) parts.push(el("p", "Default role (for a user no mapped group gives a role): " + overview.default_role));
    else if (mappings.length) parts.push(el("p", "No default role: a user in no mapped group has no role."));
    box.replaceChildren(...parts);
  }

  async function loadSteps() {
    const response = await fetch(BASE + "/idp.json", { credentials: "same-origin" });
    idpSteps = await response.json();
    const select = $("idp");
    for (const idp of idpSteps.idps) {
      const option = el("option", idp.title);
      option.value = idp.id;
      select.appendChild(option);
    }
    select.addEventListener("change", showSteps);
    requirements();
    roleMappings();
    showSteps();
  }

  // -- tokens
  async function loadTokens() {
    const tokens = (await call("GET", "tokens")).data;
    const body = $("tokens").tBodies[0];
    body.replaceChildren();
    const warnings = [];
    for (const t of tokens) {
      const tr = body.insertRow();
      const soon = t.expires_in_days === null || t.expires_in_days === undefined ? "" : expiresIn(t.expires_in_days);
      for (const value of [t.name, when(t.created_at), when(t.expires_at) + (soon ? " (" + soon + ")" : ""), when(t.last_used_at), t.last_four, t.state]) {
        tr.insertCell().textContent = value;
      }
      if (soon) {
        tr.cells[2].className = "warning";
        warnings.push("Token " + t.name + " (ending " + t.last_four + ") " + soon + " — rotate now: " + ROTATION);
      }
      const cell = tr.insertCell();
      if (t.state === "active") {
        const revoke = el("button", "Revoke", "secondary");
        revoke.type = "button";
        revoke.setAttribute("aria-label", "Revoke token " + t.name + " ending " + t.last_four);
        revoke.addEventListener("click", async () => {
          if (!window.confirm("Revoke token " + t.name + "? An identity provider using it is refused at once.")) return;
          await call("DELETE", "tokens/" + encodeURIComponent(t.token_id));
          await loadTokens();
          $("status").textContent = "Token " + t.name + " revoked.";
        });
        cell.appendChild(revoke);
      }
    }
    const list = $("expiry-warnings");
    list.replaceChildren(...warnings.map((text) => el("li", text)));
    list.hidden = !warnings.length;
  }

  const ROTATION = "generate a new token, paste it into your identity provider, wait until \"Last used\" shows it in use, then revoke the old one.";

  function expiresIn(days) {
    return days <= 1 ? "expires within a day" : "expires in " + days + " days";
  }

  async function generate() {
    const name = $("token-name").value.trim() || "idp";
    const issued = await call("POST", "tokens", { name });
    $("token-value").value = issued.token;
    $("new-token").hidden = false;
    $("token-value").focus();
    $("status").textContent = "Token generated. Copy it now: it is not shown again.";
    await loadTokens();
  }

  // -- connection test: the management API's health data
  // Why a token was refused, in words (core.auth.AuthFailure's values; an unknown one as it is).
  const REFUSALS = {
    expired: "the token has expired — generate a new one and paste it into your identity provider",
    revoked: "the token was revoked",
    unknown_token: "no such token (it may have been deleted, or belongs to another tenant)",
    wrong_secret: "the token's secret is wrong (check it was pasted whole)",
    malformed: "not a token of this service (check what was pasted)",
    missing: "no token was sent",
    tenant_disabled: "this tenant is disabled: ask the application's administrators",
  };

  async function loadHealth() {
    const h = await call("GET", "health");
    const last = h.last_request;
    $("last-request").textContent = last ? when(last.at) + ": " + last.method + " answered " + last.status : "none yet";
    const refused = h.last_refused_token;
    const words = refused ? REFUSALS[refused.reason] || refused.reason : "";
    $("last-refusal").textContent = refused ? when(refused.at) + ": " + words + (refused.token_id ? " (token " + refused.token_id + ")" : "") : "none";
    $("user-count").textContent = String(h.users);
  }

  // -- provisioning log: pages of 50, newest first; "Show older" appends the next page.
  // Once older rows are shown the poll refreshes health only (it would otherwise replace them with
  // the first page); Refresh and the Errors only box start again from the newest page.
  let logCursor = null;
  let olderShown = false;
  let logEpoch = 0; // the last log request started wins: a slower earlier answer is dropped

  function logRow(body, r) {
    const tr = body.insertRow();
    tr.insertCell().textContent = when(r.at);
    tr.insertCell().textContent = r.method + (r.actor ? " by " + r.actor : "");
    tr.insertCell().textContent = r.resource_type + (r.resource_id ? " " + r.resource_id : "");
    const outcome = tr.insertCell();
    outcome.textContent = r.outcome + " (" + r.status + ")";
    if (r.outcome === "failure") outcome.className = "failure";
    const details = [];
    if (r.scim_type) details.push(r.scim_type);
    if (r.detail) details.push(r.detail);
    if (r.changed_attributes && r.changed_attributes.length) details.push("changed: " + r.changed_attributes.join(", "));
    tr.insertCell().textContent = details.join(" · ");
  }

  async function logPage(cursor) {
    const params = new URLSearchParams();
    if ($("errors-only").checked) params.set("errors", "1");
    if (cursor) params.set("cursor", cursor);
    const query = params.toString();
    return call("GET", "log" + (query ? "?" + query : ""));
  }

  function showLog(log, append) {
    const body = $("log").tBodies[0];
    if (!append) body.replaceChildren();
    for (const r of log.data) logRow(body, r);
    logCursor = log.next_cursor;
    $("log-older").hidden = !logCursor;
    // Errors only looks at a bounded number of records per request: a short page may have more.
    let note = body.rows.length ? "" : (log.errors_only ? "No errors" : "No records") + " in the last " + log.window_days + " days.";
    if (log.errors_only && logCursor) {
      note = "Searched " + log.examined + " more records (at most " + log.examined_limit +
        " a request); older records are not searched yet: Show older searches further.";
    }
    $("log-note").textContent = note;
  }

  async function loadLog() {
    const epoch = ++logEpoch;
    const log = await logPage(null);
    if (epoch !== logEpoch) return;
    olderShown = false;
    showLog(log, false);
  }

  async function showOlder() {
    if (!logCursor) return;
    const epoch = ++logEpoch;
    const before = olderShown;
    olderShown = true; // from the click on: a poll that started now would drop this answer
    $("log-older").disabled = true;
    try {
      const log = await logPage(logCursor);
      if (epoch === logEpoch) showLog(log, true);
    } catch (error) {
      if (epoch === logEpoch) olderShown = before; // nothing was appended
      if (error.status === 401) refuse(error.message);
      else $("status").textContent = error.message;
    } finally {
      $("log-older").disabled = false;
    }
  }

  async function refresh(poll) {
    try {
      await Promise.all(poll === true && olderShown ? [loadHealth()] : [loadHealth(), loadLog()]);
    } catch (error) {
      if (error.status === 401) refuse(error.message);
    }
  }

  function copy(id) {
    const field = $(id);
    field.select();
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).catch(() => document.execCommand("copy"));
    else document.execCommand("copy");
    $("status").textContent = "Copied.";
  }

  function show(data) {
    overview = data;
    $("tenant-name").textContent = data.tenant_name;
    $("tenant-preset").textContent = data.preset;
    $("session-end").textContent = when(data.session_expires_at);
    $("tenant-url").value = data.tenant_url;
    if (data.return_url) {
      $("return-link").href = data.return_url; // https only: checked when the link was made
      $("done").hidden = false;
    }
    $("status").textContent = "";
    $("setup").hidden = false;
  }

  async function start() {
    $("copy-url").addEventListener("click", () => copy("tenant-url"));
    $("copy-token").addEventListener("click", () => copy("token-value"));
    $("generate").addEventListener("click", () => generate().catch((e) => ($("status").textContent = e.message)));
    $("refresh").addEventListener("click", () => refresh(false));
    $("errors-only").addEventListener("change", () => refresh(false));
    $("log-older").addEventListener("click", showOlder);
    const branding = brand().catch(() => undefined);
    const fragment = decodeURIComponent(window.location.hash.slice(1));
    // The secret leaves the address bar (and the history entry) before anything else happens.
    if (fragment) history.replaceState(null, "", window.location.pathname);
    try {
      show(fragment ? await call("POST", "session", { link: fragment }) : await call("GET", "overview"));
    } catch (error) {
      await branding;
      refuse(error.message);
      return;
    }
    await Promise.all([branding, loadSteps(), loadTokens(), refresh(false)]);
    window.setInterval(() => {
      if (!document.hidden && !$("setup").hidden) refresh(true);
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
