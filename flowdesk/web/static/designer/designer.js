/* Flowdesk workflow designer: a Drawflow canvas over one workflow document.
 *
 * The document (docs/workflow-format.md) is the only model: the side panel edits it in place
 * through Alpine, the canvas draws it, and the server validates, saves and deploys it. Canvas
 * positions live beside it in `layout` ({node id: [x, y]}), never inside it.
 */
"use strict";

document.addEventListener("alpine:init", () => {
  const cfg = JSON.parse(document.getElementById("fdd-config").textContent);
  const T = cfg.text;
  const OP_ORDER = ["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "empty", "not_empty"];
  const OP_SIGN = { eq: "=", ne: "≠", lt: "<", le: "≤", gt: ">", ge: "≥", in: "∈", not_in: "∉", contains: "∋" };
  const ID_BASE = {
    start: "start", task: "task", approval: "approval", exclusive: "gateway",
    parallel_split: "split", parallel_join: "join", timer: "timer", automation: "automation",
    end: "end",
  };
  const NODE_ID = /^[a-z][a-z0-9_]{0,62}$/;

  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const plain = (value) => JSON.parse(JSON.stringify(value));
  const fmt = (template, value) => template.replace("%s", value);

  /** A document text in the reader's language: `{en, zh}` or a plain string. */
  function localized(text) {
    if (text && typeof text === "object") return (cfg.zh && text.zh) || text.en || "";
    return text || "";
  }

  /** Which canvas element a problem path names, by the ids of the document that was checked. */
  function targetOf(path, snap) {
    if (/^settings\b/.test(path)) return { kind: "settings" };
    const m = /^(nodes|transitions|fields)\[(\d+)\]/.exec(path);
    if (!m) return null;
    const i = Number(m[2]);
    if (m[1] === "nodes" && snap.nodes[i] !== undefined) return { kind: "node", id: snap.nodes[i] };
    if (m[1] === "fields" && snap.fields[i] !== undefined) return { kind: "field", key: snap.fields[i] };
    if (m[1] === "transitions" && snap.transitions[i]) {
      const [from, to] = snap.transitions[i];
      return { kind: "edge", from, to };
    }
    return null;
  }

  function sameTarget(a, b) {
    return !!a && !!b && a.kind === b.kind && a.id === b.id && a.key === b.key
      && a.from === b.from && a.to === b.to;
  }

  /** Replace field references in a condition tree (after a field key changed). */
  function renameInCondition(cond, oldKey, newKey) {
    if (!cond || typeof cond !== "object") return;
    if (cond.field === oldKey) cond.field = newKey;
    for (const part of [...(cond.all || []), ...(cond.any || []), cond.not]) {
      renameInCondition(part, oldKey, newKey);
    }
  }

  function conditionText(cond) {
    if (!cond || typeof cond !== "object") return "";
    if (cond.all) return cond.all.map(conditionText).join(` ${T.and} `);
    if (cond.any) return cond.any.map(conditionText).join(` ${T.or} `);
    if (cond.not) return `${T.not} (${conditionText(cond.not)})`;
    const subject = cond.result !== undefined ? `${cond.result}.${T.result}` : cond.field;
    if (cond.op === "empty" || cond.op === "not_empty") return `${subject} ${T.ops[cond.op]}`;
    const value = Array.isArray(cond.value) ? `[${cond.value.join(", ")}]` : cond.value;
    return `${subject} ${OP_SIGN[cond.op] || cond.op} ${value}`;
  }

  /** Lines leave a node downwards and enter the next from above; a line back up (a return)
   * bends out to the right instead of running through the nodes in between. */
  function downwardCurve(sx, sy, ex, ey) {
    const reach = Math.max(40, Math.abs(ey - sy) / 2);
    const side = ey < sy + 20 ? 200 + reach / 4 : 0;
    return ` M ${sx} ${sy} C ${sx + side} ${sy + reach} ${ex + side} ${ey - reach} ${ex} ${ey}`;
  }

  Alpine.data("designer", () => {
    let editor = null; // the Drawflow instance, kept out of Alpine's reactivity
    const dfOf = new Map(); // node id -> Drawflow id
    const idOf = new Map(); // Drawflow id -> node id
    let syncing = false; // true while the canvas is redrawn from the document

    return {
      ...window.fddOptions(cfg),
      doc: plain(cfg.document),
      layout: { ...cfg.layout },
      roles: cfg.roles,
      users: cfg.users,
      fieldTypes: cfg.fieldTypes,
      sel: null,
      problems: [],
      status: null,
      busy: false,
      view: "canvas",
      yamlText: "",
      yamlProblems: [],
      dirty: false,
      version: cfg.version,

      init() {
        this.doc.nodes = Array.isArray(this.doc.nodes) ? this.doc.nodes : [];
        this.doc.transitions = Array.isArray(this.doc.transitions) ? this.doc.transitions : [];
        editor = new Drawflow(this.$refs.canvas);
        editor.reroute = false;
        editor.createCurvature = downwardCurve;
        editor.start();
        editor.on("nodeSelected", (df) => this.select({ kind: "node", id: idOf.get(String(df)) }));
        editor.on("nodeUnselected", () => this.sel?.kind === "node" && (this.sel = null));
        editor.on("connectionSelected", (c) =>
          this.select({ kind: "edge", from: idOf.get(c.output_id), to: idOf.get(c.input_id) }));
        editor.on("connectionUnselected", () => this.sel?.kind === "edge" && (this.sel = null));
        editor.on("connectionCreated", (c) => this.onConnect(c));
        editor.on("connectionRemoved", (c) => this.onDisconnect(c));
        editor.on("nodeRemoved", (df) => this.onNodeRemoved(String(df)));
        editor.on("nodeMoved", (df) => this.remember(String(df)));
        editor.on("mouseMove", () => editor.drag && this.refreshLines());
        this.draw();
        this.setProblems(cfg.problems, this.snapshot());
        window.addEventListener("beforeunload", (e) => this.dirty && e.preventDefault());
      },

      // --- the canvas ---------------------------------------------------------------------------

      draw() {
        syncing = true;
        editor.clear();
        dfOf.clear();
        idOf.clear();
        const unplaced = this.doc.nodes.some((n) => !this.layout[n.id]);
        this.doc.nodes.forEach((n, i) => {
          const [x, y] = this.layout[n.id] || [120, 40 + 110 * i];
          this.addToCanvas(n, x, y);
        });
        for (const t of this.doc.transitions) {
          if (dfOf.has(t.from) && dfOf.has(t.to)) {
            editor.addConnection(dfOf.get(t.from), dfOf.get(t.to), "output_1", "input_1");
          }
        }
        syncing = false;
        if (unplaced) this.autoLayout({ quiet: true });
        this.fit();
        this.decorate();
      },

      /** Zoom (never in) and pan so that every node is in view. */
      fit() {
        editor.zoom = 1;
        editor.canvas_x = 0;
        editor.canvas_y = 0;
        editor.zoom_refresh();
        const boxes = [...this.$refs.canvas.querySelectorAll(".drawflow-node")]
          .map((el) => el.getBoundingClientRect());
        if (!boxes.length) return;
        const view = this.$refs.canvas.getBoundingClientRect();
        const left = Math.min(...boxes.map((b) => b.left));
        const top = Math.min(...boxes.map((b) => b.top));
        const width = Math.max(...boxes.map((b) => b.right)) - left;
        const height = Math.max(...boxes.map((b) => b.bottom)) - top;
        const margin = 30;
        const fits = Math.min((view.width - 2 * margin) / width, (view.height - 2 * margin) / height);
        editor.zoom = Math.max(0.6, Math.min(1, fits)); // below 0.6 nobody can read it: pan
        editor.zoom_refresh();
        // Scaling is about the canvas centre: measure again, then move the drawing into place.
        const moved = [...this.$refs.canvas.querySelectorAll(".drawflow-node")]
          .map((el) => el.getBoundingClientRect());
        editor.canvas_x = view.left + margin - Math.min(...moved.map((b) => b.left));
        editor.canvas_y = view.top + margin - Math.min(...moved.map((b) => b.top));
        editor.zoom_refresh();
      },

      addToCanvas(node, x, y) {
        const outputs = node.type === "end" ? 0 : 1;
        const df = String(editor.addNode(node.type || "node", 1, outputs, x, y,
          `fdd-node fdd-${node.type}`, {}, this.nodeHtml(node)));
        dfOf.set(node.id, df);
        idOf.set(df, node.id);
        return df;
      },

      nodeHtml(node) {
        const icon = T.icons[node.type] ? `<i class="bi ${T.icons[node.type]}"></i> ` : "";
        const detail = this.nodeDetail(node);
        return `<div class="fdd-node-type">${icon}${esc(T.types[node.type] || node.type)}</div>`
          + `<div class="fdd-node-name">${esc(localized(node.name) || node.id)}</div>`
          + (detail ? `<div class="fdd-node-detail">${esc(detail)}</div>` : "")
          + `<div class="fdd-node-id">${esc(node.id)}</div><ul class="fdd-node-problems"></ul>`;
      },

      nodeElement(id) {
        return document.getElementById(`node-${dfOf.get(id)}`);
      },

      lineElement(from, to) {
        return this.$refs.canvas.querySelector(
          `svg.connection.node_out_node-${dfOf.get(from)}.node_in_node-${dfOf.get(to)}`);
      },

      /** Redraw the selected node's box after the panel changed it; every box after a field
       * changed (timer boxes name their field). */
      changed() {
        this.dirty = true;
        for (const node of this.node ? [this.node] : this.doc.nodes) {
          const el = this.nodeElement(node.id);
          if (!el) continue;
          el.querySelector(".drawflow_content_node").innerHTML = this.nodeHtml(node);
          for (const type of Object.keys(ID_BASE)) el.classList.remove(`fdd-${type}`);
          el.classList.add(`fdd-${node.type}`);
        }
        this.decorate();
      },

      freeSpot() {
        const spots = Object.values(this.layout);
        if (!spots.length) return [60, 120];
        return [Math.max(...spots.map((p) => p[0])) + 220, Math.min(...spots.map((p) => p[1])) + 60];
      },

      newId(type) {
        const base = ID_BASE[type] || "node";
        let i = 1;
        while (this.doc.nodes.some((n) => n.id === `${base}_${i}`)) i += 1;
        return `${base}_${i}`;
      },

      addNode(type, x, y) {
        const node = { id: this.newId(type), type };
        if (T.defaultNames[type]) node.name = { ...T.defaultNames[type] };
        this.doc.nodes.push(node);
        const [px, py] = x === undefined ? this.freeSpot() : [x, y];
        this.addToCanvas(node, px, py);
        this.layout[node.id] = [Math.round(px), Math.round(py)];
        this.dirty = true;
        this.select({ kind: "node", id: node.id });
      },

      dragStart(event, type) {
        event.dataTransfer.setData("text/plain", type);
      },

      drop(event) {
        const type = event.dataTransfer.getData("text/plain");
        if (!ID_BASE[type]) return;
        const r = editor.precanvas.getBoundingClientRect();
        this.addNode(type, (event.clientX - r.x) / editor.zoom - 80,
          (event.clientY - r.y) / editor.zoom - 30);
      },

      remember(df) {
        const data = editor.drawflow.drawflow[editor.module].data[df];
        if (!data) return;
        this.layout[idOf.get(df)] = [Math.round(data.pos_x), Math.round(data.pos_y)];
        this.dirty = true;
        this.refreshLines();
      },

      moveTo(id, x, y) {
        const df = dfOf.get(id);
        const data = editor.drawflow.drawflow[editor.module].data[df];
        const el = this.nodeElement(id);
        data.pos_x = x;
        data.pos_y = y;
        el.style.left = `${x}px`;
        el.style.top = `${y}px`;
        editor.updateConnectionNodes(`node-${df}`);
        this.layout[id] = [Math.round(x), Math.round(y)];
      },

      autoLayout({ quiet = false } = {}) {
        const g = new dagre.graphlib.Graph();
        g.setGraph({ rankdir: "TB", nodesep: 70, ranksep: 45, marginx: 30, marginy: 30 });
        g.setDefaultEdgeLabel(() => ({}));
        for (const n of this.doc.nodes) {
          const el = this.nodeElement(n.id);
          g.setNode(n.id, { width: el?.offsetWidth || 180, height: el?.offsetHeight || 80 });
        }
        for (const t of this.doc.transitions) {
          if (dfOf.has(t.from) && dfOf.has(t.to)) g.setEdge(t.from, t.to);
        }
        dagre.layout(g);
        for (const n of this.doc.nodes) {
          const p = g.node(n.id);
          this.moveTo(n.id, p.x - p.width / 2, p.y - p.height / 2);
        }
        if (quiet) return;
        this.dirty = true;
        this.fit();
        this.refreshLines();
      },

      onConnect({ output_id: a, input_id: b }) {
        if (syncing) return;
        const from = idOf.get(a);
        const to = idOf.get(b);
        if (!this.doc.transitions.some((t) => t.from === from && t.to === to)) {
          this.doc.transitions.push({ from, to });
        }
        this.dirty = true;
        this.select({ kind: "edge", from, to });
        this.decorate();
      },

      onDisconnect({ output_id: a, input_id: b }) {
        if (syncing) return;
        const from = idOf.get(a);
        const to = idOf.get(b);
        this.doc.transitions = this.doc.transitions.filter((t) => !(t.from === from && t.to === to));
        if (this.sel?.kind === "edge" && this.sel.from === from && this.sel.to === to) this.sel = null;
        this.dirty = true;
      },

      onNodeRemoved(df) {
        const id = idOf.get(df);
        this.doc.nodes = this.doc.nodes.filter((n) => n.id !== id);
        this.doc.transitions = this.doc.transitions.filter((t) => t.from !== id && t.to !== id);
        delete this.layout[id];
        dfOf.delete(id);
        idOf.delete(df);
        if (this.sel?.id === id) this.sel = null;
        this.dirty = true;
      },

      deleteSelected() {
        if (this.sel?.kind === "node") editor.removeNodeId(`node-${dfOf.get(this.sel.id)}`);
        if (this.sel?.kind === "edge") {
          editor.removeSingleConnection(dfOf.get(this.sel.from), dfOf.get(this.sel.to),
            "output_1", "input_1");
        }
      },

      /** Condition labels at the middle of each line; lines with problems in red. */
      refreshLines() {
        for (const t of this.doc.transitions) {
          const svg = this.lineElement(t.from, t.to);
          const path = svg?.querySelector(".main-path");
          if (!path) continue;
          let label = svg.querySelector("text.fdd-line-label");
          if (!label) {
            label = document.createElementNS("http://www.w3.org/2000/svg", "text");
            label.classList.add("fdd-line-label");
            svg.appendChild(label);
          }
          const problems = this.problemsOf({ kind: "edge", from: t.from, to: t.to });
          svg.classList.toggle("fdd-line-problem", problems.length > 0);
          label.textContent = (problems.length ? "⚠ " : "") + this.lineText(t);
          const middle = path.getPointAtLength(path.getTotalLength() / 2);
          label.setAttribute("x", middle.x);
          label.setAttribute("y", middle.y - 6);
        }
      },

      lineText(t) {
        if (t.default) return T.default;
        if (t.outcome) return T.outcomes[t.outcome] || t.outcome;
        return conditionText(t.when);
      },

      // --- selection and problems ---------------------------------------------------------------

      select(target) {
        this.sel = target && (target.id !== undefined || target.kind !== "node") ? target : null;
      },

      get node() {
        return this.sel?.kind === "node" ? this.doc.nodes.find((n) => n.id === this.sel.id) : null;
      },

      get edge() {
        const s = this.sel;
        return s?.kind === "edge"
          ? this.doc.transitions.find((t) => t.from === s.from && t.to === s.to) : null;
      },

      get field() {
        return this.sel?.kind === "field"
          ? (this.doc.fields || []).find((f) => f.key === this.sel.key) : null;
      },

      snapshot() {
        return {
          nodes: this.doc.nodes.map((n) => n.id),
          transitions: this.doc.transitions.map((t) => [t.from, t.to]),
          fields: (this.doc.fields || []).map((f) => f.key),
        };
      },

      setProblems(rows, snap) {
        this.problems = (rows || []).map((p) => ({ ...p, target: targetOf(p.path, snap) }));
        this.decorate();
      },

      problemsOf(target) {
        return this.problems.filter((p) => sameTarget(p.target, target));
      },

      /** Put each problem on its node (red box, messages inside) and line (red, ⚠). */
      decorate() {
        for (const n of this.doc.nodes) {
          const el = this.nodeElement(n.id);
          if (!el) continue;
          const problems = this.problemsOf({ kind: "node", id: n.id });
          el.classList.toggle("fdd-has-problem", problems.length > 0);
          el.querySelector(".fdd-node-problems").innerHTML = problems
            .map((p) => `<li>${esc(p.path.replace(/^nodes\[\d+\]\.?/, ""))} ${esc(p.message)}</li>`)
            .join("");
        }
        // Messages change the boxes' heights, and with them where the lines attach.
        for (const df of idOf.keys()) editor.updateConnectionNodes(`node-${df}`);
        this.$nextTick(() => this.refreshLines());
      },

      say(kind, text) {
        this.status = { kind, text };
      },

      // --- talking to the server ----------------------------------------------------------------

      /** The document to send: plain JSON, without the empty lists the panel leaves behind. */
      plainDocument() {
        const doc = plain(this.doc);
        for (const node of doc.nodes) {
          for (const key of ["operators", "fields"]) {
            if (Array.isArray(node[key]) && !node[key].length) delete node[key];
          }
        }
        if (Array.isArray(doc.fields) && !doc.fields.length) delete doc.fields;
        return doc;
      },

      async post(url, body) {
        const token = document.querySelector("[name=csrfmiddlewaretoken]").value;
        try {
          const response = await fetch(url, {
            method: "POST",
            headers: { "Content-Type": "application/json", "X-CSRFToken": token },
            body: JSON.stringify(body),
            credentials: "same-origin",
          });
          const data = await response.json().catch(() => ({}));
          return { ok: response.ok, data };
        } catch (error) {
          return { ok: false, data: { problems: [{ path: "(document)", message: T.offline }] } };
        }
      },

      async save() {
        this.busy = true;
        const snap = this.snapshot();
        const { ok, data } = await this.post(cfg.urls.save,
          { document: this.plainDocument(), layout: this.layout });
        this.busy = false;
        this.setProblems(data.problems, snap);
        if (!ok) {
          this.say("danger", T.notSaved);
          return false;
        }
        this.dirty = false;
        const count = this.problems.length;
        this.say(count ? "warning" : "success", count ? fmt(T.savedWithProblems, count) : T.saved);
        return true;
      },

      async validate() {
        this.busy = true;
        const snap = this.snapshot();
        const { data } = await this.post(cfg.urls.validate, { document: this.plainDocument() });
        this.busy = false;
        this.setProblems(data.problems, snap);
        const count = this.problems.length;
        this.say(count ? "warning" : "success", count ? fmt(T.problemsFound, count) : T.valid);
      },

      async deploy() {
        if (!(await this.save())) return;
        this.busy = true;
        const snap = this.snapshot();
        const { ok, data } = await this.post(cfg.urls.deploy, {});
        this.busy = false;
        this.setProblems(data.problems, snap);
        if (!ok) {
          this.say("danger", fmt(T.notDeployed, this.problems.length));
        } else {
          this.say("success", fmt(data.created ? T.deployed : T.unchanged, data.version));
          this.version = data.version;
        }
      },

      async showYaml() {
        const { ok, data } = await this.post(cfg.urls.yaml, { document: this.plainDocument() });
        if (ok) {
          this.yamlText = data.yaml;
          this.yamlProblems = [];
          this.view = "yaml";
        }
      },

      async applyYaml() {
        this.busy = true;
        const { ok, data } = await this.post(cfg.urls.yaml_apply, { yaml: this.yamlText });
        this.busy = false;
        if (!ok) {
          this.yamlProblems = data.problems || [];
          return;
        }
        this.doc = data.document;
        this.doc.nodes = Array.isArray(this.doc.nodes) ? this.doc.nodes : [];
        this.doc.transitions = Array.isArray(this.doc.transitions) ? this.doc.transitions : [];
        this.sel = null;
        this.jsonDraft = null;
        this.view = "canvas";
        this.draw();
        this.setProblems(data.problems, this.snapshot());
        this.dirty = false;
        this.say("success", T.yamlApplied);
      },

      // --- the side panel: nodes ----------------------------------------------------------------

      isHuman(node) {
        return cfg.nodeKinds.human.includes(node?.type);
      },

      text(obj, key, lang) {
        const value = obj?.[key];
        if (value && typeof value === "object") return value[lang] || "";
        return lang === "en" ? value || "" : "";
      },

      /** Set one language of a text; a text with only English is kept as `{en}`. */
      setText(obj, key, lang, value) {
        const current = obj[key];
        const next = current && typeof current === "object" ? { ...current } : { en: current || "" };
        next[lang] = value;
        if (!next.zh) delete next.zh;
        if (!next.en && !next.zh) delete obj[key];
        else obj[key] = next;
      },

      setOption(obj, key, value) {
        if (value === "" || value === undefined || value === null) delete obj[key];
        else obj[key] = value;
      },

      setSetting(key, value, fallback) {
        const settings = { ...(this.doc.settings || {}) };
        this.setOption(settings, key, value === fallback ? "" : value);
        if (Object.keys(settings).length) this.doc.settings = settings;
        else delete this.doc.settings;
      },

      setFlag(obj, key, on) {
        if (on) obj[key] = true;
        else delete obj[key];
      },

      renameNode(node, newId) {
        const oldId = node.id;
        if (newId === oldId) return;
        if (!NODE_ID.test(newId) || this.doc.nodes.some((n) => n.id === newId)) {
          this.say("danger", fmt(T.badNodeId, newId));
          this.changed();
          return;
        }
        node.id = newId;
        for (const t of this.doc.transitions) {
          if (t.from === oldId) t.from = newId;
          if (t.to === oldId) t.to = newId;
        }
        for (const n of this.doc.nodes) {
          if (n.approval?.return_to === oldId) n.approval.return_to = newId;
          for (const op of n.operators || []) if (op.node === oldId) op.node = newId;
          this.renameInOptions(n, "node", oldId, newId);
        }
        const df = dfOf.get(oldId);
        dfOf.delete(oldId);
        dfOf.set(newId, df);
        idOf.set(df, newId);
        this.layout[newId] = this.layout[oldId];
        delete this.layout[oldId];
        for (const p of this.problems) if (p.target?.id === oldId) p.target.id = newId;
        this.sel = { kind: "node", id: newId };
        this.changed();
      },

      setNodeType(node, type) {
        const wasEnd = node.type === "end";
        node.type = type;
        if (!this.isStep(node)) {
          delete node.operators;
          delete node.fields;
        }
        if (type !== "task" && type !== "approval") {
          delete node.claim;
          delete node.on_unassigned;
        }
        if (type !== "approval") delete node.approval;
        this.dropOptions(node);
        const df = dfOf.get(node.id);
        if (type === "end" && !wasEnd) editor.removeNodeOutput(df, "output_1");
        if (wasEnd && type !== "end") editor.addNodeOutput(df);
        this.changed();
      },

      setOperatorType(op, type) {
        for (const key of Object.keys(op)) delete op[key];
        op.type = type;
        if (type === "business_role" || type === "general_role") op.role = "";
        if (type === "users") op.users = [];
        if (type === "field") op.field = "";
        if (type === "node_handler") op.node = "";
      },

      rolesOf(kind) {
        return this.roles.filter((r) => r.kind === kind);
      },

      memberFields() {
        return (this.doc.fields || []).filter((f) => f.type === "member" || f.type === "members");
      },

      humanNodes(except) {
        return this.doc.nodes.filter((n) => this.isHuman(n) && n.id !== except?.id);
      },

      splitList(value) {
        return value.split(",").map((s) => s.trim()).filter(Boolean);
      },

      approval(node, key, fallback) {
        return node.approval?.[key] ?? fallback;
      },

      setApproval(node, key, value, fallback) {
        const approval = { ...(node.approval || {}) };
        if (value === fallback || value === "" || Number.isNaN(value)) delete approval[key];
        else approval[key] = value;
        if (key === "mode") {
          if (value !== "quorum") delete approval.quorum;
          if (value !== "percentage") delete approval.percentage;
        }
        if (key === "on_reject" && value !== "return") delete approval.return_to;
        if (Object.keys(approval).length) node.approval = approval;
        else delete node.approval;
      },

      // --- the side panel: fields ---------------------------------------------------------------

      fieldLabel(key) {
        const f = (this.doc.fields || []).find((x) => x.key === key);
        return f ? localized(f.label) || key : key;
      },

      fieldsNotOn(node) {
        return (this.doc.fields || []).filter((f) => !(node.fields || []).includes(f.key));
      },

      attachField(node, key) {
        if (!key) return;
        node.fields = node.fields || [];
        if (!node.fields.includes(key)) node.fields.push(key);
      },

      newField(node) {
        this.doc.fields = this.doc.fields || [];
        let i = 1;
        while (this.doc.fields.some((f) => f.key === `field_${i}`)) i += 1;
        const field = { key: `field_${i}`, type: "string", label: { en: T.newField } };
        this.doc.fields.push(field);
        if (node) this.attachField(node, field.key);
        this.sel = { kind: "field", key: field.key, back: node?.id };
        this.dirty = true;
      },

      renameField(field, newKey) {
        const oldKey = field.key;
        if (newKey === oldKey) return;
        if (!NODE_ID.test(newKey) || this.doc.fields.some((f) => f.key === newKey)) {
          this.say("danger", fmt(T.badFieldKey, newKey));
          return;
        }
        field.key = newKey;
        for (const n of this.doc.nodes) {
          n.fields = (n.fields || []).map((k) => (k === oldKey ? newKey : k));
          for (const op of n.operators || []) if (op.field === oldKey) op.field = newKey;
          this.renameInOptions(n, "field", oldKey, newKey);
        }
        for (const t of this.doc.transitions) renameInCondition(t.when, oldKey, newKey);
        for (const f of this.doc.fields) {
          renameInCondition(f.required_when, oldKey, newKey);
          renameInCondition(f.visible_when, oldKey, newKey);
        }
        this.sel = { ...this.sel, key: newKey };
        this.changed();
      },

      deleteField(field) {
        this.doc.fields = this.doc.fields.filter((f) => f !== field);
        for (const n of this.doc.nodes) {
          if (n.fields) n.fields = n.fields.filter((k) => k !== field.key);
        }
        this.sel = this.sel?.back ? { kind: "node", id: this.sel.back } : null;
        this.changed();
      },

      setFieldType(field, type) {
        field.type = type;
        if (type === "select" || type === "multiselect") field.options = field.options || [];
        else delete field.options;
        if (type === "checksum") field.algorithm = field.algorithm || "md5";
        else delete field.algorithm;
      },

      /** Options as lines `value = English | 中文` (labels optional). */
      optionsText(field) {
        return (field.options || []).map((o) => {
          if (typeof o !== "object") return String(o);
          const label = o.label && typeof o.label === "object"
            ? [o.label.en, o.label.zh].filter(Boolean).join(" | ") : o.label;
          return label ? `${o.value} = ${label}` : String(o.value);
        }).join("\n");
      },

      setOptions(field, text) {
        field.options = text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
          const [value, rest] = line.split(/\s*=\s*(.*)/s);
          if (!rest) return value;
          const [en, zh] = rest.split(/\s*\|\s*/);
          return { value, label: zh ? { en, zh } : en };
        });
      },

      setNumber(obj, key, raw) {
        this.setOption(obj, key, raw === "" ? "" : Number(raw));
      },

      // --- the side panel: lines and their conditions -------------------------------------------

      nodeType(id) {
        return this.doc.nodes.find((n) => n.id === id)?.type;
      },

      nodeName(id) {
        const n = this.doc.nodes.find((x) => x.id === id);
        return n ? localized(n.name) || n.id : id;
      },

      setDefault(edge, on) {
        if (on) {
          for (const t of this.doc.transitions) if (t.from === edge.from) delete t.default;
          delete edge.when;
        }
        this.setFlag(edge, "default", on);
      },

      /** The editable clauses of a condition, or null when it is too complex for the builder. */
      clauses(edge) {
        const when = edge.when;
        if (!when) return [];
        if (when.field !== undefined || when.result !== undefined) return [when];
        const list = when.all || when.any;
        if (list && list.every((c) => c && (c.field !== undefined || c.result !== undefined))) return list;
        return null;
      },

      combine(edge) {
        return edge.when?.any ? "any" : "all";
      },

      setCombine(edge, how) {
        const list = edge.when?.all || edge.when?.any;
        if (list) edge.when = { [how]: list };
      },

      addClause(edge) {
        const field = (this.doc.fields || [])[0]?.key || "";
        const clause = { field, op: "eq", value: "" };
        const list = this.clauses(edge);
        if (!list.length) edge.when = clause;
        else if (list.length === 1 && edge.when === list[0]) edge.when = { all: [edge.when, clause] };
        else list.push(clause);
        delete edge.default;
      },

      removeClause(edge, i) {
        const list = this.clauses(edge);
        if (list.length === 1 && edge.when === list[0]) {
          delete edge.when;
          return;
        }
        list.splice(i, 1);
        if (list.length === 1) edge.when = list[0];
      },

      subjects() {
        const fields = (this.doc.fields || []).map((f) =>
          ({ value: `field:${f.key}`, label: `${f.key} – ${localized(f.label)}` }));
        const results = this.doc.nodes.filter((n) => n.type === "approval").map((n) =>
          ({ value: `result:${n.id}`, label: fmt(T.resultOf, localized(n.name) || n.id) }));
        return [...fields, ...results];
      },

      subjectOf(c) {
        return c.result !== undefined ? `result:${c.result}` : `field:${c.field ?? ""}`;
      },

      /** Rebuild the clause in the order subject, op, value (as people write it). */
      rewrite(c, subject, op, value) {
        for (const key of Object.keys(c)) delete c[key];
        c[subject[0]] = subject[1];
        c.op = op;
        if (op !== "empty" && op !== "not_empty") c.value = value;
      },

      setSubject(c, raw) {
        const [kind, name] = [raw.slice(0, raw.indexOf(":")), raw.slice(raw.indexOf(":") + 1)];
        const probe = { [kind]: name };
        const ops = this.opsFor(probe);
        const op = ops.includes(c.op) ? c.op : ops[0];
        this.rewrite(c, [kind, name], op, op === "in" || op === "not_in" ? [] : "");
      },

      opsFor(c) {
        if (c.result !== undefined) return ["eq", "ne"];
        const type = (this.doc.fields || []).find((f) => f.key === c.field)?.type;
        const allowed = cfg.operatorsByType[type] || OP_ORDER;
        return OP_ORDER.filter((op) => allowed.includes(op));
      },

      setOp(c, op) {
        const subject = c.result !== undefined ? ["result", c.result] : ["field", c.field];
        let value = c.value ?? "";
        if (op === "in" || op === "not_in") value = Array.isArray(value) ? value : value === "" ? [] : [value];
        else if (Array.isArray(value)) value = value[0] ?? "";
        this.rewrite(c, subject, op, value);
      },

      /** What the value input offers: "none", "list", "boolean" or a list of choices. */
      valueKind(c) {
        if (c.op === "empty" || c.op === "not_empty") return "none";
        if (c.op === "in" || c.op === "not_in") return "list";
        if (c.result !== undefined) return ["approved", "rejected"];
        const field = (this.doc.fields || []).find((f) => f.key === c.field);
        if (field?.type === "boolean") return "boolean";
        if (field?.options && c.op !== "contains") {
          return field.options.map((o) => (typeof o === "object" ? o.value : o));
        }
        return "text";
      },

      valueText(c) {
        return Array.isArray(c.value) ? c.value.join(", ") : String(c.value ?? "");
      },

      setValue(c, raw) {
        const type = (this.doc.fields || []).find((f) => f.key === c.field)?.type;
        const convert = (s) => {
          if (type === "integer" && /^-?\d+$/.test(s)) return Number(s);
          if (type === "boolean" && (s === "true" || s === "false")) return s === "true";
          return s;
        };
        c.value = Array.isArray(c.value) ? this.splitList(raw).map(convert) : convert(raw);
      },
    };
  });
});
