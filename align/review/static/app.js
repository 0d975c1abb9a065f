// The review page: renders the alignment bead by bead and sends each edit to the server.
// Document text only ever goes into the DOM through textContent (never innerHTML).
"use strict";

(function () {
  const token = new URLSearchParams(location.search).get("token") || "";
  let data = null;       // the server's view of the review (store.view)
  let selected = 0;      // index into data.beads
  let busy = false;

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function confClass(bead) {
    if (bead.score === null || bead.score === undefined) return "conf-none";
    if (bead.score >= 0.9) return "conf-high";
    if (bead.score >= 0.5) return "conf-mid";
    return "conf-low";
  }

  function needsReview(bead) {
    return bead.status === "automatic" && bead.review.length > 0;
  }

  function visible() {
    const all = data.beads.map((_, i) => i);
    return $("filter").checked ? all.filter((i) => needsReview(data.beads[i])) : all;
  }

  function range(ids) {
    if (!ids.length) return "";
    const first = ids[0], last = ids[ids.length - 1];
    return first === last ? "#" + first : "#" + first + "–" + last;
  }

  function showMessage(text) {
    const box = $("message");
    box.textContent = text || "";
    box.hidden = !text;
  }

  async function request(url, body) {
    const options = { headers: { "X-Align-Token": token } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    let payload = null;
    try { payload = await response.json(); } catch (e) { payload = null; }
    if (!response.ok) {
      throw new Error((payload && payload.error) || ("the server answered " + response.status));
    }
    return payload;
  }

  async function load() {
    try {
      data = await request("/api/alignment");
      render();
    } catch (e) {
      showMessage(e.message);
    }
  }

  async function edit(op, args) {
    if (busy || !data) return;
    busy = true;
    try {
      const body = Object.assign({ op: op, revision: data.revision }, args || {});
      data = await request("/api/edit", body);
      showMessage("");
      if (selected >= data.beads.length) selected = data.beads.length - 1;
      render();
    } catch (e) {
      showMessage(e.message);
    } finally {
      busy = false;
    }
  }

  function button(label, action, title, handler) {
    const b = el("button", "", label);
    b.type = "button";
    b.dataset.action = action;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", (ev) => { ev.stopPropagation(); handler(); });
    return b;
  }

  function sentenceTools(i, bead, side, pos) {
    const ids = bead[side + "_ids"];
    const sid = ids[pos];
    const tools = el("span", "tools");
    const other = bead[(side === "zh" ? "en" : "zh") + "_ids"];
    const n = data.beads.length;
    if (pos === 0 && i > 0) {
      tools.append(button("↑", "move-prev", "Move this sentence to the previous pair",
        () => edit("move", { bead: i, side: side, to: "prev" })));
    }
    if (pos === ids.length - 1 && i < n - 1) {
      tools.append(button("↓", "move-next", "Move this sentence to the next pair",
        () => edit("move", { bead: i, side: side, to: "next" })));
    }
    if (pos > 0) {
      tools.append(button("✂", "split", "Split the pair before this sentence", () => {
        const mine = pos, theirs = Math.round(pos * other.length / ids.length);
        edit("split", side === "zh" ? { bead: i, zh_at: mine, en_at: theirs } : { bead: i, zh_at: theirs, en_at: mine });
      }));
    }
    if ((pos === 0 || pos === ids.length - 1) && ids.length + other.length > 1) {
      tools.append(button("⊘", "unlink", "Unlink this sentence (it stands alone)",
        () => edit("unlink", { bead: i, side: side, id: sid })));
    }
    return tools;
  }

  function sideCell(i, bead, side) {
    const cell = el("div", "side " + side);
    const ids = bead[side + "_ids"];
    const sentences = data[side];
    if (!ids.length) {
      cell.append(el("span", "one-sided", side === "zh" ? "no Chinese — English only" : "no English — Chinese only"));
      return cell;
    }
    ids.forEach((sid, pos) => {
      const row = el("div", "sent");
      row.dataset.side = side;
      row.dataset.id = sid;
      row.append(el("span", "sid", "#" + sid), el("span", "text", sentences[sid].text));
      if (i === selected) row.append(sentenceTools(i, bead, side, pos));
      cell.append(row);
    });
    return cell;
  }

  function oneSided(bead) {
    return !(bead.zh_ids.length && bead.en_ids.length);
  }

  function beadRow(i) {
    const bead = data.beads[i];
    const conf = confClass(bead);
    const row = el("div", "bead " + conf + " status-" + bead.status + (i === selected ? " selected" : ""));
    row.dataset.index = i;
    row.dataset.status = bead.status;
    if (needsReview(bead)) row.dataset.review = bead.review.join(" ");
    const meta = el("div", "meta");
    meta.append(el("span", "num", "pair " + (i + 1)));
    const score = el("span", "score " + conf, bead.score === null ? "—" : bead.score.toFixed(2));
    score.title = bead.score === null
      ? (bead.status === "edited" ? "edited: no score" : "one-sided: no score") : "confidence " + bead.score.toFixed(3);
    meta.append(score, el("span", "status " + bead.status, bead.status));
    if (bead.moved) {
      const flag = el("span", "flag moved", "moved: EN " + range(bead.en_ids));
      flag.title = "The English of this pair stands elsewhere in the English text: sentences " + range(bead.en_ids);
      meta.append(flag);
    }
    if (oneSided(bead)) meta.append(el("span", "flag one-sided-flag", bead.zh_ids.length ? "Chinese only" : "English only"));
    row.append(meta, sideCell(i, bead, "zh"), sideCell(i, bead, "en"));
    if (i === selected) row.append(beadBar(i, bead));
    row.addEventListener("click", () => { if (selected !== i) { selected = i; render(); } });
    return row;
  }

  function beadBar(i, bead) {
    const bar = el("div", "bar");
    const confirm = button("Confirm (c)", "confirm", "Confirm this pair", () => edit("confirm", { bead: i }));
    confirm.disabled = bead.status === "confirmed";
    bar.append(confirm);
    const next = data.beads[i + 1];
    if (next) {
      bar.append(button("Join with next", "join", "Join this pair with the next one", () => edit("join", { bead: i })));
      if (oneSided(bead) && oneSided(next) && (bead.zh_ids.length > 0) !== (next.zh_ids.length > 0)) {
        bar.append(button("Link with next", "link", "Make this and the next one-sided bead one pair",
          () => edit("link", { bead: i })));
      }
    }
    return bar;
  }

  function render() {
    $("doc-name").textContent = data.name;
    document.title = "align review — " + data.name;
    const c = data.counts;
    $("n-pairs").textContent = c.pairs;
    $("n-review").textContent = c.to_review;
    $("n-confirmed").textContent = c.confirmed;
    $("n-edited").textContent = c.edited;
    $("undo").disabled = !data.can_undo;
    $("undo").title = data.can_undo ? "Undo the last edit (" + data.undo_op + "; u or Ctrl-Z)" : "Nothing to undo";
    const shown = visible();
    if (shown.length && !shown.includes(selected)) selected = shown.find((i) => i > selected) ?? shown[shown.length - 1];
    const list = $("beads");
    list.replaceChildren(...shown.map(beadRow));
    $("empty").hidden = shown.length > 0;
    updateExports();
    document.body.dataset.revision = data.revision;  // for scripts and tests: the state shown
    const current = list.querySelector(".bead.selected");
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function updateExports() {
    const only = $("confirmed-only").checked;
    document.querySelectorAll(".export a").forEach((a) => {
      const params = new URLSearchParams({ token: token });
      if (only) params.set("confirmed_only", "1");
      a.href = "/api/export/" + a.dataset.format + "?" + params.toString();
    });
  }

  function step(delta) {
    const shown = visible();
    if (!shown.length) return;
    let at = shown.indexOf(selected);
    at = at < 0 ? 0 : Math.min(shown.length - 1, Math.max(0, at + delta));
    selected = shown[at];
    render();
  }

  document.addEventListener("keydown", (ev) => {
    if (!data || ev.altKey) return;
    const tag = (ev.target && ev.target.tagName) || "";
    const typing = tag === "TEXTAREA" || (tag === "INPUT" && !["checkbox", "radio", "button"].includes(ev.target.type));
    if (typing) return;
    const key = ev.key;
    if ((ev.ctrlKey || ev.metaKey) && (key === "z" || key === "Z")) { ev.preventDefault(); edit("undo"); return; }
    if (ev.ctrlKey || ev.metaKey) return;
    if (key === "j" || key === "ArrowDown") { ev.preventDefault(); step(1); }
    else if (key === "k" || key === "ArrowUp") { ev.preventDefault(); step(-1); }
    else if ((key === "Enter" && tag !== "BUTTON" && tag !== "A") || key === "c") {
      ev.preventDefault();
      if (data.beads[selected] && data.beads[selected].status !== "confirmed") edit("confirm", { bead: selected });
    }
    else if (key === "u") { ev.preventDefault(); edit("undo"); }
  });

  document.addEventListener("DOMContentLoaded", () => {
    $("filter").addEventListener("change", render);
    $("confirmed-only").addEventListener("change", updateExports);
    $("undo").addEventListener("click", () => edit("undo"));
    updateExports();
    load();
  });
})();
