/* Flowdesk workflow designer: the side panel's sections for timer and automation nodes, SLAs
 * and notification strategies (docs/workflow-format.md). designer.js mixes these methods into
 * its `designer` component, so `this` is that component.
 *
 * Every setter writes through `setAt`, which drops a key whose value is empty and an object
 * left empty by that: the document holds only what the designer said.
 */
"use strict";

window.fddOptions = (cfg) => {
  const T = cfg.text;
  const NOTIFY = cfg.notify;
  const SLA_TYPES = ["task", "approval", "automation"];
  const HTTP_ONLY = ["request", "wait", "callback", "poll", "outputs"];
  // The parts of an HTTP automation edited as one JSON object, and where each lives.
  const JSON_PARTS = {
    headers: "request.headers", body: "request.body", callback: "callback", poll: "poll",
    outputs: "outputs",
  };

  const fmt = (template, value) => template.replace("%s", value);
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const unset = (v) => v === undefined || v === null || v === "" || Number.isNaN(v)
    || (Array.isArray(v) && !v.length);
  const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
  const ticketEvent = (name) => NOTIFY.events.some((e) => e.value === name && e.ticket);

  return {
    notifyChannels: NOTIFY.channels,
    httpMethods: cfg.httpMethods,
    calendars: cfg.calendars,
    jsonDraft: null, // {id, text, error}: the JSON editor's text as typed, with its problem

    // --- paths into the document ---------------------------------------------------------------

    valueAt(obj, path) {
      return path.split(".").reduce((o, key) => (isObject(o) ? o[key] : undefined), obj);
    },

    /** Set the value at a dotted path ("sla.due"); an empty value removes the key, and the
     * objects on the path that are left empty go too. */
    setAt(obj, path, value) {
      const keys = path.split(".");
      const chain = [obj];
      for (const key of keys.slice(0, -1)) {
        const here = chain[chain.length - 1];
        if (!isObject(here[key])) {
          if (unset(value)) return;
          here[key] = {};
        }
        chain.push(here[key]);
      }
      const last = keys[keys.length - 1];
      if (unset(value)) delete chain[chain.length - 1][last];
      else chain[chain.length - 1][last] = value;
      for (let i = chain.length - 1; i > 0 && !Object.keys(chain[i]).length; i -= 1) {
        delete chain[i - 1][keys[i - 1]];
      }
    },

    setCount(obj, path, raw) {
      this.setAt(obj, path, raw === "" ? "" : Number.parseInt(raw, 10));
    },

    /** The message of the first problem at `key` ("sla.due") of a node, or of the workflow's
     * settings for null, or under it unless `exact`: it marks the input that holds that key. */
    problemIn(node, key, exact = false) {
      const rows = node ? this.problemsOf({ kind: "node", id: node.id })
        : this.problemsOf({ kind: "settings" });
      const hit = rows.find((p) => {
        const rest = p.path.replace(/^(nodes\[\d+\]|settings)\.?/, "");
        const under = rest.startsWith(`${key}.`) || rest.startsWith(`${key}[`);
        return rest === key || (!exact && under);
      });
      return hit ? hit.message : "";
    },

    /** Until and after exclude each other: a problem with the pair marks both. */
    timerProblem(node, key) {
      return this.problemIn(node, `timer.${key}`) || this.problemIn(node, "timer", true);
    },

    /** A checksum check needs one digest field or both: a problem with the pair marks both. */
    digestProblem(node, key) {
      return this.problemIn(node, `automation.checksum.${key}`)
        || this.problemIn(node, "automation.checksum", true);
    },

    // --- which node takes what ------------------------------------------------------------------

    isSystem(node) {
      return cfg.nodeKinds.system.includes(node?.type);
    },

    /** Start, task, approval, timer and automation nodes: operators, fields, notifications. */
    isStep(node) {
      return this.isHuman(node) || this.isSystem(node);
    },

    takesSla(node) {
      return SLA_TYPES.includes(node?.type);
    },

    /** After a type change: drop the options the new type does not take. */
    dropOptions(node) {
      if (!this.takesSla(node)) delete node.sla;
      if (!this.isStep(node)) delete node.notify;
      if (node.type !== "timer") delete node.timer;
      if (node.type !== "automation") delete node.automation;
    },

    /** Node ids and field keys named by these options follow a rename. */
    renameInOptions(node, kind, oldName, newName) {
      const ops = node.sla?.escalate_to || [];
      if (kind === "node") {
        for (const op of ops) if (op.node === oldName) op.node = newName;
        if (node.automation?.return_to === oldName) node.automation.return_to = newName;
        return;
      }
      for (const op of ops) if (op.field === oldName) op.field = newName;
      if (node.timer?.until_field === oldName) node.timer.until_field = newName;
      const check = node.automation?.checksum || {};
      for (const key of ["url_field", "md5_field", "sha256_field"]) {
        if (check[key] === oldName) check[key] = newName;
      }
      const outputs = node.automation?.outputs;
      if (outputs && oldName in outputs) {
        node.automation.outputs = Object.fromEntries(Object.entries(outputs)
          .map(([key, path]) => [key === oldName ? newName : key, path]));
      }
    },

    /** What the canvas box says under the name: the wait, the call, the due time. */
    nodeDetail(node) {
      const { timer, automation, sla } = node;
      const parts = [];
      if (node.type === "timer") {
        if (timer?.until_field) parts.push(fmt(T.until, this.fieldLabel(timer.until_field)));
        if (timer?.after) parts.push(fmt(T.after, timer.after));
      }
      if (node.type === "automation") {
        if (automation?.action === "checksum") parts.push(T.checksumCheck);
        const request = automation?.request;
        if (request?.url) parts.push(`${request.method || "POST"} ${request.url}`);
      }
      if (this.takesSla(node) && sla?.due) parts.push(fmt(T.due, sla.due));
      return parts.join(" · ");
    },

    fieldsOfType(types, algorithm) {
      return (this.doc.fields || []).filter((f) => types.includes(f.type)
        && (f.type !== "checksum" || f.algorithm === algorithm));
    },

    // --- operators (of a node, of an SLA's escalation) -------------------------------------------

    addOperator(node, path) {
      const list = this.valueAt(node, path) || [];
      this.setAt(node, path, [...list, { type: "business_role", role: "" }]);
    },

    removeOperator(node, path, i) {
      this.setAt(node, path, this.valueAt(node, path).filter((_op, k) => k !== i));
    },

    // --- timer nodes ----------------------------------------------------------------------------

    /** A timer waits until a field's moment or for a duration (with its calendar), not both. */
    setTimer(node, key, value) {
      this.setAt(node, `timer.${key}`, value);
      if (!value || key === "calendar") return;
      const others = key === "after" ? ["until_field"] : ["after", "calendar"];
      for (const other of others) this.setAt(node, `timer.${other}`, "");
    },

    // --- automation nodes -----------------------------------------------------------------------

    setAction(node, action) {
      const automation = { ...(node.automation || {}), action };
      for (const key of action === "http" ? ["checksum"] : HTTP_ONLY) delete automation[key];
      this.setAt(node, "automation", action ? automation : "");
      this.jsonDraft = null;
    },

    setWait(node, wait) {
      this.setAt(node, "automation.wait", wait === "none" ? "" : wait);
      for (const key of ["callback", "poll"]) if (key !== wait) this.setAt(node, `automation.${key}`, "");
      this.jsonDraft = null;
    },

    setOnFailure(node, value) {
      this.setAt(node, "automation.on_failure", value === "wait" ? "" : value);
      if (value !== "return") this.setAt(node, "automation.return_to", "");
    },

    jsonText(node) {
      if (this.jsonDraft?.id === node.id) return this.jsonDraft.text;
      const parts = {};
      for (const [key, path] of Object.entries(JSON_PARTS)) {
        const value = this.valueAt(node.automation, path);
        if (value !== undefined) parts[key] = value;
      }
      return Object.keys(parts).length ? JSON.stringify(parts, null, 2) : "";
    },

    /** A problem the server found in the JSON editor's parts, or with what the wait needs. */
    jsonProblem(node) {
      const inParts = Object.values(JSON_PARTS)
        .map((path) => this.problemIn(node, `automation.${path}`));
      return this.problemIn(node, "automation", true) || inParts.find(Boolean) || "";
    },

    jsonError(node) {
      return this.jsonDraft?.id === node.id ? this.jsonDraft.error : "";
    },

    /** Keep the text as typed (so the caret stays put); apply it whenever it reads. */
    setJson(node, text) {
      this.jsonDraft = { id: node.id, text, error: this.applyJson(node, text) };
    },

    /** Leaving the editor shows the document again, unless the text does not read. */
    leaveJson() {
      if (!this.jsonDraft?.error) this.jsonDraft = null;
    },

    /** Put the JSON editor's parts in place; returns what is wrong with the text, or "". */
    applyJson(node, text) {
      let parts;
      try {
        parts = text.trim() ? JSON.parse(text) : {};
      } catch (error) {
        return fmt(T.jsonSyntax, error.message);
      }
      if (!isObject(parts)) return T.jsonObject;
      const unknown = Object.keys(parts).find((key) => !(key in JSON_PARTS));
      if (unknown !== undefined) return fmt(T.jsonKey, unknown);
      for (const [key, path] of Object.entries(JSON_PARTS)) {
        this.setAt(node, `automation.${path}`, parts[key]);
      }
      return "";
    },

    // --- notification strategies (a node's, or the workflow's for null) --------------------------

    /** The workflow's strategy in object form (settings.notify may be a list of channels). */
    workflowNotify() {
      const said = this.doc.settings?.notify;
      return Array.isArray(said) ? { channels: said } : { ...(said || {}) };
    },

    /** What holds where nothing is said: the defaults for the workflow, its strategy for a node. */
    inheritedNotify(node) {
      const defaults = { ...NOTIFY.defaults, remind_every: "" };
      return node ? { ...defaults, ...this.workflowNotify() } : defaults;
    },

    notifyOf(node) {
      return { ...this.inheritedNotify(node), ...(node ? node.notify || {} : this.workflowNotify()) };
    },

    /** Events a strategy chooses from: a node's are about its step, not the whole ticket. */
    notifyEvents(node) {
      return NOTIFY.events.filter((e) => !node || !e.ticket);
    },

    setChannel(node, channel, on) {
      const now = this.notifyOf(node).channels;
      const next = NOTIFY.channels.map((c) => c.value)
        .filter((c) => (c === channel ? on : now.includes(c)));
      this.setNotify(node, "channels", next);
    },

    setEvents(node, select) {
      this.setNotify(node, "events", [...select.selectedOptions].map((o) => o.value));
    },

    /** Say `key` only where it differs from what holds anyway; [] channels (silence) is said. */
    setNotify(node, key, value) {
      const inherited = this.inheritedNotify(node);
      const said = { ...(node ? node.notify || {} : this.workflowNotify()), [key]: value };
      for (const [k, v] of Object.entries(said)) {
        let base = inherited[k];
        if (k === "events" && node) base = base.filter((e) => !ticketEvent(e));
        if (v === "" || (Array.isArray(v) ? sameSet(v, base) : v === base)) delete said[k];
      }
      const strategy = Object.keys(said).length ? said : "";
      if (node) this.setAt(node, "notify", strategy);
      else this.setSetting("notify", strategy);
    },
  };
};
