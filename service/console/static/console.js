// Wegwijzer console: the few interactions that need script. Pages work without it,
// except the live update of the inbox and copying a reply to the clipboard.
"use strict";

function pollInbox(list) {
  const status = document.getElementById("live-status");
  const empty = document.getElementById("inbox-empty");
  const interval = Number(list.dataset.interval) || 5000;
  let cursor = list.dataset.cursor || "";
  let stopped = false;
  let timer = null;

  async function tick() {
    if (stopped) return;
    if (document.hidden) { timer = setTimeout(tick, interval); return; }
    const base = list.dataset.pollUrl;
    const url = base + (base.includes("?") && !base.endsWith("?") ? "&" : "") + (cursor ? "after=" + encodeURIComponent(cursor) : "");
    try {
      const reply = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (reply.status === 401) {
        stopped = true;
        status.textContent = "Je sessie is verlopen. Meld je opnieuw aan om nieuwe berichten te zien.";
        return;
      }
      if (reply.ok) {
        const data = await reply.json();
        if (data.count > 0) {
          list.querySelectorAll(".post.is-new").forEach((el) => el.classList.remove("is-new"));
          list.insertAdjacentHTML("afterbegin", data.html);
          list.querySelectorAll(".post").forEach((el, i) => { if (i < data.count) el.classList.add("is-new"); });
          cursor = data.cursor;
          if (empty) empty.hidden = true;
          status.textContent = data.count === 1 ? "1 nieuw bericht" : data.count + " nieuwe berichten";
          if (data.more) {
            status.textContent += " (er zijn er meer: vernieuw de pagina)";
          }
        }
      }
    } catch (err) {
      status.textContent = "Geen verbinding met de server; nieuwe berichten worden opnieuw opgehaald.";
    }
    timer = setTimeout(tick, interval);
  }
  timer = setTimeout(tick, interval);
  return () => { stopped = true; clearTimeout(timer); };
}

async function copyReply(button) {
  const source = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copy-status");
  let done = false;
  try {
    await navigator.clipboard.writeText(source.value);
    done = true;
  } catch (err) {
    source.focus();
    source.select();
    done = document.execCommand && document.execCommand("copy");
  }
  if (status) status.textContent = done ? "Gekopieerd" : "Kopiëren lukte niet; selecteer de tekst zelf";
}

document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("inbox");
  if (list && list.dataset.pollUrl !== undefined) pollInbox(list);
  document.querySelectorAll("button[data-copy]").forEach((b) => b.addEventListener("click", () => copyReply(b)));
  document.querySelectorAll("[data-confirm]").forEach((b) => b.addEventListener("click", (event) => {
    if (!window.confirm(b.dataset.confirm)) event.preventDefault();
  }));
});
